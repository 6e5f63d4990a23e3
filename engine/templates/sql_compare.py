"""Comparisons in SQL that give Python's answers, NaN, NULL and int/float mixes included.

Templates compare with Python semantics plus one rule of ours: an empty (null) value is
never less or greater than anything, so `{% if price > 100 %}` is simply false on a row
without a price instead of an error. `==`/`!=` keep Python's meaning (None == None).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from engine.templates.sql_values import (
    BOOLEAN,
    DATE,
    DATETIME,
    DECIMAL,
    EXACT_FLOAT_INT,
    INTEGER,
    MIXED,
    NULL,
    TEXT,
    Unsupported,
    Val,
    bool_val,
    constant,
    is_null,
    truth,
)

SQL_OPS = {"eq": "=", "ne": "<>", "lt": "<", "lteq": "<=", "gt": ">", "gteq": ">="}
_FLIP = {"eq": "eq", "ne": "ne", "lt": "gt", "gt": "lt", "lteq": "gteq", "gteq": "lteq"}
_ORDER: dict[str, Callable[[Any, Any], Any]] = {
    "lt": operator.lt, "lteq": operator.le, "gt": operator.gt, "gteq": operator.ge}
_INT64 = (-(2 ** 63), 2 ** 63 - 1)
_GROUP = {INTEGER: "number", DECIMAL: "number", BOOLEAN: "number", TEXT: "text", DATE: "date",
          DATETIME: "datetime"}


def py_compare(op: str, left: Any, right: Any) -> Any:
    """One template comparison as the per-row render runs it."""
    if op == "eq":
        return left == right
    if op == "ne":
        return left != right
    if op == "in":
        return left in right
    if op == "notin":
        return left not in right
    if left is None or right is None:
        return False
    return _ORDER[op](left, right)


def _plain(op: str, x: str, y: str, nullable: bool) -> str:
    if not nullable:
        return f"({x} {SQL_OPS[op]} {y})"
    if op == "eq":
        return f"({x} IS NOT DISTINCT FROM {y})"
    if op == "ne":
        return f"({x} IS DISTINCT FROM {y})"
    return f"COALESCE({x} {SQL_OPS[op]} {y}, FALSE)"


def _not_null(v: Val) -> Val:
    return bool_val(f"({v.sql} IS NOT NULL)") if v.nullable else constant(True)


def _int_vs_exact(op: str, x: Val, q: Fraction | float) -> Val:
    """An integer column against an exact number (Python compares int and float exactly)."""
    if isinstance(q, float):  # ±inf
        below = q > 0          # every integer is below +inf
        if op in ("lt", "lteq"):
            return _not_null(x) if below else constant(False)
        if op in ("gt", "gteq"):
            return constant(False) if below else _not_null(x)
        return constant(op == "ne")
    if op in ("eq", "ne"):
        if q.denominator != 1 or not _INT64[0] <= q.numerator <= _INT64[1]:
            return constant(op == "ne")
        return bool_val(_plain(op, x.sql, str(q.numerator), x.nullable))
    bound = math.ceil(q) if op in ("lt", "gteq") else math.floor(q)
    if bound > _INT64[1]:
        return _not_null(x) if op in ("lt", "lteq") else constant(False)
    if bound < _INT64[0]:
        return constant(False) if op in ("lt", "lteq") else _not_null(x)
    return bool_val(_plain(op, x.sql, f"CAST({bound} AS BIGINT)", x.nullable))


def _decimals(op: str, x: Val, y: Val) -> Val:
    """Doubles: DuckDB treats NaN as equal to itself and above everything; Python does not."""
    if any(v.is_const and math.isnan(v.const) for v in (x, y)):
        return constant(op == "ne")
    nan_x = [] if x.is_const else [f"isnan({x.sql})"]
    nan_y = [] if y.is_const else [f"isnan({y.sql})"]
    if op in ("eq", "ne"):
        guard = f" AND NOT COALESCE({nan_x[0]}, FALSE)" if nan_x else ""
        eq = f"(({x.sql} IS NOT DISTINCT FROM {y.sql}){guard})"
        return bool_val(eq if op == "eq" else f"(NOT {eq})")
    guards = "".join(f" AND NOT {g}" for g in nan_x + nan_y)
    return bool_val(f"COALESCE({x.sql} {SQL_OPS[op]} {y.sql}{guards}, FALSE)")


def _as_int(v: Val) -> Val:
    if v.kind != BOOLEAN:
        return v
    if v.is_const:
        return constant(int(v.const))
    return Val(INTEGER, f"CAST({v.sql} AS BIGINT)", nullable=v.nullable)


def _numbers(op: str, a: Val, b: Val) -> Val:
    a, b = _as_int(a), _as_int(b)
    if a.kind == INTEGER and b.kind == INTEGER:
        if b.is_const:
            return _int_vs_exact(op, a, Fraction(b.const))
        return bool_val(_plain(op, a.sql, b.sql, a.nullable or b.nullable))
    if a.kind == INTEGER and b.is_const:  # integer column, float constant
        f = b.const
        if math.isnan(f):
            return constant(op == "ne")
        return _int_vs_exact(op, a, f if math.isinf(f) else Fraction(f))
    if a.kind == DECIMAL and b.kind == INTEGER and b.is_const:
        if abs(b.const) > EXACT_FLOAT_INT:
            raise Unsupported("comparing a decimal with an integer beyond 2**53")
        return _decimals(op, a, constant(float(b.const)))
    if a.kind == DECIMAL and b.kind == DECIMAL:
        return _decimals(op, a, b)
    raise Unsupported("comparing an integer column with a decimal column")


def compare(op: str, a: Val, b: Val) -> Val:
    """`a <op> b` (op: eq ne lt lteq gt gteq) as a non-null BOOLEAN, or a constant."""
    if a.kind == MIXED or b.kind == MIXED:
        raise Unsupported("comparing a value whose type varies by row (an `or`/`default` result)")
    if a.is_const and b.is_const:
        try:
            return constant(bool(py_compare(op, a.const, b.const)))
        except Exception as exc:
            raise Unsupported(f"comparing {a.const!r} with {b.const!r}: {exc}") from exc
    if a.is_const:
        a, b, op = b, a, _FLIP[op]
    if a.kind == NULL or b.kind == NULL:
        other = b if a.kind == NULL else a
        if op == "eq":
            return bool_val(is_null(other))
        if op == "ne":
            return bool_val(f"(NOT {is_null(other)})")
        return constant(False)
    group_a, group_b = _GROUP[a.kind], _GROUP[b.kind]
    if group_a != group_b:
        if op in ("eq", "ne"):  # different types are never equal, but None == None
            if not (a.nullable and b.nullable):
                return constant(op == "ne")
            both_null = f"({a.sql} IS NULL AND {b.sql} IS NULL)"
            return bool_val(both_null if op == "eq" else f"(NOT {both_null})")
        raise Unsupported(f"comparing {a.kind} with {b.kind} (Python raises an error for that)")
    if group_a == "number":
        return _numbers(op, a, b)
    return bool_val(_plain(op, a.sql, b.sql, a.nullable or b.nullable))


def in_list(a: Val, items: list[Any], negate: bool) -> Val:
    """`a in [literal, ...]` (or `not in`): Python's membership, one `==` per item."""
    if a.is_const:
        try:
            hit = a.const in items
        except Exception as exc:
            raise Unsupported(f"membership test: {exc}") from exc
        return constant(hit != negate)
    tests = [compare("eq", a, constant(item)) for item in items]
    if any(t.is_const and t.const for t in tests):
        return constant(not negate)
    sqls = [truth(t) for t in tests if not t.is_const]
    if not sqls:
        return constant(negate)
    joined = "(" + " OR ".join(sqls) + ")"
    return bool_val(f"(NOT {joined})" if negate else joined)
