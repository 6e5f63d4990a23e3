"""Built-in actions that write a data column: set_field, modify_field, calculate, lookup.

All read the modified-so-far row (actions chain). A null cell reads as '' when used as
text. set_field / modify_field / lookup make their column text for every row (unchanged
rows hold the `str()` of their value, nulls stay null); calculate makes its column
decimal (text wins when both kinds of action write the same column).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.rules.actions import (
    ActionSpec,
    Assignment,
    FieldChange,
    Join,
    ListEvent,
    Param,
    PrepareContext,
    PreparedAction,
    RowState,
    SqlContext,
    TextValue,
    register_action,
)
from engine.rules.calc import Expression, parse_expression
from engine.rules.regex import SafePattern, compile_pattern
from engine.rules.values import sql_str, sql_text, sql_text_or_empty, to_text

MAX_LOOKUP_PAIRS = 100_000
MAX_INLINE_PAIRS = 32  # above this a lookup joins a relation instead of scanning a MAP per row


def _store(state: RowState, column: str, value: Any, action: str) -> list[FieldChange]:
    before = state.row.get(column)
    state.row[column] = value
    return [FieldChange(action, column, before, value)]


class _SetField(PreparedAction):
    def __init__(self, column: str, value: TextValue) -> None:
        self.column, self.value = column, value

    def apply(self, state: RowState) -> list[FieldChange]:
        return _store(state, self.column, self.value.render(state.row), "set_field")

    def sql(self, ctx: SqlContext) -> list[Assignment | ListEvent]:
        expr, reads = self.value.sql(ctx.kinds)
        return [Assignment(self.column, expr, reads)]


class SetFieldAction(ActionSpec):
    """Set a column to a value; `{{ variables }}` render against the modified-so-far row."""

    name = "set_field"
    label = "Set field"
    params = (Param("field", "new_field"), Param("value", "template"))
    writes_kind = "text"
    creates_columns = True

    def prepare(self, params: Mapping[str, Any], ctx: PrepareContext) -> PreparedAction:
        return _SetField(params["field"], TextValue(params["value"], ctx.kinds))


class _ModifyField(PreparedAction):
    def __init__(self, column: str, mode: str, value: TextValue, find: str | None,
                 pattern: SafePattern | None) -> None:
        self.column, self.mode, self.value, self.find, self.pattern = column, mode, value, find, pattern

    def apply(self, state: RowState) -> list[FieldChange]:
        current = state.row.get(self.column) or ""
        value = self.value.render(state.row)
        if self.mode == "append":
            after = current + value
        elif self.mode == "prepend":
            after = value + current
        elif self.pattern is not None:
            after = self.pattern.replace(current, value)
        else:
            assert self.find is not None
            after = current.replace(self.find, value)
        return _store(state, self.column, after, "modify_field")

    def sql(self, ctx: SqlContext) -> list[Assignment | ListEvent]:
        current = f"coalesce({ctx.column(self.column)}, '')"
        value, reads = self.value.sql(ctx.kinds)
        if self.mode == "append":
            expr = f"({current} || {value})"
        elif self.mode == "prepend":
            expr = f"({value} || {current})"
        elif self.pattern is not None:
            expr = self.pattern.sql_replace(current, value)
        else:
            assert self.find is not None
            expr = f"replace({current}, {sql_str(self.find)}, {value})"
        return [Assignment(self.column, expr, None if reads is None else reads | {self.column})]


class ModifyFieldAction(ActionSpec):
    """Append, prepend or replace (literally or by regex; case-sensitive) within a column."""

    name = "modify_field"
    label = "Modify field"
    params = (Param("field", "field"), Param("mode", "choice", choices=("append", "prepend", "replace")),
              Param("value", "template", required=False, default=""),
              Param("find", "text", required=False), Param("regex", "bool", required=False, default=False))
    writes_kind = "text"

    def check(self, params: dict[str, Any]) -> None:
        if params["mode"] == "replace":
            if not params["find"]:
                raise ValueError("mode 'replace' needs a non-empty 'find'")
            if params["regex"]:
                compile_pattern(params["find"], case_sensitive=True, for_replace=True)
        elif params["find"] is not None or params["regex"]:
            raise ValueError(f"'find' and 'regex' only apply to mode 'replace', not {params['mode']!r}")

    def prepare(self, params: Mapping[str, Any], ctx: PrepareContext) -> PreparedAction:
        pattern = None
        if params["mode"] == "replace" and params["regex"]:
            pattern = compile_pattern(params["find"], case_sensitive=True, for_replace=True)
        return _ModifyField(params["field"], params["mode"], TextValue(params["value"], ctx.kinds),
                            params["find"], pattern)


class _Calculate(PreparedAction):
    def __init__(self, column: str, expression: Expression, as_text: bool) -> None:
        self.column, self.expression, self.as_text = column, expression, as_text

    def apply(self, state: RowState) -> list[FieldChange]:
        result = self.expression.evaluate(state.row, state.kinds)
        value = to_text(result, "decimal") if self.as_text else result
        return _store(state, self.column, value, "calculate")

    def sql(self, ctx: SqlContext) -> list[Assignment | ListEvent]:
        expr = self.expression.to_sql(ctx.column, ctx.kinds)
        if self.as_text:
            expr = sql_text(expr, "decimal")
        return [Assignment(self.column, expr, self.expression.columns)]


class CalculateAction(ActionSpec):
    """Set a column to arithmetic over columns (see `calc`); the column becomes decimal."""

    name = "calculate"
    label = "Calculate"
    params = (Param("field", "new_field"), Param("expression", "expression"))
    writes_kind = "decimal"
    creates_columns = True

    def prepare(self, params: Mapping[str, Any], ctx: PrepareContext) -> PreparedAction:
        expression = parse_expression(params["expression"], ctx.kinds)
        return _Calculate(params["field"], expression, ctx.kinds[params["field"]] == "text")


class _Lookup(PreparedAction):
    def __init__(self, column: str, source: str, mapping: Mapping[str, str], default: str | None) -> None:
        self.column, self.source, self.mapping, self.default = column, source, mapping, default

    def apply(self, state: RowState) -> list[FieldChange]:
        key = to_text(state.row.get(self.source), state.kinds[self.source]) or ""
        value = self.mapping.get(key, self.default)
        return [] if value is None else _store(state, self.column, value, "lookup")

    def sql(self, ctx: SqlContext) -> list[Assignment | ListEvent]:
        key = sql_text_or_empty(ctx.column(self.source), ctx.kinds[self.source])
        fallback = sql_str(self.default) if self.default is not None else ctx.column(self.column)
        reads = frozenset({self.source, self.column})
        if not self.mapping:
            return [Assignment(self.column, fallback, reads)]
        if len(self.mapping) <= MAX_INLINE_PAIRS:  # a MAP literal: no join, but lookups scan it
            entries = ", ".join(f"{sql_str(k)}: {sql_str(v)}" for k, v in self.mapping.items())
            return [Assignment(self.column, f"coalesce(MAP {{{entries}}}[{key}], {fallback})", reads)]
        key_column, value_column = ctx.fresh("__lookup_key"), ctx.fresh("__lookup_value")
        relation = _relation(self.mapping, key_column, value_column)
        join = Join(relation, f"{key_column} = {key}", (key_column, value_column))
        return [Assignment(self.column, f"coalesce({value_column}, {fallback})", reads, join)]


def _relation(mapping: Mapping[str, str], key_column: str, value_column: str) -> str:
    """The pairs as a two-column relation (one string per column, split, when a separator is free)."""
    used = {ch for pair in mapping.items() for text in pair for ch in text if ch < " "}
    separator = next((chr(c) for c in range(31, 0, -1) if chr(c) not in used), None)
    if separator is None:
        rows = ", ".join(f"({sql_str(k)}, {sql_str(v)})" for k, v in mapping.items())
        return f"(VALUES {rows}) AS {key_column}_t({key_column}, {value_column})"
    keys, values = sql_str(separator.join(mapping)), sql_str(separator.join(mapping.values()))
    sep = f"chr({ord(separator)})"
    return (f"(SELECT unnest(string_split({keys}, {sep})) AS {key_column}, "
            f"unnest(string_split({values}, {sep})) AS {value_column})")


class LookupAction(ActionSpec):
    """Map a column's text through pairs or a named data set; `default` when not found.

    Keys match the source's text exactly (case-sensitive; null reads as ''). Without a
    default, a row whose key is not found keeps its value.
    """

    name = "lookup"
    label = "Look up"
    params = (Param("field", "new_field"), Param("source_field", "field"), Param("table", "table"),
              Param("default", "text", required=False))
    writes_kind = "text"
    creates_columns = True

    def check(self, params: dict[str, Any]) -> None:
        if not isinstance(params["table"], str):
            pairs_to_mapping(params["table"])

    def prepare(self, params: Mapping[str, Any], ctx: PrepareContext) -> PreparedAction:
        table, lookups = params["table"], ctx.lookups
        if isinstance(table, str) and lookups is None:
            mapping: dict[str, str] = {}
        elif isinstance(table, str):
            assert lookups is not None
            if table not in lookups:
                available = ", ".join(sorted(lookups)) or "none"
                raise ValueError(f"lookup data set {table!r} is not available (available: {available})")
            mapping = {str(k): str(v) for k, v in lookups[table].items()}
            if len(mapping) > MAX_LOOKUP_PAIRS:
                raise ValueError(f"lookup data set {table!r} has over {MAX_LOOKUP_PAIRS} keys")
        else:
            mapping = pairs_to_mapping(table)
        if any("\x00" in text for pair in mapping.items() for text in pair):
            raise ValueError("lookup keys and values must not hold NUL characters")
        return _Lookup(params["field"], params["source_field"], mapping, params["default"])


def pairs_to_mapping(pairs: Any) -> dict[str, str]:
    """Check a list of [key, value] pairs (text or numbers) and return it as a dict."""
    mapping: dict[str, str] = {}
    for index, pair in enumerate(pairs, start=1):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise ValueError(f"lookup pair {index} must be [key, value]")
        key, value = (_pair_text(part, index) for part in pair)
        if key in mapping:
            raise ValueError(f"lookup key {key!r} appears twice; keep one")
        mapping[key] = value
    if len(mapping) > MAX_LOOKUP_PAIRS:
        raise ValueError(f"a lookup table holds at most {MAX_LOOKUP_PAIRS} pairs")
    return mapping


def _pair_text(part: Any, index: int) -> str:
    if isinstance(part, bool) or not isinstance(part, (str, int, float)):
        raise TypeError(f"lookup pair {index} must hold text or numbers")
    return part if isinstance(part, str) else str(part)


for _spec in (SetFieldAction(), ModifyFieldAction(), CalculateAction(), LookupAction()):
    register_action(_spec)
