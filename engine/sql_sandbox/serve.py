"""One request in the child: check the SQL, load, lock down, run, and answer in frames."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, BinaryIO

import duckdb

from engine.sql_sandbox import protocol, results
from engine.sql_sandbox.lockdown import connect, limit_process, load_table, lock_down
from engine.sql_sandbox.messages import describe_error, memory_message
from engine.sql_sandbox.models import SandboxLimits, SqlError, result_too_large
from engine.sql_sandbox.statements import check_read_only


def serve_file(request_path: Path, out: BinaryIO) -> None:
    """Answer the request in ``request_path``: READY, then RESULT + ARROW, or an ERROR frame."""
    request: dict[str, Any] = json.loads(request_path.read_text(encoding="utf-8"))
    limits = SandboxLimits(**request["limits"])
    try:
        serve(request["sql"], request["tables"], limits, out)
    except SqlError as exc:
        _write_error(out, exc)
    except MemoryError:
        _write_error(out, SqlError(memory_message(limits.memory_mb)))


def serve(sql: str, tables: list[dict[str, str]], limits: SandboxLimits, out: BinaryIO) -> None:
    """Check, load, lock down, say READY, then run ``sql`` and write its first rows."""
    names = [t["name"] for t in tables]
    con = connect(limits)
    try:
        check_read_only(con, sql)
    except duckdb.Error as exc:
        raise describe_error(exc, sql=sql, tables=names, memory_mb=limits.memory_mb) from None
    for table in tables:
        try:
            load_table(con, table["name"], table["file"])
        except duckdb.Error as exc:
            detail = describe_error(exc, sql="", tables=names, memory_mb=limits.memory_mb).message
            raise SqlError(f"The data set `{table['name']}` could not be read as Parquet: {detail}") from None
    lock_down(con, limits, [t["file"] for t in tables])
    results.limit_threads(limits.threads)
    protocol.write_frame(out, protocol.READY)
    limit_process(limits)
    started = time.perf_counter()
    try:
        table, truncated = results.fetch(con, sql, limits.max_rows, limits.max_result_bytes)
    except duckdb.Error as exc:
        raise describe_error(exc, sql=sql, tables=names, memory_mb=limits.memory_mb, con=con) from None
    elapsed = time.perf_counter() - started
    payload = results.to_ipc(table)
    if payload.size > protocol.wire_limit(limits.max_result_bytes):
        raise SqlError(result_too_large(limits.max_result_mb, table.num_rows))
    meta = {"total_rows": None if truncated else table.num_rows, "truncated": truncated, "elapsed_s": elapsed}
    protocol.write_frame(out, protocol.RESULT, json.dumps(meta).encode())
    protocol.write_frame(out, protocol.ARROW, memoryview(payload))


def _write_error(out: BinaryIO, error: SqlError) -> None:
    """An ERROR frame carrying the message and its position."""
    body = {"message": error.message, "line": error.line, "column": error.column}
    protocol.write_frame(out, protocol.ERROR, json.dumps(body).encode())
