"""The data a plan runs over: an Arrow table with a stable `__row` index and its column kinds."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import polars as pl
import pyarrow as pa

from engine.errors import EngineError
from engine.generation.schema import ROW, kinds_of
from engine.templates.sql_facts import number_facts, text_facts

__all__ = ["Source", "column_facts", "prepare_source"]

T = TypeVar("T")

SCAN_BATCH_ROWS = 32_768
"""Rows per Arrow record batch of a prepared source (zero-copy slices; see `prepare_source`)."""


@dataclass(frozen=True)
class Source:
    """A table ready for plans: `__row` first, strings as Arrow views (zero-copy from polars)."""

    table: pa.Table
    kinds: dict[str, str]
    _memo: OrderedDict[Hashable, Any] = field(default_factory=OrderedDict, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    MEMO_ENTRIES = 16
    """Small derived tables kept per source (e.g. the rules' output for a preview prefix)."""

    @property
    def num_rows(self) -> int:
        """Rows in the data set."""
        return self.table.num_rows

    def prefix(self, n: int) -> pa.Table:
        """The first `n` rows (zero-copy)."""
        return self.table.slice(0, n)

    def memo(self, key: Hashable, build: Callable[[], T]) -> T:
        """Something derived from this source, built once per key (the least recently used are dropped).

        The key must determine the result given this source's data (e.g. the SQL text that
        produced it and the prefix length); a preview re-plans on every edit and reuses it.
        """
        with self._lock:
            if key in self._memo:
                self._memo.move_to_end(key)
                return self._memo[key]  # type: ignore[no-any-return]
        value = build()
        with self._lock:
            self._memo[key] = value
            while len(self._memo) > self.MEMO_ENTRIES:
                self._memo.popitem(last=False)
        return value


def prepare_source(table: Any, schema: Mapping[str, str] | None = None) -> Source:
    """Index a table once so many plans (one per template edit) can reuse it.

    Accepts a polars DataFrame, an Arrow table or an `engine.ingest.IngestResult`
    (whose column kinds are used); `schema` overrides kinds per column.
    """
    if isinstance(table, Source):
        return table
    kinds: dict[str, str] = {}
    if hasattr(table, "columns") and hasattr(table, "table") and not isinstance(table, pl.DataFrame):
        kinds = {c.name: c.kind for c in table.columns}
        table = table.table
    kinds.update(schema or {})
    if isinstance(table, pa.Table):
        table = pl.from_arrow(table)
    if not isinstance(table, pl.DataFrame):
        raise EngineError(f"expected a polars DataFrame or an Arrow table, got {type(table).__name__}")
    reserved = [c for c in table.columns if c.startswith("__")]
    if reserved:
        raise EngineError(f"column {reserved[0]!r}: names starting with '__' are reserved; rename it",
                          field=reserved[0])
    arrow = table.with_row_index(ROW).to_arrow(compat_level=pl.CompatLevel.newest())
    # DuckDB scans an Arrow table one record batch per task: one big batch runs on one thread
    arrow = pa.Table.from_batches(arrow.to_batches(max_chunksize=SCAN_BATCH_ROWS), arrow.schema)
    return Source(arrow, kinds_of(arrow.drop_columns([ROW]), kinds))


def column_facts(table: pa.Table) -> dict[str, frozenset[str]]:
    """What holds for every value of each text and float column (for `CompiledTemplate.sql_for`).

    Reads every value in Python: meant for the few hundred rows of a preview prefix.
    """
    facts: dict[str, frozenset[str]] = {}
    for name, col in zip(table.column_names, table.columns, strict=True):
        t = col.type
        if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
            facts[name] = text_facts(col.to_pylist())
        elif pa.types.is_floating(t):
            facts[name] = number_facts(col.to_pylist())
    return facts
