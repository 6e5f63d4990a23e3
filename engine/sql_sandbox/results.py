"""The child's answer: the first rows of a query as an Arrow IPC stream."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from engine.sql_sandbox.messages import error_payload

# DuckDB hands over tiny batches slowly: read at least a few vectors' worth, at most 100k rows at a time.
_MIN_BATCH, _MAX_BATCH = 8192, 100_000


def fetch(con: duckdb.DuckDBPyConnection, sql: str, max_rows: int) -> tuple[pa.Table, bool]:
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
    reader = relation.to_arrow_reader(min(max(max_rows + 1, _MIN_BATCH), _MAX_BATCH))
    batches: list[pa.RecordBatch] = []
    rows = 0
    for batch in reader:
        batches.append(batch)
        rows += batch.num_rows
        if rows > max_rows:
            break
    table = pa.Table.from_batches(batches, schema=reader.schema)
    return table.slice(0, max_rows), rows > max_rows


def limit_threads(threads: int) -> None:
    """pyarrow's pools follow the sandbox's thread limit."""
    pa.set_cpu_count(threads)
    pa.set_io_thread_count(threads)


def to_ipc(table: pa.Table) -> pa.Buffer:
    """``table`` as one Arrow IPC stream."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()
