"""Shared data for the template tests (no tests here): a schema, awkward rows, SQL-vs-render helpers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import duckdb
import polars as pl

from engine.templates import CompiledTemplate
from engine.templates.sql_aliases import alias_table

SCHEMA = {"t": "text", "u": "text", "i": "integer", "j": "integer", "f": "decimal", "g": "decimal",
          "b": "boolean", "d": "date", "ts": "datetime", "Product Name": "text", "url": "url"}
POLARS_TYPES = {"text": pl.Utf8, "url": pl.Utf8, "email": pl.Utf8, "integer": pl.Int64, "decimal": pl.Float64,
                "boolean": pl.Boolean, "date": pl.Date, "datetime": pl.Datetime("us")}

_BASE: dict[str, Any] = {"t": "a", "u": "b", "i": 3, "j": 4, "f": 2.5, "g": 1.0, "b": False,
                         "d": dt.date(2024, 3, 5), "ts": dt.datetime(2024, 3, 5), "Product Name": "b",
                         "url": "https://x.test/a"}
_ODD: list[dict[str, Any]] = [
    {"t": "straße ΟΔΟΣ", "u": "", "i": 0, "f": 107.52, "g": 100.0, "b": True, "d": dt.date(2024, 1, 8),
     "ts": dt.datetime(2024, 1, 8, 10, 0, 0), "Product Name": "İstanbul ﬁsh"},
    {"t": None, "u": " x ", "i": -5, "j": None, "f": -0.0, "g": None, "b": False, "d": None,
     "ts": dt.datetime(99, 1, 8, 13, 5, 7, 120), "Product Name": None, "url": None},
    {"t": "ΣΑΣ σ Σ'Σ aΣ", "u": None, "i": None, "f": float("nan"), "b": None, "d": dt.date(1, 2, 3), "ts": None,
     "Product Name": "ǆemal"},
    {"t": "  hello-world (foo)  ", "u": "\u00a0a\u2028", "i": 2 ** 62, "f": 1e16, "b": True,
     "d": dt.date(9999, 12, 31), "ts": dt.datetime(2024, 12, 31, 23, 59, 59, 999999), "Product Name": "x"},
    {"t": "", "u": "a", "i": 100, "f": 0.1 + 0.2, "g": 0.30000000000000004, "b": False, "d": dt.date(2000, 2, 29),
     "ts": dt.datetime(1960, 1, 1, 0, 0, 0, 500000), "Product Name": "a"},
    {"t": "Weißbier 👍🏽", "u": "1.5", "i": 101, "f": float("inf"), "g": float("-inf"), "b": None, "d": None,
     "ts": None, "Product Name": "e\u0301"},
    {"t": "x", "u": "y", "i": -(2 ** 63), "f": 1e-05, "b": True, "Product Name": ""},
    {"i": 2 ** 63 - 1, "f": 12345678.125, "g": 9007199254740993.0},
    {"i": 3, "f": -1.5e300, "g": 99.995, "j": 3},
    {"t": "ᾳ ΐ ŉ ǰ", "u": "ﬀ", "f": 0.5, "g": -2.5, "i": 7, "j": -7},
]
ROWS: list[dict[str, Any]] = [{**_BASE, **odd} for odd in _ODD]


def frame(rows: Sequence[Mapping[str, Any]], schema: Mapping[str, str] = SCHEMA) -> pl.DataFrame:
    """A polars frame typed by the schema."""
    return pl.DataFrame([dict(r) for r in rows], schema={k: POLARS_TYPES[v] for k, v in schema.items()})


def sql_outputs(con: duckdb.DuckDBPyConnection, tmpl: CompiledTemplate, df: pl.DataFrame,
                sql: str | None = None) -> list[str]:
    """Run the template's SQL (or `sql`, e.g. specialised to the frame) over the frame, in row order."""
    assert tmpl.sql is not None, tmpl.fallback_reason
    con.register("t_rows", alias_table(df.with_row_index("__row"), tmpl.aliases))  # names equal but for case
    try:
        return [r[0] for r in con.execute(f"SELECT {sql or tmpl.sql} FROM t_rows ORDER BY __row").fetchall()]
    finally:
        con.unregister("t_rows")


def row_outputs(tmpl: CompiledTemplate, df: pl.DataFrame) -> list[str]:
    """Render the template per row over the frame's Python values."""
    return [tmpl.render(row) for row in df.iter_rows(named=True)]
