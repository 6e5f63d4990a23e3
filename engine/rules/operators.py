"""Condition operators: a registry of specs, each with a per-row evaluator and a SQL compiler.

Comparison semantics (identical in `evaluate` and `to_sql`; see `values` for text/number):
- case-insensitive unless the condition sets `case_sensitive` (folding = DuckDB `lower`);
- equals / not_equals / in / not_in compare as numbers when both the cell and the value
  are numbers (`"100"` equals `100`, `"1e2"` does not: exponents are text), else as text
  (a null cell reads as `''`, so `equals ""` matches empty cells);
- greater_than & co. compare numbers as numbers, anything else by text in code-point order
  (so ISO dates order correctly); a blank cell never satisfies them;
- contains / starts_with / ends_with work on the text; regex searches it (see `regex`);
- is_empty: null or only ASCII whitespace.
"""

from __future__ import annotations

import math
import operator as op
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.rules.regex import SafePattern, compile_pattern
from engine.rules.values import (
    KINDS,
    NUMERIC_KINDS,
    TEXT_KINDS,
    fold,
    is_blank,
    parse_number,
    sql_fold,
    sql_is_blank,
    sql_num,
    sql_number,
    sql_str,
    sql_text_or_empty,
    to_number,
    to_text,
)

ALL_KINDS = frozenset(KINDS)
ORDERED_KINDS = frozenset({"integer", "decimal", "date", "datetime", "text"})
MAX_LIST_VALUES = 1000


@dataclass(frozen=True)
class Cell:
    """A cell as conditions see it: its text ('' for null), number and blankness."""

    text: str
    number: float | None
    blank: bool


@dataclass(frozen=True)
class SqlCell:
    """SQL for a column's text (never NULL), number (or None) and blankness.

    `exact`: the number is NULL only when the cell is null (integer columns), which lets
    numeric comparisons skip the text fallback.
    """

    text: str
    number: str | None
    blank: str
    exact: bool = False


@dataclass(frozen=True)
class Operand:
    """A condition value: its text, comparison key (folded unless case-sensitive) and number."""

    text: str
    key: str
    number: float | None


def make_cell(value: Any, kind: str) -> Cell:
    """The `Cell` for a Python value of a column of `kind`."""
    text = to_text(value, kind) or ""
    return Cell(text, to_number(value, kind), is_blank(text))


def sql_cell(column: str, kind: str) -> SqlCell:
    """The `SqlCell` for a (quoted) column of `kind`."""
    text = sql_text_or_empty(column, kind)
    if kind == "integer":
        return SqlCell(text, f"CAST({column} AS DOUBLE)", f"({column} IS NULL)", exact=True)
    if kind in TEXT_KINDS:
        return SqlCell(text, sql_number(column, kind), sql_is_blank(text))
    return SqlCell(text, sql_number(column, kind), f"({column} IS NULL)")  # their text is never blank


def make_operand(value: Any, case_sensitive: bool) -> Operand:
    """Prepare a JSON scalar as a comparison operand."""
    if isinstance(value, bool):
        text, number = ("True" if value else "False"), None
    elif isinstance(value, int):
        text = str(value)
        try:
            number = float(value)
        except OverflowError:
            number = None
    elif isinstance(value, float):
        text = "nan" if math.isnan(value) else repr(value)
        number = value if math.isfinite(value) else None
    elif isinstance(value, str):
        text, number = value, parse_number(value)
    else:
        raise TypeError(f"the value must be text or a number, not {type(value).__name__}")
    if "\x00" in text:
        raise ValueError("the value holds a NUL character")
    return Operand(text, text if case_sensitive else fold(text), number)


def _key(text: str, case_sensitive: bool) -> str:
    return text if case_sensitive else fold(text)


def _sql_key(text: str, case_sensitive: bool) -> str:
    return text if case_sensitive else sql_fold(text)


@dataclass(frozen=True)
class OperatorSpec:
    """One operator: how to check its value, evaluate a row, and write SQL."""

    name: str
    label: str
    kinds: frozenset[str]  # column kinds the rule builder offers it for
    value: str  # "none" | "scalar" | "list" | "pattern"
    prepare: Callable[[Any, bool], Any]
    evaluate: Callable[[Cell, Any, bool], bool]
    to_sql: Callable[[SqlCell, Any, bool], str]
    compares_numbers: bool = False  # a number as the value compares numbers; cells that are not numbers never match


OPERATORS: dict[str, OperatorSpec] = {}


def register_operator(spec: OperatorSpec) -> OperatorSpec:
    """Add an operator to the registry (built-ins use this too)."""
    OPERATORS[spec.name] = spec
    return spec


# --- value preparation ---------------------------------------------------------------

def _prepare_scalar(value: Any, case_sensitive: bool) -> Operand:
    if value is None or isinstance(value, (list, dict)):
        raise ValueError("needs one value (text or a number)")
    return make_operand(value, case_sensitive)


def _prepare_text(value: Any, case_sensitive: bool) -> Operand:
    operand = _prepare_scalar(value, case_sensitive)
    if not operand.text:
        raise ValueError("needs a non-empty value")
    return operand


def _prepare_list(value: Any, case_sensitive: bool) -> tuple[Operand, ...]:
    if isinstance(value, str):
        items: list[Any] = [part.strip() for part in value.split(",") if part.strip()]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise TypeError("needs a list of values or comma-separated text")
    if not items:
        raise ValueError("needs at least one value")
    if len(items) > MAX_LIST_VALUES:
        raise ValueError(f"takes at most {MAX_LIST_VALUES} values")
    for number, item in enumerate(items, start=1):
        if not isinstance(item, (str, int, float)):
            raise TypeError(f"list item {number} must be text or a number")
    return tuple(make_operand(item, case_sensitive) for item in items)


def _prepare_none(value: Any, case_sensitive: bool) -> None:
    if value not in (None, ""):
        raise ValueError("takes no value")


def _prepare_pattern(value: Any, case_sensitive: bool) -> SafePattern:
    if not isinstance(value, str):
        raise TypeError("needs a regex pattern as text")
    return compile_pattern(value, case_sensitive=case_sensitive)


# --- built-in evaluators -------------------------------------------------------------

def _equals(cell: Cell, operand: Operand, cs: bool) -> bool:
    if operand.number is not None and cell.number is not None:
        return cell.number == operand.number
    return _key(cell.text, cs) == operand.key


def _equals_sql(cell: SqlCell, operand: Operand, cs: bool) -> str:
    text = f"({_sql_key(cell.text, cs)} = {sql_str(operand.key)})"
    if operand.number is not None and cell.number is not None:
        if cell.exact:  # a null cell reads as '', which no number's text equals
            return f"coalesce({cell.number} = {sql_num(operand.number)}, false)"
        return f"(CASE WHEN {cell.number} IS NOT NULL THEN {cell.number} = {sql_num(operand.number)} ELSE {text} END)"
    return text


def _in(cell: Cell, operands: tuple[Operand, ...], cs: bool) -> bool:
    return any(_equals(cell, operand, cs) for operand in operands)


def _in_sql(cell: SqlCell, operands: tuple[Operand, ...], cs: bool) -> str:
    key = _sql_key(cell.text, cs)
    numeric = [o for o in operands if o.number is not None] if cell.number is not None else []
    textual = [o for o in operands if o not in numeric]
    parts = []
    if numeric:
        numbers = ", ".join(sql_num(o.number) for o in numeric if o.number is not None)
        keys = ", ".join(sql_str(o.key) for o in numeric)
        parts.append(f"(CASE WHEN {cell.number} IS NOT NULL THEN {cell.number} IN ({numbers}) ELSE {key} IN ({keys}) END)")
    if textual:
        parts.append(f"({key} IN ({', '.join(sql_str(o.key) for o in textual)}))")
    return "(" + " OR ".join(parts) + ")"


def _ordering(compare: Callable[[Any, Any], bool], symbol: str) -> tuple[Callable[..., bool], Callable[..., str]]:
    # A number as the value makes the comparison numeric: a cell that is not a number ("N/A", a date) does
    # not match (it used to be compared as text, so "N/A" > 100). Text values still compare text.
    def evaluate(cell: Cell, operand: Operand, cs: bool) -> bool:
        if cell.blank:
            return False
        if operand.number is not None:
            return cell.number is not None and compare(cell.number, operand.number)
        return compare(_key(cell.text, cs), operand.key)

    def to_sql(cell: SqlCell, operand: Operand, cs: bool) -> str:
        if operand.number is not None:  # a blank or non-number cell has a NULL number
            return "false" if cell.number is None else f"coalesce({cell.number} {symbol} {sql_num(operand.number)}, false)"
        return f"(NOT {cell.blank} AND ({_sql_key(cell.text, cs)} {symbol} {sql_str(operand.key)}))"

    return evaluate, to_sql


def _text_op(python: Callable[[str, str], bool], sql_function: str) -> tuple[Callable[..., bool], Callable[..., str]]:
    def evaluate(cell: Cell, operand: Operand, cs: bool) -> bool:
        return python(_key(cell.text, cs), operand.key)

    def to_sql(cell: SqlCell, operand: Operand, cs: bool) -> str:
        return f"{sql_function}({_sql_key(cell.text, cs)}, {sql_str(operand.key)})"

    return evaluate, to_sql


def _negated(spec: OperatorSpec, name: str, label: str) -> OperatorSpec:
    return OperatorSpec(name, label, spec.kinds, spec.value, spec.prepare,
                        lambda cell, value, cs: not spec.evaluate(cell, value, cs),
                        lambda cell, value, cs: f"(NOT {spec.to_sql(cell, value, cs)})")


def _register_builtins() -> None:
    equals = register_operator(OperatorSpec("equals", "equals", ALL_KINDS, "scalar", _prepare_scalar, _equals,
                                            _equals_sql))
    register_operator(_negated(equals, "not_equals", "does not equal"))
    text_kinds = frozenset(TEXT_KINDS)
    for name, label, python, sql_function in (
            ("contains", "contains", lambda text, key: key in text, "contains"),
            ("starts_with", "starts with", lambda text, key: text.startswith(key), "starts_with"),
            ("ends_with", "ends with", lambda text, key: text.endswith(key), "ends_with")):
        evaluate, to_sql = _text_op(python, sql_function)
        spec = register_operator(OperatorSpec(name, label, text_kinds, "scalar", _prepare_text, evaluate, to_sql))
        if name == "contains":
            register_operator(_negated(spec, "not_contains", "does not contain"))
    for name, label, compare, symbol in (
            ("greater_than", "is greater than", op.gt, ">"),
            ("less_than", "is less than", op.lt, "<"),
            ("greater_than_or_equal", "is at least", op.ge, ">="),
            ("less_than_or_equal", "is at most", op.le, "<=")):
        evaluate, to_sql = _ordering(compare, symbol)
        register_operator(OperatorSpec(name, label, ORDERED_KINDS | NUMERIC_KINDS, "scalar", _prepare_text,
                                       evaluate, to_sql, compares_numbers=True))
    register_operator(OperatorSpec(
        "regex", "matches regex", text_kinds, "pattern", _prepare_pattern,
        lambda cell, pattern, cs: pattern.search(cell.text),
        lambda cell, pattern, cs: pattern.sql_search(cell.text)))
    in_spec = register_operator(OperatorSpec("in", "is one of", ALL_KINDS, "list", _prepare_list, _in, _in_sql))
    register_operator(_negated(in_spec, "not_in", "is none of"))
    empty = register_operator(OperatorSpec("is_empty", "is empty", ALL_KINDS, "none", _prepare_none,
                                           lambda cell, _v, _cs: cell.blank,
                                           lambda cell, _v, _cs: cell.blank))
    register_operator(_negated(empty, "is_not_empty", "is not empty"))


_register_builtins()
