"""The SQL sandbox: analysts' queries run, hostile ones fail with a clear message in time, and the next one works."""

from __future__ import annotations

import io
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engine.sql_sandbox import SandboxLimits, SqlError, SqlResult, SqlTimeout, run_sql
from engine.sql_sandbox.lockdown import (
    connect,
    load_table,
    lock_down,
    lockdown_settings,
)
from engine.sql_sandbox.messages import (
    describe_error,
    line_column,
    missing_table_message,
    sql_name,
)
from engine.sql_sandbox.runner import STARTUP_TIMEOUT_S
from engine.sql_sandbox.statements import check_read_only

CHILD = Path(__file__).resolve().parents[2] / "engine" / "sql_sandbox" / "child.py"
FAST = SandboxLimits(timeout_s=2)
# A hostile query must fail within its time limit; process start-up is on top of it (and slow on busy CI).
WITHIN = FAST.timeout_s + 4.0


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path | bytes]:
    """A Parquet file on disk and a Parquet payload in memory, one named with a space."""
    folder = tmp_path_factory.mktemp("sandbox")
    cities = folder / "cities.parquet"
    pq.write_table(pa.table({"city": ["Paris", "Rome", "Paris", "Oslo", "Rome", "Paris"],
                             "price": [10.0, 20.0, 30.0, 5.0, 1.0, 2.0]}), cities)
    buffer = io.BytesIO()
    pq.write_table(pa.table({"keyword": ["shoes", "boots"], "clicks": [3, 4]}), buffer)
    return {"cities": cities, "my data": buffer.getvalue()}


def _run(sql: str, tables: dict[str, Path | bytes], limits: SandboxLimits = FAST) -> SqlResult:
    return run_sql(sql, tables, limits=limits)


def _refused(sql: str, tables: dict[str, Path | bytes], limits: SandboxLimits = FAST) -> SqlError:
    started = time.monotonic()
    with pytest.raises(SqlError) as caught:
        _run(sql, tables, limits)
    assert time.monotonic() - started < WITHIN
    return caught.value


# --- the happy path ----------------------------------------------------------------------------

def test_group_by_over_a_registered_table(tables):
    result = _run("SELECT city, count(*) AS n, sum(price) AS total FROM cities GROUP BY city ORDER BY city", tables)
    assert result.columns == ["city", "n", "total"]
    assert result.table.to_pylist() == [{"city": "Oslo", "n": 1, "total": 5.0},
                                        {"city": "Paris", "n": 3, "total": 42.0},
                                        {"city": "Rome", "n": 2, "total": 21.0}]
    assert (result.total_rows, result.truncated) == (3, False)
    assert 0 < result.elapsed_s < FAST.timeout_s
    assert result.row_count_label == "3 rows"


def test_a_table_name_with_a_space_is_exposed_as_given(tables):
    result = _run('SELECT sum(clicks) AS clicks FROM "my data"', tables)
    assert result.table.to_pylist() == [{"clicks": 7}]
    assert sorted(_run("SHOW TABLES", tables).table.column("name").to_pylist()) == ["cities", "my data"]


def test_results_are_capped_at_max_rows_without_counting_the_rest(tables):
    result = _run("SELECT * FROM range(1000000000000) t(i)", tables, SandboxLimits(timeout_s=2, max_rows=10))
    assert result.table.num_rows == 10 and result.table.column("i").to_pylist() == list(range(10))
    assert (result.total_rows, result.truncated) == (None, True)
    assert result.row_count_label == "more than 10 rows"


def test_a_pivot_whose_columns_come_from_the_data_runs(tables):
    result = _run("PIVOT cities ON city USING sum(price)", tables)
    assert sorted(result.columns) == ["Oslo", "Paris", "Rome"]


# --- errors an analyst makes -------------------------------------------------------------------

def test_an_unknown_table_names_the_tables_and_how_to_quote_them(tables):
    error = _refused("SELECT *\nFROM my_data", tables)
    assert error.message.startswith("Table `my_data` does not exist. Did you mean \"my data\"?")
    assert 'Tables you can query: cities, "my data".' in error.message
    assert "double quotes" in error.message
    assert (error.line, error.column) == (2, 6)


def test_a_syntax_error_has_its_line_and_column(tables):
    error = _refused("SELECT city,\n  price\nFROM cities\nWHER price > 1", tables)
    assert error.message == 'Syntax error at or near "price".'
    assert (error.line, error.column) == (4, 6)


# --- hostile SQL: each fails clearly within the time limit ------------------------------------

FILES = "cannot read files, URLs or other databases"
NOT_HERE = "statements cannot run here"


@pytest.mark.parametrize(("sql", "expected"), [
    ("SELECT * FROM read_csv('/etc/passwd')", FILES),
    ("SELECT * FROM read_text('/etc/passwd')", FILES),
    ("SELECT * FROM read_blob('/etc/passwd')", FILES),
    ("SELECT * FROM glob('/*')", FILES),
    ("SELECT * FROM read_parquet('/any/path.parquet')", FILES),
    ("FROM '/etc/passwd'", "Table `/etc/passwd` does not exist."),
    ("SELECT getenv('HOME')", "Scalar Function `getenv` does not exist."),
    ("COPY (SELECT 1) TO '/tmp/sandbox-escape.csv'", f"`COPY` {NOT_HERE}"),
    ("ATTACH '/tmp/sandbox-escape.db'", f"`ATTACH` {NOT_HERE}"),
    ("INSTALL httpfs", f"`INSTALL` {NOT_HERE}"),
    ("LOAD httpfs", f"`LOAD` {NOT_HERE}"),
    ("SET enable_external_access = true", f"`SET` {NOT_HERE}"),
    ("SET memory_limit = '100GB'", f"`SET` {NOT_HERE}"),
    ("RESET lock_configuration", f"`RESET` {NOT_HERE}"),
    ("PRAGMA enable_profiling", f"`PRAGMA` {NOT_HERE}"),
    ("SELECT 1; DROP TABLE cities", "Run one statement at a time"),
], ids=lambda value: value if len(value) < 40 else value[:40])
def test_hostile_sql_is_refused_clearly(tables, sql, expected):
    assert expected in _refused(sql, tables).message
    assert not Path("/tmp/sandbox-escape.csv").exists() and not Path("/tmp/sandbox-escape.db").exists()


def test_the_workspace_file_itself_is_out_of_reach(tables):
    assert FILES in _refused(f"SELECT * FROM read_parquet('{tables['cities']}')", tables).message


def test_settings_do_not_leak_the_studio_environment(tables):
    values = " ".join(str(v) for v in _run("SELECT value FROM duckdb_settings()", tables).table.column(0).to_pylist())
    assert str(Path.home()) not in values and str(Path.cwd()) not in values
    assert str(tables["cities"].parent) not in values


RUNAWAY = {
    "endless recursive CTE": "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT count(*) FROM t",
    "cross join of 10^12 rows": "SELECT count(*) FROM range(1000000) a, range(1000000) b",
}


def test_runaway_queries_are_killed_while_other_queries_keep_working(tables):
    outcomes: dict[str, BaseException | None] = {}

    def run(label: str) -> None:
        try:
            _run(RUNAWAY[label], tables)
            outcomes[label] = None
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            outcomes[label] = exc

    started = time.monotonic()
    threads = [threading.Thread(target=run, args=(label,)) for label in RUNAWAY]
    for thread in threads:
        thread.start()
    assert _run("SELECT 42 AS answer", tables).table.to_pylist() == [{"answer": 42}]
    for thread in threads:
        thread.join(timeout=STARTUP_TIMEOUT_S)
    assert time.monotonic() - started < WITHIN
    for label, outcome in outcomes.items():
        assert isinstance(outcome, SqlTimeout), label
        assert str(outcome).startswith("The query ran longer than 2 s and was stopped."), label
    assert len(outcomes) == len(RUNAWAY)
    assert _run("SELECT count(*) AS n FROM cities", tables).table.to_pylist() == [{"n": 6}]


def test_a_memory_blow_up_reports_the_memory_limit(tables):
    error = _refused("SELECT length(string_agg(repeat('x', 1000), '')) FROM range(2000000)", tables)
    assert not isinstance(error, SqlTimeout)
    assert error.message.startswith("The query needed more than the 512 MB of memory it may use")
    assert _run("SELECT 1 AS ok", tables).table.to_pylist() == [{"ok": 1}]


# --- the statement check, in-process (DuckDB's parser, no process needed) ----------------------

@pytest.mark.parametrize("sql", [
    "SELECT 1", "  -- a comment\nSELECT 1;", "WITH a AS (SELECT 1 AS x) SELECT * FROM a", "FROM t",
    "FROM t SELECT x", "VALUES (1, 'a')", "TABLE t", "DESCRIBE t", "SUMMARIZE t", "SHOW TABLES",
    "EXPLAIN SELECT 1", "EXPLAIN ANALYZE SELECT 1", "EXPLAIN (FORMAT json) SELECT 1",
    "PIVOT t ON city USING sum(price)", "PIVOT t ON city IN ('a', 'b') USING sum(price)",
    "UNPIVOT t ON a, b INTO NAME k VALUE v", "SELECT 1 UNION ALL SELECT 2", "(SELECT 1)",
])
def test_read_only_statements_pass_the_check(sql):
    check_read_only(duckdb.connect(), sql)


@pytest.mark.parametrize(("sql", "word"), [
    ("COPY t TO '/tmp/x.csv'", "COPY"), ("COPY t FROM '/etc/passwd'", "COPY"), ("ATTACH '/tmp/x.db'", "ATTACH"),
    ("DETACH x", "DETACH"), ("INSTALL httpfs", "INSTALL"), ("FORCE INSTALL httpfs", "FORCE"),
    ("LOAD httpfs", "LOAD"), ("SET threads = 8", "SET"), ("RESET memory_limit", "RESET"),
    ("PRAGMA version", "PRAGMA"), ("CALL pragma_version()", "CALL"), ("CHECKPOINT", "CHECKPOINT"),
    ("USE memory", "USE"), ("EXPORT DATABASE '/tmp/x'", "EXPORT"), ("IMPORT DATABASE '/tmp/x'", "IMPORT"),
    ("CREATE TABLE x AS SELECT 1", "CREATE"), ("CREATE MACRO m(a) AS a", "CREATE"),
    ("INSERT INTO t VALUES (1)", "INSERT"), ("UPDATE t SET a = 1", "UPDATE"), ("DELETE FROM t", "DELETE"),
    ("DROP TABLE t", "DROP"), ("ALTER TABLE t ADD COLUMN b INT", "ALTER"), ("BEGIN", "BEGIN"),
    ("VACUUM", "VACUUM"), ("WITH a AS (SELECT 1) INSERT INTO t SELECT * FROM a", "INSERT"),
    ("EXPLAIN ANALYZE COPY (SELECT 1) TO '/tmp/x.csv'", "EXPLAIN COPY"),
    ("EXPLAIN ANALYZE CREATE TABLE x AS SELECT 1", "EXPLAIN CREATE"),
])
def test_statements_that_are_not_read_only_are_refused(sql, word):
    with pytest.raises(SqlError, match=f"^`{word}` statements cannot run here") as caught:
        check_read_only(duckdb.connect(), sql)
    assert (caught.value.line, caught.value.column) == (1, 1)


@pytest.mark.parametrize("sql", ["", "   ", ";", "-- nothing but a comment"])
def test_empty_sql_asks_for_a_query(sql):
    with pytest.raises(SqlError, match="^Write a query to run"):
        check_read_only(duckdb.connect(), sql)


def test_a_second_statement_is_located():
    with pytest.raises(SqlError, match="holds 2 statements") as caught:
        check_read_only(duckdb.connect(), "SELECT 1;\n  DROP TABLE cities")
    assert (caught.value.line, caught.value.column) == (2, 3)


# --- DuckDB's own fence, in-process: holds even if the statement check were bypassed -----------

@pytest.fixture
def locked(tables, tmp_path) -> duckdb.DuckDBPyConnection:
    con = connect(FAST)
    copy = tmp_path / "cities.parquet"
    copy.write_bytes(Path(tables["cities"]).read_bytes())
    load_table(con, "cities", str(copy))
    lock_down(con, FAST, [str(copy)])
    return con


@pytest.mark.parametrize("sql", [
    "SET enable_external_access = true", "RESET enable_external_access", "SET lock_configuration = false",
    "RESET lock_configuration", "SET memory_limit = '100GB'", "SET threads = 64", "SET temp_directory = '/tmp'",
    "SET allowed_directories = ['/']", "SET allowed_paths = ['/etc/passwd']", "SET autoinstall_known_extensions = true",
    "SET allow_community_extensions = true", "SET python_enable_replacements = true",
    "COPY (SELECT 1) TO '/tmp/sandbox-escape.csv'", "ATTACH '/tmp/sandbox-escape.db'", "INSTALL httpfs", "LOAD httpfs",
    "SELECT * FROM read_csv('/etc/passwd')", "SELECT * FROM read_text('/etc/passwd')", "SELECT * FROM glob('/*')",
    "SELECT * FROM 'https://example.com/data.csv'",
    "SELECT getenv('HOME')",
    "SELECT * FROM query('ATTACH ''/tmp/sandbox-escape.db''')", "EXPORT DATABASE '/tmp/sandbox-escape'",
])
def test_the_locked_connection_refuses_on_its_own(locked, sql):
    with pytest.raises(duckdb.Error):
        locked.execute(sql).fetchall()
    assert not Path("/tmp/sandbox-escape.csv").exists() and not Path("/tmp/sandbox-escape.db").exists()


@pytest.mark.parametrize(("name", "value"), [(n, v) for n, v in lockdown_settings(FAST, ["/x"])])
def test_every_lockdown_setting_is_in_force_and_locked(locked, name, value):
    current = locked.execute("SELECT current_setting(?)", [name]).fetchall()[0][0]
    expected = {"temp_directory": "", "max_temp_directory_size": "0 bytes", "memory_limit": "512.0 MiB",
                "threads": 1, "lock_configuration": True}.get(name, value == "true")
    if name != "allowed_paths":
        assert current == expected
    with pytest.raises(duckdb.Error, match="locked"):
        locked.execute(f"SET {name} = {value}")


def test_the_locked_connection_still_reads_its_tables(locked):
    assert locked.execute("SELECT count(*) FROM cities").fetchall() == [(6,)]


# --- the process fences ------------------------------------------------------------------------

def test_the_child_has_no_network_and_cannot_write_files(tmp_path):
    probe = f"""
import importlib.util, socket, sys
spec = importlib.util.spec_from_file_location("child", {str(CHILD)!r})
child = importlib.util.module_from_spec(spec); spec.loader.exec_module(child)
isolated = child.isolate_network()
child.forbid_file_writes()
try:
    with open({str(tmp_path / 'x')!r}, "w") as f:
        f.write("x" * 10)
    wrote = "wrote"
except OSError as exc:
    wrote = type(exc).__name__
print(isolated, sorted(name for _, name in socket.if_nameindex()), wrote)
"""
    out = subprocess.run([sys.executable, "-I", "-B", "-c", probe], capture_output=True, text=True, check=True).stdout
    isolated, wrote = out.split()[0], out.split()[-1]
    assert wrote == "OSError"
    if isolated != "True":
        pytest.skip("this kernel lets no unprivileged process create a network namespace")
    assert "['lo']" in out


# --- small parts -------------------------------------------------------------------------------

@pytest.mark.parametrize(("sql", "offset", "expected"), [
    ("SELECT x", 7, (1, 8)), ("SELECT\n  x", 9, (2, 3)), ("SELECT 'é', x", 13, (1, 13)), ("", 0, (1, 1)),
])
def test_positions_are_byte_offsets_turned_into_lines_and_columns(sql, offset, expected):
    assert line_column(sql, offset) == expected


@pytest.mark.parametrize(("name", "written"), [
    ("cities", "cities"), ("Cities_2", "Cities_2"), ("my data", '"my data"'), ('say "hi"', '"say ""hi"""'),
    ("2024", '"2024"'), ("order", '"order"'),
])
def test_names_are_written_as_sql_needs_them(name, written):
    assert sql_name(name, frozenset({"order", "select"})) == written


@pytest.mark.parametrize(("sql", "message", "position"), [
    ("SELECT 'a'::INT", "Could not convert string 'a' to INT32.", (1, 11)),
    ("SELECT nosuch FROM range(3) t(price)", "Column `nosuch` does not exist here. Did you mean price?", (1, 8)),
    ("SELECT " + "(" * 2000 + "1" + ")" * 2000, "Max expression depth limit of 1000 exceeded.", (None, None)),
    ("SELECT 1 FROM range(3) t(i) WHERE i = (SELECT 1 UNION ALL SELECT 2)",
     ("More than one row returned by a subquery used as an expression - scalar subqueries can only return a "
     "single row."), (None, None)),
    ("SELECT 'a' + 1", ('Could not choose a best candidate function for the function call "+(STRING_LITERAL, '
     'INTEGER_LITERAL)". In order to select one, please add explicit type casts.'), (1, 12)),
])
def test_duckdb_errors_are_cleaned_up(sql, message, position):
    con = duckdb.connect(config={"errors_as_json": True})
    with pytest.raises(duckdb.Error) as caught:
        con.execute(sql).fetchall()
    error = describe_error(caught.value, sql=sql, tables=["t"], memory_mb=512)
    assert (error.message, (error.line, error.column)) == (message, position)


@pytest.mark.parametrize(("typed", "suggested"), [("my", '"my data"'), ("citys", "cities"), ("zzz", None)])
def test_a_missing_table_suggests_the_closest_name(typed, suggested):
    message = missing_table_message(typed, ["cities", "my data"])
    assert (f"Did you mean {suggested}?" in message) if suggested else ("Did you mean" not in message)


def test_a_workspace_without_tables_says_so():
    assert "no data sets yet" in missing_table_message("x", [])


def test_names_that_sql_cannot_tell_apart_are_refused_before_starting(tables):
    with pytest.raises(SqlError, match="differ only in letter case"):
        run_sql("SELECT 1", {"Sales": b"", "sales": b""})
    with pytest.raises(SqlError, match="`gone` could not be read"):
        run_sql("SELECT 1", {"gone": Path("/nonexistent/gone.parquet")})


@pytest.mark.parametrize("kwargs", [{"timeout_s": 0}, {"timeout_s": float("inf")}, {"memory_mb": 1},
                                    {"max_rows": -1}, {"threads": 0}])
def test_limits_are_validated(kwargs):
    with pytest.raises(ValueError):
        SandboxLimits(**kwargs)
