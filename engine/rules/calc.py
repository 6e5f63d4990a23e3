"""Arithmetic for the `calculate` action: parsed with `ast`, whitelisted, never `eval`-ed.

Grammar: numbers, column names (dotted ones too: `item.pricing.msrp`; or `row["Any Name"]`),
`+ - * / %`, unary `-`/`+`,
parentheses, `abs(x)`, `round(x)` / `round(x, n)` (n a literal 0–10), `min(a, b, ...)`,
`max(a, b, ...)`. Anything else (`**`, attributes, calls to other names, lambdas,
comparisons, strings…) is refused with a message before anything runs.

Semantics, identical per row and in SQL: every value is a double; a column reads as its
number (`values.to_number`: text columns when they hold a plain decimal), else null; any
null operand makes the result null; `x / 0` and `x % 0` are null; `%` keeps the sign of
the dividend (C `fmod`, as in SQL, unlike Python's `%`); `round` rounds half away from
zero after scaling by 10ⁿ (`round(2.5)` = 3, `round(-93.05, 1)` = -93.1); `min`/`max`
skip nulls; a result that is not finite (overflow) is null, and `-0.0` becomes `0.0`.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.rules.values import (
    NUMERIC_KINDS,
    TEXT_KINDS,
    sql_num,
    sql_number,
    to_number,
)

MAX_EXPRESSION_LENGTH = 500
MAX_NODES = 200
MAX_ROUND_DIGITS = 10
FUNCTIONS = ("abs", "round", "min", "max")
_ALLOWED_HINT = "use numbers, column names, + - * / %, parentheses and abs/round/min/max"


class CalcError(ValueError):
    """An expression the calculator refuses; the message says what to change."""


@dataclass(frozen=True)
class Num:
    value: float


@dataclass(frozen=True)
class Col:
    name: str


@dataclass(frozen=True)
class Neg:
    operand: Expr


@dataclass(frozen=True)
class Bin:
    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Call:
    fn: str
    args: tuple[Expr, ...]
    digits: int = 0


Expr = Num | Col | Neg | Bin | Call

_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Mod: "%"}
_REFUSED = {
    ast.Pow: "`**` (power) is not supported",
    ast.FloorDiv: "`//` is not supported; use round(a / b)",
    ast.Attribute: "attribute access (`.name`) is not allowed (a dotted column is written item.brand)",
    ast.Lambda: "lambda is not allowed",
    ast.Compare: "comparisons are not allowed in a calculation; use a rule condition",
    ast.BoolOp: "and/or are not allowed in a calculation; use a rule condition",
    ast.IfExp: "if/else is not allowed in a calculation; use a rule condition",
}


@dataclass(frozen=True)
class Expression:
    """A checked arithmetic expression over columns."""

    source: str
    tree: Expr

    @property
    def columns(self) -> frozenset[str]:
        """The columns the expression reads."""
        return frozenset(_columns(self.tree))

    def evaluate(self, row: Mapping[str, Any], kinds: Mapping[str, str]) -> float | None:
        """The value for one row (None for null)."""
        result = _eval(self.tree, row, kinds)
        return result + 0.0 if result is not None and math.isfinite(result) else None

    def to_sql(self, column: Callable[[str], str], kinds: Mapping[str, str]) -> str:
        """A DOUBLE SQL expression; `column` maps a name to its SQL reference."""
        body = _sql(self.tree, column, kinds)
        return f"(CASE WHEN isfinite({body}) THEN {body} + CAST(0 AS DOUBLE) END)"


def parse_expression(source: str, kinds: Mapping[str, str]) -> Expression:
    """Parse and check `source` against the columns in `kinds`; raises CalcError."""
    if not isinstance(source, str) or not source.strip():
        raise CalcError("the expression is empty; write e.g. price * 1.2")
    if len(source) > MAX_EXPRESSION_LENGTH:
        raise CalcError(f"the expression is {len(source)} characters long; the limit is {MAX_EXPRESSION_LENGTH}")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise CalcError(f"the expression is not valid arithmetic ({exc.msg}, column {exc.offset})") from None
    except (RecursionError, MemoryError, ValueError):
        raise CalcError("the expression is nested too deeply") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise CalcError(f"the expression has more than {MAX_NODES} parts; split it into several calculations")
    return Expression(source, _convert(tree.body, kinds))


def _convert(node: ast.AST, kinds: Mapping[str, str]) -> Expr:
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise CalcError(f"{value!r} is not a number; {_ALLOWED_HINT}")
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise CalcError(f"the number {value!r} is too large")
        return Num(number)
    if isinstance(node, ast.Name):
        return _column(node.id, kinds)
    if isinstance(node, ast.Attribute):
        name = _dotted(node)
        if name not in kinds and not any("." in column for column in kinds):
            raise CalcError(f"{_REFUSED[ast.Attribute]}; {_ALLOWED_HINT}")
        return _column(name, kinds)
    if isinstance(node, ast.Subscript):
        if (isinstance(node.value, ast.Name) and node.value.id == "row" and isinstance(node.slice, ast.Constant)
                and isinstance(node.slice.value, str)):
            return _column(node.slice.value, kinds)
        raise CalcError('only row["Column Name"] may use brackets')
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = _convert(node.operand, kinds)
        return Neg(operand) if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp):
        symbol = _BINOPS.get(type(node.op))
        if symbol is None:
            raise CalcError(_REFUSED.get(type(node.op), f"the operator {type(node.op).__name__} is not allowed")
                            + f"; {_ALLOWED_HINT}")
        return Bin(symbol, _convert(node.left, kinds), _convert(node.right, kinds))
    if isinstance(node, ast.Call):
        return _call(node, kinds)
    reason = _REFUSED.get(type(node), f"{type(node).__name__} is not allowed")
    raise CalcError(f"{reason}; {_ALLOWED_HINT}")


def _dotted(node: ast.Attribute) -> str:
    """`item.pricing.msrp` (a flattened JSON column) as its name; `row.item.brand` reads `item.brand` too."""
    parts: list[str] = []
    current: ast.AST = node
    while isinstance(current, ast.Attribute):
        parts.append(current.attr)
        current = current.value
    if not isinstance(current, ast.Name):
        raise CalcError(f"{_REFUSED[ast.Attribute]}; {_ALLOWED_HINT}")
    parts.append(current.id)
    path = parts[::-1]
    return ".".join(path[1:] if path[0] == "row" and len(path) > 2 else path)  # as templates read it


def _column(name: str, kinds: Mapping[str, str]) -> Col:
    if name not in kinds:
        import difflib

        close = difflib.get_close_matches(name, list(kinds), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise CalcError(f"unknown column {name!r}{hint}")
    if kinds[name] not in NUMERIC_KINDS | TEXT_KINDS:
        raise CalcError(f"column {name!r} holds {kinds[name]} values, which are not numbers")
    return Col(name)


def _call(node: ast.Call, kinds: Mapping[str, str]) -> Call:
    if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
        raise CalcError(f"only the functions {', '.join(FUNCTIONS)} can be called")
    fn = node.func.id
    if node.keywords or any(isinstance(arg, ast.Starred) for arg in node.args):
        raise CalcError(f"{fn}() takes plain positional arguments")
    args = node.args
    if fn == "abs" and len(args) != 1:
        raise CalcError("abs() takes one argument")
    if fn in ("min", "max") and not 2 <= len(args) <= 20:
        raise CalcError(f"{fn}() takes 2 to 20 arguments")
    digits = 0
    if fn == "round":
        if len(args) not in (1, 2):
            raise CalcError("round() takes a value and optionally a number of digits")
        if len(args) == 2:
            arg = args[1]
            if (not isinstance(arg, ast.Constant) or isinstance(arg.value, bool) or not isinstance(arg.value, int)
                    or not 0 <= arg.value <= MAX_ROUND_DIGITS):
                raise CalcError(f"round()'s digits must be a whole number from 0 to {MAX_ROUND_DIGITS}")
            digits = arg.value
        args = args[:1]
    return Call(fn, tuple(_convert(arg, kinds) for arg in args), digits)


def _columns(node: Expr) -> list[str]:
    if isinstance(node, Col):
        return [node.name]
    if isinstance(node, Neg):
        return _columns(node.operand)
    if isinstance(node, Bin):
        return _columns(node.left) + _columns(node.right)
    if isinstance(node, Call):
        return [name for arg in node.args for name in _columns(arg)]
    return []


# --- per-row evaluation (IEEE doubles, mirroring DuckDB) -------------------------------

def _std_round(y: float) -> float:
    """C `round()`: half away from zero."""
    if not math.isfinite(y) or abs(y) >= 2.0 ** 52:
        return y
    a = abs(y)
    f = math.floor(a)
    return math.copysign(f + 1.0 if a - f >= 0.5 else float(f), y)


def _fmod(a: float, b: float) -> float:
    """C `fmod()` including its inf/nan cases."""
    if math.isnan(a) or math.isnan(b) or math.isinf(a):
        return math.nan
    if math.isinf(b):
        return a
    return math.fmod(a, b)


def _eval(node: Expr, row: Mapping[str, Any], kinds: Mapping[str, str]) -> float | None:
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Col):
        return to_number(row.get(node.name), kinds[node.name])
    if isinstance(node, Neg):
        value = _eval(node.operand, row, kinds)
        return None if value is None else -value
    if isinstance(node, Bin):
        a, b = _eval(node.left, row, kinds), _eval(node.right, row, kinds)
        if a is None or b is None:
            return None
        if node.op == "+":
            return a + b
        if node.op == "-":
            return a - b
        if node.op == "*":
            return a * b
        if b == 0:
            return None
        return a / b if node.op == "/" else _fmod(a, b)
    values = [_eval(arg, row, kinds) for arg in node.args]
    if node.fn in ("min", "max"):
        present = [v for v in values if v is not None]
        if not present:
            return None
        if any(math.isnan(v) for v in present):  # DuckDB orders NaN above every number
            ordinary = [v for v in present if not math.isnan(v)]
            return min(ordinary) if node.fn == "min" and ordinary else math.nan
        return min(present) if node.fn == "min" else max(present)
    value = values[0]
    if value is None:
        return None
    if node.fn == "abs":
        return abs(value)
    if node.digits == 0:
        return _std_round(value)
    scale = 10.0 ** node.digits
    return _std_round(value * scale) / scale


# --- SQL ----------------------------------------------------------------------------

def _sql(node: Expr, column: Callable[[str], str], kinds: Mapping[str, str]) -> str:
    if isinstance(node, Num):
        return sql_num(node.value)
    if isinstance(node, Col):
        number = sql_number(column(node.name), kinds[node.name])
        return number if number is not None else "CAST(NULL AS DOUBLE)"
    if isinstance(node, Neg):
        return f"(- {_sql(node.operand, column, kinds)})"
    if isinstance(node, Bin):
        a, b = _sql(node.left, column, kinds), _sql(node.right, column, kinds)
        if node.op == "/":
            return f"({a} / nullif({b}, CAST(0 AS DOUBLE)))"
        if node.op == "%":
            return f"({a} % nullif({b}, CAST(0 AS DOUBLE)))"  # DuckDB % on doubles is C fmod
        return f"({a} {node.op} {b})"
    args = [_sql(arg, column, kinds) for arg in node.args]
    if node.fn in ("min", "max"):
        return f"{'least' if node.fn == 'min' else 'greatest'}({', '.join(args)})"
    if node.fn == "abs":
        return f"abs({args[0]})"
    if node.digits == 0:
        return f"round({args[0]})"
    scale = sql_num(10.0 ** node.digits)
    return f"(round({args[0]} * {scale}) / {scale})"
