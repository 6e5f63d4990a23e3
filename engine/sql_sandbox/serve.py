"""One request in the child: check the SQL, load, lock down, run, and answer in frames."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, BinaryIO

import duckdb
import pyarrow as pa

from engine.sql_sandbox import protocol
from engine.sql_sandbox.lockdown import connect, limit_process, load_table, lock_down
from engine.sql_sandbox.messages import describe_error, error_payload, memory_message
from engine.sql_sandbox.models import SandboxLimits, SqlError
from engine.sql_sandbox.statements import check_read_only

_MAX_BATCH = 100_000


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
    pa.set_cpu_count(limits.threads)
    pa.set_io_thread_count(limits.threads)
    protocol.write_frame(out, protocol.READY)
    limit_process(limits)
    started = time.perf_counter()
    try:
        result, truncated = _fetch(con, sql, limits.max_rows)
    except duckdb.Error as exc:
        raise describe_error(exc, sql=sql, tables=names, memory_mb=limits.memory_mb, con=con) from None
    elapsed = time.perf_counter() - started
    meta = {"total_rows": None if truncated else result.num_rows, "truncated": truncated, "elapsed_s": elapsed}
    protocol.write_frame(out, protocol.RESULT, json.dumps(meta).encode())
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, result.schema) as writer:
        writer.write_table(result)
    protocol.write_frame(out, protocol.ARROW, memoryview(sink.getvalue()))


def _fetch(con: duckdb.DuckDBPyConnection, sql: str, max_rows: int) -> tuple[pa.Table, bool]:
    """The first ``max_rows`` rows and whether there were more; reading stops at max_rows + 1."""
    try:
        relation = con.sql(sql)
    except duckdb.Error as exc:
        if error_payload(exc) is None:
            # A relation loses the JSON (and the position) of errors raised while binding; binding the
            # same SQL through execute() fails the same way, before running anything, and keeps them.
            con.execute(sql)
        raise
    if relation is None:
        return pa.table({}), False
    reader = relation.to_arrow_reader(min(max_rows + 1, _MAX_BATCH))
    batches: list[pa.RecordBatch] = []
    rows = 0
    for batch in reader:
        batches.append(batch)
        rows += batch.num_rows
        if rows > max_rows:
            break
    table = pa.Table.from_batches(batches, schema=reader.schema)
    return table.slice(0, max_rows), rows > max_rows


def _write_error(out: BinaryIO, error: SqlError) -> None:
    """An ERROR frame carrying the message and its position."""
    body = {"message": error.message, "line": error.line, "column": error.column}
    protocol.write_frame(out, protocol.ERROR, json.dumps(body).encode())
