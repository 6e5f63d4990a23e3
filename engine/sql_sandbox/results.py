"""The child's answer: the first rows of a query as an Arrow IPC stream, shaped for a table and capped in bytes.

Shaping happens in DuckDB, before any row is read: duplicate column names (a self-join's ``id``
and ``id``) become ``id``, ``id_2``; types that have no column in polars (INTERVAL, UNION, BIT,
TIME WITH TIME ZONE, BIGNUM, and anything nesting them) are cast to text the way DuckDB prints
them. Dates outside the years 1–9999 (``'infinity'::TIMESTAMP``) are refused by name: neither
Python nor polars can show them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from engine.sql_sandbox.lockdown import quote_ident
from engine.sql_sandbox.messages import error_payload
from engine.sql_sandbox.models import SqlError, result_too_large

# DuckDB hands over tiny batches slowly: read at least a few vectors' worth, at most 100k rows at a time.
_MIN_BATCH, _MAX_BATCH = 8192, 100_000
_AS_TEXT = re.compile(r"\b(INTERVAL|UNION|BIT|BITSTRING|BIGNUM|VARINT|TIME WITH TIME ZONE|TIMETZ)\b")
# Python's datetime range (years 1–9999), in seconds and days since 1970-01-01.
_FIRST_S, _LAST_S = -62_135_596_800, 253_402_300_799
_FIRST_DAY, _LAST_DAY = -719_162, 2_932_896
_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000}


def fetch(con: duckdb.DuckDBPyConnection, sql: str, max_rows: int,
          max_bytes: int | None = None) -> tuple[pa.Table, bool]:
    """The first ``max_rows`` rows and whether there were more; reading stops at max_rows + 1.

    Reading also stops once the rows read pass ``max_bytes``: SqlError, naming the cap.
    """
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
    relation = shaped(relation)
    reader = relation.to_arrow_reader(min(max(max_rows + 1, _MIN_BATCH), _MAX_BATCH))
    batches: list[pa.RecordBatch] = []
    rows = size = 0
    for batch in reader:
        batches.append(batch)
        rows += batch.num_rows
        size += batch.nbytes
        if rows > max_rows:
            break
        if max_bytes is not None and size > max_bytes:  # stop reading at once: the result is refused
            raise SqlError(result_too_large(max_bytes // (1024 * 1024), rows))
    table = pa.Table.from_batches(batches, schema=reader.schema).slice(0, max_rows)
    if max_bytes is not None and table.nbytes > max_bytes:
        raise SqlError(result_too_large(max_bytes // (1024 * 1024), table.num_rows))
    check_dates(table)
    return table, rows > max_rows


def shaped(relation: duckdb.DuckDBPyRelation) -> duckdb.DuckDBPyRelation:
    """``relation`` with unique column names and every column in a type polars can hold."""
    names = unique_names(relation.columns)
    columns = []
    for position, (name, kind) in enumerate(zip(names, relation.types, strict=True), 1):
        value = f"#{position}"
        if _AS_TEXT.search(str(kind).upper()):
            value = f"CAST({value} AS VARCHAR)"
        columns.append(f"{value} AS {quote_ident(name)}")
    return relation.project(", ".join(columns))


def unique_names(names: Sequence[str]) -> list[str]:
    """Names unique as SQL compares them (ignoring case): a repeat gets ``_2``, ``_3``…; blanks get ``column_<n>``."""
    taken = {name.lower() for name in names}
    seen: set[str] = set()
    unique: list[str] = []
    for position, name in enumerate(names, 1):
        base = name if name.strip() else f"column_{position}"
        candidate, suffix = base, 2
        while candidate.lower() in seen or (candidate != base and candidate.lower() in taken):
            candidate, suffix = f"{base}_{suffix}", suffix + 1
        seen.add(candidate.lower())
        unique.append(candidate)
    return unique


def check_dates(table: pa.Table) -> None:
    """Refuse a date or timestamp outside the years 1–9999 (DuckDB's 'infinity' among them), naming the column."""
    for name, column in zip(table.column_names, table.columns, strict=True):
        kind = column.type
        if pa.types.is_timestamp(kind) and kind.unit in _PER_SECOND:
            per = _PER_SECOND[kind.unit]
            first, last = _FIRST_S * per, (_LAST_S + 1) * per - 1
            values = column.cast(pa.int64())
        elif pa.types.is_date32(kind):
            first, last, values = _FIRST_DAY, _LAST_DAY, column.cast(pa.int32())
        elif pa.types.is_date64(kind):
            first, last = _FIRST_DAY * 86_400_000, (_LAST_DAY + 1) * 86_400_000 - 1
            values = column.cast(pa.int64())
        else:
            continue
        if values.null_count == len(values):
            continue
        bounds = pc.min_max(values)
        if bounds["min"].as_py() < first or bounds["max"].as_py() > last:
            shown = f'"{name}"' if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) else name
            raise SqlError(f"Column `{name}` holds dates outside the years 1 to 9999 (such as 'infinity'), which "
                           "cannot be shown or saved. Filter those rows out (for example WHERE "
                           f"year({shown}) BETWEEN 1 AND 9999) or show the column as text with {shown}::VARCHAR.")


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
