"""A sandbox result as a polars table for the page and for saving, or a SqlError — never a polars crash."""

from __future__ import annotations

import polars as pl
import pyarrow as pa
from polars.exceptions import PanicException

from engine.sql_sandbox.models import SqlError
from engine.sql_sandbox.results import unique_names


def to_frame(table: pa.Table) -> pl.DataFrame:
    """``table`` as a polars DataFrame with unique column names; what polars cannot hold is a SqlError."""
    names = unique_names(table.column_names)
    if names != table.column_names:
        table = table.rename_columns(names)
    try:
        frame = pl.from_arrow(table)
    # PanicException is a BaseException: a Rust panic inside polars, caught here and nowhere wider.
    except (pl.exceptions.PolarsError, pa.ArrowException, ValueError, TypeError, PanicException):
        raise SqlError(f"The result could not be shown as a table: a column has a type the studio cannot hold "
                       f"({_types(table)}). Cast unusual columns to text, for example col::VARCHAR.") from None
    if not isinstance(frame, pl.DataFrame):  # a table of no columns comes back as a Series
        return pl.DataFrame()
    return frame


def _types(table: pa.Table) -> str:
    """'a: int64, b: month_day_nano_interval' — short enough for a message."""
    shown = ", ".join(f"{name}: {kind}" for name, kind in zip(table.column_names, table.schema.types, strict=True))
    return shown if len(shown) <= 200 else shown[:199] + "…"
