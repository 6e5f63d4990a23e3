"""Column kinds of a table (integer, decimal, boolean, date, datetime, url, email, text) and SQL quoting."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl
import pyarrow as pa

from engine.errors import EngineError

__all__ = ["KINDS", "ROW", "VARIATION", "arrow_kind", "as_arrow", "kinds_of", "quote", "sql_literal"]

KINDS: frozenset[str] = frozenset({"integer", "decimal", "boolean", "date", "datetime", "url", "email", "text"})
ROW = "__row"
VARIATION = "__variation"


def quote(name: str) -> str:
    """A DuckDB double-quoted identifier."""
    return '"' + name.replace('"', '""') + '"'


def sql_literal(text: str) -> str:
    """A DuckDB string literal."""
    return "'" + text.replace("'", "''") + "'"


def arrow_kind(dtype: pa.DataType) -> str:
    """The engine kind of an Arrow column type (anything unusual reads as text)."""
    if pa.types.is_boolean(dtype):
        return "boolean"
    if pa.types.is_integer(dtype):
        return "integer"
    if pa.types.is_floating(dtype) or pa.types.is_decimal(dtype):
        return "decimal"
    if pa.types.is_date(dtype):
        return "date"
    if pa.types.is_timestamp(dtype):
        return "datetime"
    return "text"


def as_arrow(table: object) -> pa.Table:
    """A polars DataFrame or Arrow table as an Arrow table (zero-copy where possible)."""
    if isinstance(table, pl.DataFrame):
        return table.to_arrow()
    if isinstance(table, pa.Table):
        return table
    raise EngineError(f"expected a polars DataFrame or an Arrow table, got {type(table).__name__}")


def kinds_of(table: pa.Table, overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """Column → kind, from the Arrow types, with explicit kinds (e.g. from ingest) taking precedence."""
    kinds = {f.name: arrow_kind(f.type) for f in table.schema}
    for name, kind in (overrides or {}).items():
        if name in kinds:
            if kind not in KINDS:
                raise EngineError(f"column {name!r}: unknown kind {kind!r}", field=name)
            kinds[name] = kind
    return kinds
