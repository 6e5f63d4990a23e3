"""How a cell reads as text and as a number, in Python and in DuckDB SQL, identically.

The rules engine compares, edits and stringifies cells in two places: per row in Python
(`apply_rules`) and compiled to DuckDB SQL (`compile_rules`). Every conversion both paths
need lives here, as a Python function next to the SQL expression that must agree with it:

- text: Python `str()` of the value (integers `"7"`, decimals `"100.0"` / `"1e+20"` /
  `"nan"`, booleans `"True"` / `"False"`, dates `"2024-05-01"`, datetimes
  `"2024-05-01 10:00:00"` with `.ffffff` only when there are microseconds); null is `None`
  (callers that need text read it as `''`).
- number: a double. Integer and decimal cells are numbers unless NaN or infinite; text
  cells are numbers when they are plain decimals (`"100"`, `" -3.5 "`, `".5"`, `"5."`: up
  to 30 digits either side of the point, optional sign, surrounding spaces; no exponent,
  thousands separator or `inf`), so `"1e2"` is text. Booleans, dates and datetimes are
  never numbers.
- folding for case-insensitive comparison: DuckDB `lower()`; Python mirrors it
  (`str.lower` plus the two characters where they differ: `İ` and context-dependent `Σ`).
- blank: null, or text made only of ASCII whitespace (space, tab, CR, LF, VT, FF).
"""

from __future__ import annotations

import math
import re
from typing import Any

KINDS = ("integer", "decimal", "boolean", "date", "datetime", "url", "email", "text")
TEXT_KINDS = frozenset({"text", "url", "email"})
NUMERIC_KINDS = frozenset({"integer", "decimal"})

_NUMBER = r"^ *[+-]?([0-9]{1,30}(\.[0-9]{0,30})?|\.[0-9]{1,30}) *$"
_NUMBER_RE = re.compile(_NUMBER)
_BLANK_CHARS = " \t\n\r\x0b\x0c"
_SQL_BLANK_CHARS = "(' ' || chr(9) || chr(10) || chr(13) || chr(11) || chr(12))"


def to_text(value: Any, kind: str) -> str | None:
    """The text of a cell of `kind`, as Python `str()` writes it; None stays None."""
    if value is None:
        return None
    if kind == "decimal":
        number = float(value)
        return "nan" if math.isnan(number) else repr(number)
    if kind == "integer" and not isinstance(value, bool):
        return str(int(value))
    if kind == "boolean" or isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else repr(value)
    return value if isinstance(value, str) else str(value)


def parse_number(text: str) -> float | None:
    """A plain decimal number written as text, else None."""
    return float(text) if _NUMBER_RE.match(text) else None


def to_number(value: Any, kind: str) -> float | None:
    """The finite double a cell of `kind` stands for, else None."""
    if value is None or isinstance(value, bool):
        return None
    if kind in NUMERIC_KINDS:
        number = float(value)
        return number if math.isfinite(number) else None
    if kind in TEXT_KINDS:
        return parse_number(to_text(value, kind) or "")
    return None


def fold(text: str) -> str:
    """Lower-case `text` exactly as DuckDB's `lower()` does."""
    return text.replace("\u0130", "i").replace("\u03a3", "\u03c3").lower()


def is_blank(text: str | None) -> bool:
    """Null or only ASCII whitespace."""
    return text is None or not text.strip(_BLANK_CHARS)


def coerce(value: Any, from_kind: str, to_kind: str) -> Any:
    """Convert a cell when the type rule changes its column's kind (to text or decimal)."""
    if value is None or from_kind == to_kind:
        return value
    if to_kind == "text":
        return to_text(value, from_kind)
    if to_kind == "decimal":
        if from_kind == "decimal":
            return float(value)
        return to_number(value, from_kind)
    raise ValueError(f"cannot convert {from_kind} to {to_kind}")


# --- SQL counterparts -------------------------------------------------------------------

def quote_ident(name: str) -> str:
    """A DuckDB identifier."""
    return '"' + name.replace('"', '""') + '"'


def sql_str(text: str) -> str:
    """A DuckDB string literal."""
    if "\x00" in text:
        raise ValueError("text holds a NUL character")
    return "'" + text.replace("'", "''") + "'"


def sql_num(number: float) -> str:
    """A DuckDB DOUBLE literal with exactly this value."""
    return f"CAST({sql_str(repr(float(number)))} AS DOUBLE)"


def sql_text(expr: str, kind: str) -> str:
    """SQL for `to_text` of `expr` (NULL stays NULL)."""
    if kind == "decimal":
        x = f"CAST({expr} AS DOUBLE)"
        return f"(CASE WHEN isnan({x}) THEN 'nan' ELSE CAST({x} AS VARCHAR) END)"
    if kind == "boolean":
        return f"(CASE WHEN {expr} THEN 'True' WHEN NOT {expr} THEN 'False' END)"
    if kind == "datetime":
        x = f"CAST({expr} AS TIMESTAMP)"
        return (f"(strftime({x}, '%Y-%m-%d %H:%M:%S') || CASE WHEN date_part('microseconds', {x})"
                f" % 1000000 <> 0 THEN strftime({x}, '.%f') ELSE '' END)")
    return f"CAST({expr} AS VARCHAR)"


def sql_text_or_empty(expr: str, kind: str) -> str:
    """SQL for the text of `expr` with NULL read as ''."""
    return f"coalesce({sql_text(expr, kind)}, '')"


def sql_parse_number(text_expr: str) -> str:
    """SQL for `parse_number` of a VARCHAR expression (NULL when not a number)."""
    return f"(CASE WHEN regexp_full_match({text_expr}, {sql_str(_NUMBER)}) THEN TRY_CAST({text_expr} AS DOUBLE) END)"


def sql_number(expr: str, kind: str) -> str | None:
    """SQL for `to_number`, or None when cells of `kind` are never numbers."""
    if kind in NUMERIC_KINDS:
        x = f"CAST({expr} AS DOUBLE)"
        return f"(CASE WHEN isfinite({x}) THEN {x} END)"
    if kind in TEXT_KINDS:
        return sql_parse_number(f"CAST({expr} AS VARCHAR)")
    return None


def sql_fold(expr: str) -> str:
    """SQL for `fold`."""
    return f"lower({expr})"


def sql_is_blank(text_expr: str) -> str:
    """SQL for `is_blank` of a VARCHAR expression that is never NULL."""
    return f"(trim({text_expr}, {_SQL_BLANK_CHARS}) = '')"


def sql_coerce(expr: str, from_kind: str, to_kind: str) -> str:
    """SQL for `coerce`."""
    if from_kind == to_kind:
        return expr
    if to_kind == "text":
        return sql_text(expr, from_kind)
    if to_kind == "decimal":
        if from_kind == "decimal":
            return f"CAST({expr} AS DOUBLE)"
        number = sql_number(expr, from_kind)
        return number if number is not None else "CAST(NULL AS DOUBLE)"
    raise ValueError(f"cannot convert {from_kind} to {to_kind}")


def sql_type(kind: str) -> str:
    """The DuckDB type a column of `kind` has after the type rule (text or decimal)."""
    return {"text": "VARCHAR", "decimal": "DOUBLE"}[kind]
