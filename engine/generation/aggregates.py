"""Aggregates over the whole data set as derived columns: `category_min_price` = min(price) per category.

A set lists them in `GenerationConfig.aggregates`, each as
`{"name": "category_min_price", "agg": "min", "of": "price", "by": ["category"]}`:

- `agg` is count, min, max, avg or sum; `of` is the column it reads (count may omit it: rows of
  the group); `by` lists zero or more columns (none: the whole data set is one group);
- they are computed over **every row of the data set, before any rule runs** (rules skip rows
  *because of* them, e.g. `category_count less_than 3` → skip), with SQL semantics: null values,
  and blank text, are skipped (count(of) counts the rest, avg/min/… of nothing is empty); a group
  key that is null or blank puts the row in the one "empty" group;
- sum and avg need a number column; min and max also order dates and text (by code point);
  count is an integer, avg a decimal, sum an integer over integers, min and max keep the kind of `of`;
- a name must be a plain identifier and must not equal a column (nor differ from one only in
  letter case); at most MAX_AGGREGATES per set.

They are window functions (`agg(of) OVER (PARTITION BY by…)`) run once in DuckDB over the whole
source; the result becomes ordinary columns of the plan's source. Every later step — rules, templates,
the per-row fallbacks, a preview's prefix, a worker's chunk of rows, the stats — then reads the
whole data set's figures, so the compiled plan and the per-row path agree byte for byte and a
preview of the first rows already sees the figures of all of them.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa

from engine.errors import EngineError
from engine.generation.schema import ROW, quote
from engine.generation.source import SCAN_BATCH_ROWS, Source, prepare_source
from engine.rules.values import NUMERIC_KINDS, TEXT_KINDS, sql_is_blank, sql_text_or_empty
from engine.templates.sql_aliases import alias_table, case_aliases, fold

__all__ = ["AGGS", "MAX_AGGREGATES", "Aggregate", "add_aggregates", "aggregate_kinds", "parse_aggregates",
           "with_aggregates"]

AGGS = ("count", "min", "max", "avg", "sum")
MAX_AGGREGATES = 20
_ORDERED_KINDS = NUMERIC_KINDS | TEXT_KINDS | {"date", "datetime"}
_EXAMPLE = '{"name": "category_min_price", "agg": "min", "of": "price", "by": ["category"]}'


@dataclass(frozen=True)
class Aggregate:
    """One derived column: `agg` of `of` per group of equal `by` values."""

    name: str
    agg: str
    of: str | None = None
    by: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """As stored in a config (JSON)."""
        out: dict[str, Any] = {"name": self.name, "agg": self.agg}
        if self.of is not None:
            out["of"] = self.of
        out["by"] = list(self.by)
        return out

    def describe(self) -> str:
        """`min(price) per category`, `count(*) over the whole data set`."""
        what = f"{self.agg}({self.of or '*'})"
        return f"{what} per {', '.join(self.by)}" if self.by else f"{what} over the whole data set"


def _one(item: Any, index: int) -> Aggregate:
    label = f"aggregate {index + 1}"
    if isinstance(item, Aggregate):
        return item
    if not isinstance(item, Mapping):
        raise EngineError(f"{label}: give it as an object like {_EXAMPLE}")
    unknown = sorted(set(item) - {"name", "agg", "of", "by"})
    if unknown:
        raise EngineError(f"{label}: unknown key {unknown[0]!r} (keys: name, agg, of, by)")
    name = item.get("name")
    if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
        raise EngineError(f"{label}: its name {name!r} must be a plain identifier (letters, digits, _) not starting "
                          "with '_', e.g. category_min_price", field=str(name))
    label = f"aggregate {name!r}"
    agg = item.get("agg")
    agg = agg.strip().lower() if isinstance(agg, str) else agg
    if agg not in AGGS:
        close = difflib.get_close_matches(str(agg), AGGS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise EngineError(f"{label}: unknown aggregate {item.get('agg')!r}{hint} (use {', '.join(AGGS)})", field=name)
    of = item.get("of")
    if of in ("", None):
        of = None
        if agg != "count":
            raise EngineError(f"{label}: {agg} needs a column in 'of' (only count can count rows without one)",
                              field=name)
    elif not isinstance(of, str):
        raise EngineError(f"{label}: 'of' must be a column name", field=name)
    by = item.get("by") or []
    if isinstance(by, str):
        by = [by]
    if not isinstance(by, Sequence) or not all(isinstance(b, str) and b for b in by):
        raise EngineError(f"{label}: 'by' must be a list of column names (empty: the whole data set)", field=name)
    if len(set(by)) != len(by):
        raise EngineError(f"{label}: 'by' names a column twice", field=name)
    return Aggregate(name, agg, of, tuple(by))


def parse_aggregates(data: Any) -> tuple[Aggregate, ...]:
    """Aggregates from a config's JSON list (or JSON text); their shape checked, not their columns."""
    if data in (None, "", []):
        return ()
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as exc:
            raise EngineError(f"the aggregates are not valid JSON: line {exc.lineno}, column {exc.colno}: "
                              f"{exc.msg}") from None
    if isinstance(data, Mapping) or not isinstance(data, Sequence):
        raise EngineError(f"aggregates must be a list like [{_EXAMPLE}]")
    if len(data) > MAX_AGGREGATES:
        raise EngineError(f"{len(data)} aggregates are more than the {MAX_AGGREGATES} a set can have; remove some")
    parsed = tuple(_one(item, i) for i, item in enumerate(data))
    seen: dict[str, str] = {}
    for a in parsed:
        if fold(a.name) in seen:
            raise EngineError(f"two aggregates are named {a.name!r}" + (
                "" if seen[fold(a.name)] == a.name else f" and {seen[fold(a.name)]!r} (equal but for letter case)")
                + "; rename one", field=a.name)
        seen[fold(a.name)] = a.name
    return parsed


def _unknown(column: str, kinds: Mapping[str, str], agg: Aggregate) -> EngineError:
    close = difflib.get_close_matches(column, list(kinds), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return EngineError(f"aggregate {agg.name!r} reads column {column!r}, which the data set does not have{hint}",
                       field=agg.name)


def aggregate_kinds(aggregates: Sequence[Aggregate], kinds: Mapping[str, str]) -> dict[str, str]:
    """Each aggregate's column kind, after checking it against the data set's columns (clear errors)."""
    columns = {fold(c): c for c in reversed(list(kinds))}
    out: dict[str, str] = {}
    for a in aggregates:
        column = columns.get(fold(a.name))
        if column is not None:
            what = "a column" if a.name in kinds else f"column {column!r} but for letter case"
            raise EngineError(f"aggregate {a.name!r} has the same name as {what} of the data set; rename the "
                              "aggregate", field=a.name)
        for c in (*a.by, *([a.of] if a.of else [])):
            if c not in kinds:
                raise _unknown(c, kinds, a)
        kind = kinds[a.of] if a.of else None
        if a.agg in ("sum", "avg") and kind not in NUMERIC_KINDS:
            raise EngineError(f"aggregate {a.name!r}: {a.agg} needs a number column, but {a.of!r} holds {kind} values",
                              field=a.name)
        if a.agg in ("min", "max") and kind not in _ORDERED_KINDS:
            raise EngineError(f"aggregate {a.name!r}: {a.agg} orders numbers, dates and text, but {a.of!r} holds "
                              f"{kind} values", field=a.name)
        if a.agg == "count":
            out[a.name] = "integer"
        elif a.agg == "avg":
            out[a.name] = "decimal"
        elif a.agg == "sum":
            out[a.name] = "integer" if kind == "integer" else "decimal"
        else:
            assert kind is not None
            out[a.name] = kind
    return out


def _present(ref: str, kind: str) -> str:
    return f"NOT {sql_is_blank(sql_text_or_empty(ref, kind))}" if kind in TEXT_KINDS else f"{ref} IS NOT NULL"


def _group_key(ref: str, kind: str) -> str:
    return f"CASE WHEN {_present(ref, kind)} THEN {ref} END" if kind in TEXT_KINDS else ref


def window_sql(a: Aggregate, kinds: Mapping[str, str], sql_name: Mapping[str, str]) -> str:
    """`agg(of) FILTER (present) OVER (PARTITION BY keys)` for one aggregate (columns by their SQL names)."""
    def ref(c: str) -> str:
        return quote(sql_name.get(c, c))

    over = f"OVER (PARTITION BY {', '.join(_group_key(ref(b), kinds[b]) for b in a.by)})" if a.by else "OVER ()"
    if a.of is None:
        return f"CAST(count(*) {over} AS BIGINT)"
    kind, col = kinds[a.of], ref(a.of)
    present = f"FILTER (WHERE {_present(col, kind)})"
    if a.agg == "count":
        return f"CAST(count(*) {present} {over} AS BIGINT)"
    if a.agg == "avg":
        return f"avg(CAST({col} AS DOUBLE)) {present} {over}"
    if a.agg == "sum":
        inner = col if kind == "integer" else f"CAST({col} AS DOUBLE)"
        return f"CAST(sum({inner}) {present} {over} AS {'BIGINT' if kind == 'integer' else 'DOUBLE'})"
    return f"{a.agg}({col}) {present} {over}"


def aggregates_sql(aggregates: Sequence[Aggregate], kinds: Mapping[str, str], table: str) -> str:
    """The query that adds the aggregates to `table` (which carries `__row`), in row order."""
    sql_name = case_aliases(kinds)
    cols = ", ".join(f"{window_sql(a, kinds, sql_name)} AS {quote(a.name)}" for a in aggregates)
    return f"SELECT {cols}\nFROM {quote(table)}\nORDER BY {quote(ROW)}"


def with_aggregates(source: Source, aggregates: Sequence[Aggregate],
                    connection: duckdb.DuckDBPyConnection | None = None) -> Source:
    """`source` with one more column per aggregate, computed over all its rows (kept with the source)."""
    if not aggregates:
        return source
    if all(a.name in source.kinds for a in aggregates) and source.memo(("derived", tuple(aggregates)), lambda: False):
        return source  # a source these aggregates were already added to (e.g. a plan's, planned again)
    out_kinds = aggregate_kinds(aggregates, source.kinds)
    key = ("aggregates", tuple(aggregates))
    return source.memo(key, lambda: _build(source, tuple(aggregates), out_kinds, connection))


def _build(source: Source, aggregates: tuple[Aggregate, ...], out_kinds: dict[str, str],
           connection: duckdb.DuckDBPyConnection | None) -> Source:
    con = connection.cursor() if connection is not None else duckdb.connect(
        config={"enable_external_access": False, "autoinstall_known_extensions": False,
                "autoload_known_extensions": False})
    try:
        con.register("__aggregate_source", alias_table(source.table, case_aliases(source.kinds)))
        sql = aggregates_sql(aggregates, source.kinds, "__aggregate_source")
        derived = con.sql(sql).to_arrow_table()
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0]
        hint = " (a sum past ±9.2 × 10^18 does not fit an integer)" if "out of range" in first.lower() else ""
        raise EngineError(f"the aggregates could not be computed: {first}{hint}") from exc
    finally:
        con.close()
    table = source.table
    derived = derived.combine_chunks()  # one chunk: the batches below keep the source's 32k rows, not DuckDB's 2k
    for name in derived.column_names:
        table = table.append_column(name, derived.column(name))
    table = pa.Table.from_batches(table.to_batches(max_chunksize=SCAN_BATCH_ROWS), table.schema)
    derived = Source(table, {**source.kinds, **out_kinds})
    derived.memo(("derived", aggregates), lambda: True)
    return derived


def add_aggregates(frame: pl.DataFrame, kinds: Mapping[str, str], aggregates: Any) -> tuple[pl.DataFrame, dict[str, str]]:
    """A data set's frame and kinds with the aggregate columns added (testing rules on the whole data set)."""
    parsed = parse_aggregates(aggregates)
    if not parsed:
        return frame, dict(kinds)
    source = with_aggregates(prepare_source(frame, kinds), parsed)
    table = source.table.drop_columns([ROW])
    out = pl.from_arrow(table)
    assert isinstance(out, pl.DataFrame)
    return out, {c: source.kinds[c] for c in table.column_names}
