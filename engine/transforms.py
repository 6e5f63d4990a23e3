"""GROUP BY transforms: derive a table of aggregates from a data set, vectorised in DuckDB.

Semantics:
- groups come out in first-seen order (the first row of each group);
- a key cell that is null, empty or only ASCII whitespace belongs to the one "empty"
  group, whose key is null;
- aggregations skip null values (and, in text columns, blank ones): COUNT(field) counts
  the rest, COUNT without a field counts rows, COUNT DISTINCT counts distinct values
  (case-sensitive), COUNT_IF counts rows matching a rule condition (or condition group,
  with the rule operators' semantics), SUM / AVG need an integer or decimal column (SUM
  of integers stays integer, AVG is decimal), MIN / MAX order numbers, dates and text
  (by code point), FIRST / LAST take the first / last non-null value in row order,
  CONCAT(separator=", ") joins the values' text (as `str()` writes it) in row order,
  COLLECT(limit=None) lists the values in row order, at most `limit` of them;
- a bad spec (no group_by, no aggregations, unknown operation or column, duplicate output
  name, SUM/AVG of a non-numeric column, bad params) raises TransformError before
  anything runs.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import polars as pl

from engine.errors import EngineError
from engine.rules.compile_sql import group_sql
from engine.rules.errors import RuleError
from engine.rules.model import Condition, ConditionGroup, group_from_data
from engine.rules.plan import prepare_group
from engine.rules.values import (
    KINDS,
    NUMERIC_KINDS,
    TEXT_KINDS,
    quote_ident,
    sql_is_blank,
    sql_str,
    sql_text,
    sql_text_or_empty,
)

OPS = ("COUNT", "COUNT DISTINCT", "COUNT_IF", "SUM", "MIN", "MAX", "AVG", "FIRST", "LAST", "CONCAT", "COLLECT")
MAX_COLLECT = 10_000
_ROW = "__transform_row"
_PARAMS = {"COUNT_IF": ("condition",), "CONCAT": ("separator",), "COLLECT": ("limit",)}


class TransformError(EngineError):
    """A transform spec that cannot run; the message says what to fix."""


@dataclass(frozen=True)
class Aggregation:
    """One output column: `op` over `field` (COUNT and COUNT_IF may omit it)."""

    op: str
    field: str | None = None
    output: str | None = None
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        params = {k: (v.to_dict() if isinstance(v, (Condition, ConditionGroup)) else v) for k, v in self.params.items()}
        return {"op": self.op, "field": self.field, "output": self.output, "params": params}


@dataclass(frozen=True)
class TransformSpec:
    """Group by these columns and compute these aggregations."""

    group_by: Sequence[str]
    aggregations: Sequence[Aggregation]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"group_by": list(self.group_by), "aggregations": [a.to_dict() for a in self.aggregations]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TransformSpec:
        """Build from `to_dict` output."""
        try:
            aggregations = [Aggregation(a["op"], a.get("field"), a.get("output"), dict(a.get("params") or {}))
                            for a in data.get("aggregations") or []]
            return cls(list(data.get("group_by") or []), aggregations)
        except (KeyError, TypeError, AttributeError):
            # The Python detail ("'NoneType' object is not subscriptable") helps nobody: say what is expected.
            raise TransformError("the group-by settings are malformed: every aggregation needs an operation and a "
                                 'field, as in {"group_by": [...], "aggregations": [{"op": ..., "field": ...}]}') from None


def canonical_op(op: str) -> str:
    """`count distinct`, `COUNT_DISTINCT` → `COUNT DISTINCT`; unknown → TransformError."""
    key = re.sub(r"[\s_]+", "_", str(op).strip().upper())
    names = {name.replace(" ", "_"): name for name in OPS}
    if key not in names:
        close = difflib.get_close_matches(key, list(names), n=1)
        hint = f"; did you mean {names[close[0]]!r}?" if close else ""
        raise TransformError(f"unknown aggregation {op!r}{hint} (aggregations: {', '.join(OPS)})")
    return names[key]


def kinds_of_frame(df: pl.DataFrame) -> dict[str, str]:
    """Column kinds from polars dtypes (anything unusual reads as text)."""
    kinds: dict[str, str] = {}
    for name, dtype in df.schema.items():
        if dtype == pl.Boolean:
            kinds[name] = "boolean"
        elif dtype.is_integer():
            kinds[name] = "integer"
        elif dtype.is_float() or dtype.is_decimal():
            kinds[name] = "decimal"
        elif dtype == pl.Date:
            kinds[name] = "date"
        elif isinstance(dtype, pl.Datetime):
            kinds[name] = "datetime"
        else:
            kinds[name] = "text"
    return kinds


def _unknown(name: Any, kinds: Mapping[str, str], what: str) -> TransformError:
    close = difflib.get_close_matches(str(name), list(kinds), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return TransformError(f"{what} uses unknown column {name!r}{hint}", field=str(name))


def _not_blank(column: str, kind: str) -> str:
    ref = quote_ident(column)
    if kind in TEXT_KINDS:
        return f"NOT {sql_is_blank(sql_text_or_empty(ref, kind))}"
    return f"{ref} IS NOT NULL"


def _aggregate_sql(agg: Aggregation, op: str, kinds: Mapping[str, str], label: str) -> str:
    params = dict(agg.params or {})
    unknown = [p for p in params if p not in _PARAMS.get(op, ())]
    if unknown:
        allowed = ", ".join(_PARAMS.get(op, ())) or "none"
        raise TransformError(f"{label}: unknown parameter {unknown[0]!r} (allowed: {allowed})")
    if op == "COUNT_IF":
        condition = params.get("condition")
        if condition is None:
            raise TransformError(f"{label}: COUNT_IF needs params.condition, e.g. "
                                 '{"field": "price", "operator": "greater_than", "value": 100}')
        if isinstance(condition, Condition):
            group = ConditionGroup("and", [condition])
        elif isinstance(condition, Mapping) and "operator" in condition:
            group = group_from_data({"logic": "and", "items": [condition]}, label, 1)
        else:
            group = group_from_data(condition, label, 1)
        return f"CAST(count_if({group_sql(prepare_group(group, kinds, label=label))}) AS BIGINT)"
    if agg.field is None:
        if op == "COUNT":
            return "count(*)"
        raise TransformError(f"{label}: {op} needs a field")
    if agg.field not in kinds:
        raise _unknown(agg.field, kinds, label)
    kind, ref = kinds[agg.field], quote_ident(agg.field)
    present = _not_blank(agg.field, kind)
    if op in ("SUM", "AVG") and kind not in NUMERIC_KINDS:
        raise TransformError(f"{label}: {op} needs a number column, but {agg.field!r} holds {kind} values",
                             field=agg.field)
    if op == "COUNT":
        return f"CAST(count_if({present}) AS BIGINT)"
    if op == "COUNT DISTINCT":
        return f"count(DISTINCT {ref}) FILTER (WHERE {present})"
    if op == "SUM":
        return f"CAST(sum({ref}) AS {'BIGINT' if kind == 'integer' else 'DOUBLE'})"
    if op == "AVG":
        return f"avg(CAST({ref} AS DOUBLE))"
    if op in ("MIN", "MAX"):
        return f"{op.lower()}({ref}) FILTER (WHERE {present})"
    if op in ("FIRST", "LAST"):
        return f"{'arg_min' if op == 'FIRST' else 'arg_max'}({ref}, {_ROW}) FILTER (WHERE {present})"
    if op == "CONCAT":
        separator = params.get("separator", ", ")
        if not isinstance(separator, str) or "\x00" in separator:
            raise TransformError(f"{label}: CONCAT's separator must be text")
        return f"string_agg({sql_text(ref, kind)}, {sql_str(separator)} ORDER BY {_ROW}) FILTER (WHERE {present})"
    limit = params.get("limit")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_COLLECT):
        raise TransformError(f"{label}: COLLECT's limit must be a whole number from 1 to {MAX_COLLECT}")
    listed = f"list({ref} ORDER BY {_ROW}) FILTER (WHERE {present})"
    return f"{listed}[1:{limit}]" if limit is not None else listed


def compile_transform(spec: TransformSpec, kinds: Mapping[str, str], source: str) -> str:
    """The GROUP BY SELECT over `source` (which must carry the row index column)."""
    for column, kind in kinds.items():
        if kind not in KINDS:
            raise TransformError(f"column {column!r} has unknown kind {kind!r}", field=column)
    if not spec.group_by or isinstance(spec.group_by, str):
        raise TransformError("group_by needs at least one column (a list of column names)")
    if not spec.aggregations:
        raise TransformError("add at least one aggregation (e.g. COUNT)")
    outputs: list[str] = []
    keys: list[str] = []
    for column in spec.group_by:
        if column not in kinds:
            raise _unknown(column, kinds, "group_by")
        if column in outputs:
            raise TransformError(f"group_by lists {column!r} twice", field=column)
        outputs.append(column)
        ref = quote_ident(column)
        kind = kinds[column]
        keys.append(f"CASE WHEN {_not_blank(column, kind)} THEN {ref} END" if kind in TEXT_KINDS else ref)
    selects = [f"{key} AS {quote_ident(column)}" for key, column in zip(keys, spec.group_by)]
    for number, agg in enumerate(spec.aggregations, start=1):
        if not isinstance(agg, Aggregation):
            raise TransformError(f"aggregation {number} must be an Aggregation")
        op = canonical_op(agg.op)
        output = agg.output or (op.lower().replace(" ", "_") + (f"_{agg.field}" if agg.field else ""))
        label = f"aggregation {number} ({op} → {output})"
        if output in outputs:
            raise TransformError(f"{label}: the output name {output!r} is used twice; rename one", field=output)
        if output.startswith("__"):
            raise TransformError(f"{label}: output names starting with '__' are reserved", field=output)
        outputs.append(output)
        try:
            selects.append(f"{_aggregate_sql(agg, op, kinds, label)} AS {quote_ident(output)}")
        except RuleError as exc:
            raise TransformError(exc.message, field=exc.field) from None
    group = ", ".join(str(n) for n in range(1, len(keys) + 1))
    return f"SELECT {', '.join(selects)} FROM {source} GROUP BY {group} ORDER BY min({_ROW})"


def group_by(df: pl.DataFrame, spec: TransformSpec, *, schema: Mapping[str, str] | None = None) -> pl.DataFrame:
    """Group `df` and aggregate per `spec`; kinds come from `schema` or the dtypes."""
    kinds = kinds_of_frame(df)
    kinds.update({k: v for k, v in (schema or {}).items() if k in kinds})
    sql = compile_transform(spec, kinds, "__transform_source")
    con = duckdb.connect()
    try:
        con.register("__transform_source", df.with_row_index(_ROW))
        return con.sql(sql).pl()
    except duckdb.Error as exc:
        raise TransformError(f"the transform could not run: {exc}") from None
    finally:
        con.close()
