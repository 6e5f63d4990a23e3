"""The template filters as Python: what a per-row render runs, and the meaning the SQL must match.

Every filter prints a null (None) as the empty string and any other value the way `{{ value }}`
prints it (`str(value)`): floats as Python's repr ("107.52", "1e+16"), booleans "True"/"False",
dates ISO ("2024-01-08"), datetimes `str(datetime)` ("2024-01-08 10:00:00").
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import Any

from jinja2 import Undefined

from engine.templates.errors import TemplateError
from engine.templates.limits import MAX_DECIMALS, MAX_STRING_CHARS, too_big
from engine.templates.unicode_tables import WHITESPACE

CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}
"""Codes printed as a leading symbol ($1,234.50); any other code prints as "1,234.50 CODE"."""

WORD_SEPARATORS = "-({[<" + WHITESPACE
"""`title` starts a new word after any run of these (Jinja's rule, with Unicode whitespace)."""

_WORD_SPLIT = re.compile("([" + re.escape(WORD_SEPARATORS) + "]+)")
_SLUG_JUNK = re.compile(r"[^a-z0-9]+")
_SLUG_LETTERS = str.maketrans({"ß": "ss", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "œ": "oe", "Œ": "OE",
                               "đ": "d", "Đ": "D", "ł": "l", "Ł": "L", "þ": "th", "Þ": "TH", "ð": "d", "Ð": "D"})

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

DATE_DIRECTIVES: dict[str, Any] = {
    "Y": lambda d: f"{d.year:04d}",
    "y": lambda d: f"{d.year % 100:02d}",
    "m": lambda d: f"{d.month:02d}",
    "-m": lambda d: str(d.month),
    "d": lambda d: f"{d.day:02d}",
    "-d": lambda d: str(d.day),
    "H": lambda d: f"{_clock(d)[0]:02d}",
    "-H": lambda d: str(_clock(d)[0]),
    "I": lambda d: f"{(_clock(d)[0] % 12) or 12:02d}",
    "-I": lambda d: str((_clock(d)[0] % 12) or 12),
    "M": lambda d: f"{_clock(d)[1]:02d}",
    "-M": lambda d: str(_clock(d)[1]),
    "S": lambda d: f"{_clock(d)[2]:02d}",
    "-S": lambda d: str(_clock(d)[2]),
    "f": lambda d: f"{_clock(d)[3]:06d}",
    "p": lambda d: "AM" if _clock(d)[0] < 12 else "PM",
    "B": lambda d: MONTHS[d.month - 1],
    "b": lambda d: MONTHS[d.month - 1][:3],
    "A": lambda d: WEEKDAYS[d.weekday()],
    "a": lambda d: WEEKDAYS[d.weekday()][:3],
    "j": lambda d: f"{d.timetuple().tm_yday:03d}",
    "%": lambda d: "%",
}
"""The `date` pattern directives (strftime's, English names, no locale); DuckDB's strftime agrees."""

_DIRECTIVE = re.compile(r"%(-?[A-Za-z%]?)")


def _clock(d: date) -> tuple[int, int, int, int]:
    if isinstance(d, datetime):
        return d.hour, d.minute, d.second, d.microsecond
    return 0, 0, 0, 0


def as_text(value: Any) -> str:
    """What `{{ value }}` prints: '' for null, else `str(value)` (a missing value raises)."""
    if value is None:
        return ""
    return str(value)


def _number(value: Any) -> float | None:
    """The value as a float when it is a number (booleans are not), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def check_decimals(decimals: Any) -> int:
    """`decimals` must be a whole number from 0 to MAX_DECIMALS."""
    if isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= MAX_DECIMALS:
        raise TemplateError(f"decimals must be a whole number from 0 to {MAX_DECIMALS}, not {decimals!r}")
    return decimals


def check_length(length: Any) -> int:
    """`truncate`'s length must be a whole number, 0 or more."""
    if isinstance(length, bool) or not isinstance(length, int) or length < 0:
        raise TemplateError(f"truncate needs a whole number of characters (0 or more), not {length!r}")
    return length


def check_date_pattern(pattern: Any) -> str:
    """The pattern must be text whose `%` directives are all in DATE_DIRECTIVES."""
    if not isinstance(pattern, str):
        raise TemplateError(f"date needs a pattern such as \"%Y-%m-%d\", not {pattern!r}")
    for match in _DIRECTIVE.finditer(pattern):
        if match.group(1) not in DATE_DIRECTIVES:
            known = " ".join("%" + k for k in DATE_DIRECTIVES)
            raise TemplateError(f"date pattern {pattern!r}: unknown directive %{match.group(1)} (use {known})")
    return pattern


def format_date(value: date, pattern: str) -> str:
    """Apply a checked `date` pattern to a date or datetime."""
    return _DIRECTIVE.sub(lambda m: DATE_DIRECTIVES[m.group(1)](value), pattern)


def fixed(number: float, decimals: int) -> str:
    """1234.5 → "1,234.50": thousands separators, round half to even on the exact binary value."""
    return format(number, f",.{decimals}f")


# ---- the filters ---------------------------------------------------------------------------

def upper(value: Any) -> str:
    """Upper case, Unicode-complete (ß → SS)."""
    return as_text(value).upper()


def lower(value: Any) -> str:
    """Lower case, Unicode-complete (final sigma, İ → i̇)."""
    return as_text(value).lower()


def capitalize(value: Any) -> str:
    """First character upper case, the rest lower case."""
    s = as_text(value)
    return s[:1].upper() + s[1:].lower()


def title(value: Any) -> str:
    """Every word capitalized; words start after whitespace, '-', '(', '{', '[' or '<'."""
    return "".join(w[:1].upper() + w[1:].lower() for w in _WORD_SPLIT.split(as_text(value)) if w)


def trim(value: Any) -> str:
    """Leading and trailing whitespace removed (Unicode whitespace included)."""
    return as_text(value).strip()


def truncate(value: Any, length: int = 255, suffix: Any = "...") -> str:
    """Keep `length` characters, drop trailing whitespace, add `suffix` only when cut."""
    n = check_length(length)
    s = as_text(value)
    if len(s) <= n:
        return s
    return s[:n].rstrip() + as_text(suffix)


EMPTY_REPLACE = ("the text to search for in `replace` is empty (the replacement would go between every character); "
                 "give the text to replace, e.g. replace(\"-\", \" \")")


def replace(value: Any, old: Any, new: Any) -> str:
    """Every `old` replaced by `new`."""
    s, a, b = as_text(value), as_text(old), as_text(new)
    if not a:  # Python would put `new` between every character
        raise TemplateError(EMPTY_REPLACE)
    hits = s.count(a)
    if len(s) + hits * (len(b) - len(a)) > MAX_STRING_CHARS:
        raise TemplateError(too_big("replace"))
    return s.replace(a, b)


def default(value: Any, text: Any = "", boolean: bool = False) -> Any:
    """`text` when the value is missing, null or empty (with boolean=true: any falsy value)."""
    if isinstance(value, Undefined) or value is None:
        return text
    if isinstance(value, str) and value == "":
        return text
    if boolean and not value:
        return text
    return value


def currency(value: Any, code: Any = "USD") -> str:
    """A number as money: $1,234.50, €1,234.50, £1,234.50, else "1,234.50 CODE"."""
    unit = as_text(code).upper()
    number = _number(value)
    if number is None:
        return as_text(value)
    body = fixed(number, 2)
    symbol = CURRENCY_SYMBOLS.get(unit)
    if symbol is None:
        return f"{body} {unit}"
    return "-" + symbol + body[1:] if body.startswith("-") else symbol + body


def number(value: Any, decimals: int = 0) -> str:
    """A number with thousands separators and `decimals` decimals: 1,234.50."""
    d = check_decimals(decimals)
    n = _number(value)
    return as_text(value) if n is None else fixed(n, d)


def percent(value: Any, decimals: int = 1) -> str:
    """A ratio as a percentage: 0.156 → 15.6%."""
    d = check_decimals(decimals)
    n = _number(value)
    return as_text(value) if n is None else fixed(n * 100, d) + "%"


def date_(value: Any, pattern: str = "%Y-%m-%d") -> str:
    """A date or datetime (or ISO text) formatted with `pattern`; anything else printed as is."""
    fmt = check_date_pattern(pattern)
    if isinstance(value, str):
        try:
            parsed: date = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
        except ValueError:
            return value
        return format_date(parsed, fmt)
    if isinstance(value, date):
        return format_date(value, fmt)
    return as_text(value)


def slug(value: Any) -> str:
    """URL slug: accents folded to ASCII (ß → ss), lower case, runs of anything else become '-'."""
    spelled = as_text(value).translate(_SLUG_LETTERS)
    folded = unicodedata.normalize("NFKD", spelled).encode("ascii", "ignore").decode("ascii")
    return _SLUG_JUNK.sub("-", folded.lower()).strip("-")
