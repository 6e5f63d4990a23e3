"""How a platform counts characters: code points, X's weighted length, Google's display width.

Each method has a Python measure and an equivalent DuckDB SQL expression; the two must agree
on every string (tests check them side by side). Truncation has a Python form for all methods
and a SQL form where one is simple enough.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from engine.errors import EngineError

__all__ = [
    "CountMethod",
    "get_count_method",
    "list_count_methods",
    "register_count_method",
]


@dataclass(frozen=True)
class CountMethod:
    """A way of measuring a string's length against a platform limit."""

    name: str
    unit: str
    description: str
    source: str
    measure: Callable[[str], int]
    measure_sql: Callable[[str], str]
    truncate: Callable[[str, int], str]
    truncate_sql: Callable[[str, int], str] | None = None
    per_byte: int = 1  # measure(s) <= per_byte * len(s.encode()): lets SQL skip measuring short values


_METHODS: dict[str, CountMethod] = {}


def register_count_method(method: CountMethod, *, replace: bool = False) -> CountMethod:
    """Add a counting method to the registry (built-ins register the same way)."""
    if method.name in _METHODS and not replace:
        raise EngineError(f"count method {method.name!r} is already registered")
    _METHODS[method.name] = method
    return method


def get_count_method(name: str) -> CountMethod:
    """Return a registered counting method by name."""
    try:
        return _METHODS[name]
    except KeyError:
        known = ", ".join(sorted(_METHODS))
        raise EngineError(f"unknown count method {name!r}; known: {known}") from None


TRUNCATE_STYLES = ("cut", "ellipsis", "word")
"""How a value over its limit is cut: a hard cut; a cut with an ellipsis within the limit; a cut at the last
word boundary with an ellipsis (at a character when one word is longer than the limit)."""
ELLIPSIS = "\u2026"


def shorten(method: CountMethod, text: str, limit: int, style: str = "cut") -> str:
    """`text` within `limit` as `method` counts, cut in `style` (TRUNCATE_STYLES); unchanged when it fits."""
    if style == "cut" or method.measure(text) <= limit:
        return method.truncate(text, limit)
    if style not in TRUNCATE_STYLES:
        raise EngineError(f"unknown truncate style {style!r}; use {', '.join(TRUNCATE_STYLES)}")
    room = limit - method.measure(ELLIPSIS)
    if room <= 0:
        return method.truncate(text, limit)
    cut = method.truncate(text, room)
    if style == "word" and len(cut) < len(text) and not text[len(cut)].isspace():
        boundary = max((i for i, ch in enumerate(cut) if ch.isspace()), default=-1)
        if boundary > 0:
            cut = cut[:boundary]
    return cut.rstrip() + ELLIPSIS


def list_count_methods() -> list[CountMethod]:
    """All registered counting methods, by name."""
    return [_METHODS[k] for k in sorted(_METHODS)]


def _py_class(ranges: tuple[tuple[int, int], ...]) -> str:
    return "".join(f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in ranges)


def _sql_class(ranges: tuple[tuple[int, int], ...]) -> str:
    return "".join(f"\\x{{{lo:x}}}-\\x{{{hi:x}}}" for lo, hi in ranges)


def _clip(text: str, limit: int, weight: Callable[[str], int]) -> str:
    """Longest prefix whose weight fits the limit, without trailing spaces."""
    total = 0
    for i, ch in enumerate(text):
        total += weight(ch)
        if total > limit:
            return text[:i].rstrip(" ")
    return text


# --- code points: Python len(), DuckDB length() --------------------------------------------

def _cp_truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit].rstrip(" ")


register_count_method(CountMethod(
    name="code_points",
    unit="characters",
    description="Unicode code points (an emoji is 1, a ZWJ sequence is several)",
    source="PLATFORM_LIMITS.md §1 'What counts as a character': Reddit VLength compares Python len()",
    measure=len,
    measure_sql=lambda expr: f"length({expr})",
    truncate=_cp_truncate,
    truncate_sql=lambda expr, n: f"CASE WHEN length({expr}) <= {n} THEN {expr} ELSE rtrim(left({expr}, {n})) END",
))


# --- X weighted length (twitter-text config v3) ---------------------------------------------

_X_LIGHT = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))
_X_URL_LEN = 23
_X_URL = r"(?i)https?://[^\x00-\x20]+"
_X_URL_RE = re.compile(_X_URL)
_X_LIGHT_RE = re.compile(f"[{_py_class(_X_LIGHT)}]")


def _x_weight(ch: str) -> int:
    cp = ord(ch)
    return 1 if any(lo <= cp <= hi for lo, hi in _X_LIGHT) else 2


def _x_measure(text: str) -> int:
    urls = len(_X_URL_RE.findall(text))
    rest = _X_URL_RE.sub("", text)
    return urls * _X_URL_LEN + len(rest) + len(_X_LIGHT_RE.sub("", rest))


def _x_measure_sql(expr: str) -> str:
    rest = f"regexp_replace({expr}, '{_X_URL}', '', 'g')"
    heavy = f"regexp_replace({rest}, '[{_sql_class(_X_LIGHT)}]', '', 'g')"
    urls = f"len(regexp_extract_all({expr}, '{_X_URL}'))"
    return f"({urls} * {_X_URL_LEN} + length({rest}) + length({heavy}))"


def _x_truncate(text: str, limit: int) -> str:
    if _x_measure(text) <= limit:
        return text
    out: list[str] = []
    used = 0
    pos = 0
    for m in _X_URL_RE.finditer(text):
        head = text[pos:m.start()]
        clipped = _clip(head, limit - used, _x_weight)
        out.append(clipped)
        if clipped != head:
            return "".join(out).rstrip(" ")
        used += sum(_x_weight(c) for c in head)
        if used + _X_URL_LEN > limit:
            return "".join(out).rstrip(" ")
        out.append(m.group())
        used += _X_URL_LEN
        pos = m.end()
    out.append(_clip(text[pos:], limit - used, _x_weight))
    return "".join(out).rstrip(" ")


register_count_method(CountMethod(
    name="x_weighted",
    unit="weighted characters",
    description="X weighted length: Latin-range code points 1, others (CJK, emoji…) 2, each URL 23",
    source="PLATFORM_LIMITS.md §6: twitter/twitter-text config/v3.json (official); "
           "emoji sequences and NFC normalisation not applied (unconfirmed rules)",
    measure=_x_measure,
    measure_sql=_x_measure_sql,
    truncate=_x_truncate,
    per_byte=3,  # a URL counts 23 and may be as short as 8 bytes ("http://x")
))


# --- Google display width (double-width characters count 2) ---------------------------------

_WIDE = (
    (0x1100, 0x115F), (0x2E80, 0x303E), (0x3041, 0x33FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF),
    (0xA000, 0xA4CF), (0xAC00, 0xD7A3), (0xF900, 0xFAFF), (0xFE30, 0xFE4F), (0xFF00, 0xFF60),
    (0xFFE0, 0xFFE6), (0x20000, 0x2FFFD), (0x30000, 0x3FFFD),
)
_WIDE_RE = re.compile(f"[{_py_class(_WIDE)}]")


def _wide_weight(ch: str) -> int:
    cp = ord(ch)
    return 2 if any(lo <= cp <= hi for lo, hi in _WIDE) else 1


def _wide_measure(text: str) -> int:
    return 2 * len(text) - len(_WIDE_RE.sub("", text))


def _wide_measure_sql(expr: str) -> str:
    return f"(2 * length({expr}) - length(regexp_replace({expr}, '[{_sql_class(_WIDE)}]', '', 'g')))"


def _wide_truncate(text: str, limit: int) -> str:
    return text if _wide_measure(text) <= limit else _clip(text, limit, _wide_weight)


register_count_method(CountMethod(
    name="display_width",
    unit="display-width characters",
    description="display width: full-width (CJK, Hangul, kana) characters count 2, others 1",
    source="PLATFORM_LIMITS.md §3 'Double-width characters': Google Ads API 'Maximum display width'; "
           "AdMob help 6177141; Adobe Experience League (derived, unconfirmed on the RSA page)",
    measure=_wide_measure,
    measure_sql=_wide_measure_sql,
    truncate=_wide_truncate,
))
