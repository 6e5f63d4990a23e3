"""The sandbox's spare child: started ahead of a query, used for that query alone, replaced when it died."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engine.sql_sandbox import SqlError, run_sql
from engine.sql_sandbox.runner import _SPARE

ROOT = Path(__file__).resolve().parents[2]


def _table() -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.table({"city": ["Paris", "Rome", "Paris"]}), buffer)
    return buffer.getvalue()


def _spare_pid() -> int:
    child = _SPARE._child
    assert child is not None and child.usable, "a spare child waits for the next query"
    return child.proc.pid


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_each_query_takes_the_waiting_spare_and_a_new_one_replaces_it() -> None:
    run_sql("SELECT 1", {})
    first = _spare_pid()
    result = run_sql("SELECT city, count(*) AS n FROM t GROUP BY city ORDER BY n DESC", {"t": _table()})
    assert result.table.to_pylist() == [{"city": "Paris", "n": 2}, {"city": "Rome", "n": 1}]
    second = _spare_pid()
    assert second != first and _gone(first), "the process that served a query never serves another"


def test_a_spare_that_died_while_waiting_is_replaced_and_the_query_still_answers() -> None:
    run_sql("SELECT 1", {})
    os.kill(_spare_pid(), signal.SIGKILL)  # started by this test's process (the previous query's refill)
    time.sleep(0.1)
    assert run_sql("SELECT count(*) AS n FROM t", {"t": _table()}).table.to_pylist() == [{"n": 3}]


def test_a_refused_query_leaves_a_working_spare() -> None:
    with pytest.raises(SqlError, match="could not be read"):
        run_sql("SELECT 1", {"gone": Path("/nonexistent/gone.parquet")})
    assert run_sql("SELECT 2 AS two", {}).table.to_pylist() == [{"two": 2}]


def test_a_spare_waits_fenced_before_any_request() -> None:
    """While it waits, the spare already cannot write files (it fences itself before importing anything)."""
    run_sql("SELECT 1", {})
    limits = Path(f"/proc/{_spare_pid()}/limits")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = next(x for x in limits.read_text().splitlines() if x.startswith("Max file size"))
        if line.split()[3] == "0":
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"the waiting spare may still write files: {line}")
    assert _SPARE._child is not None and _SPARE._child.usable, "still waiting for a request"


def test_spares_can_be_switched_off() -> None:
    probe = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        from engine.sql_sandbox import run_sql
        from engine.sql_sandbox.runner import _SPARE
        print(run_sql("SELECT 41 + 1 AS n", {{}}).table.to_pylist()[0]["n"], _SPARE._child is None)
    """)
    env = {**os.environ, "DOTORO_SQL_SPARE": "0"}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env,
                         timeout=60)
    assert out.stdout.split() == ["42", "True"]
