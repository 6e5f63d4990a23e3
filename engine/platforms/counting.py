"""How a platform counts characters: code points, X's weighted length, Google's display width.

Each method has a Python measure and an equivalent DuckDB SQL expression; the two must agree
on every string (tests check them side by side). Truncation has a Python form for all methods
and a SQL form where one is simple enough. X's weighted length is twitter-text's (the
twitter-text-parser package): its SQL calls a Python UDF (`register_sql_functions` adds it to a
database; engine.generation.plan does for every plan), guarded by a cheap SQL upper bound
(`bound_sql`) so checks call Python only for values that may be over the limit.
"""

from __future__ import annotations

import functools
import re
import types
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from engine.errors import EngineError

__all__ = [
    "CountMethod",
    "get_count_method",
    "list_count_methods",
    "register_count_method",
    "register_sql_functions",
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
    bound_sql: Callable[[str], str] | None = None  # a cheap SQL upper bound of measure (default: per_byte × bytes)
    sql_functions: tuple[tuple[str, Callable[[pa.Array], pa.Array], str], ...] = ()
    """Python UDFs (name, vectorised function VARCHAR → return type) the SQL forms call."""


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


def register_sql_functions(con: duckdb.DuckDBPyConnection) -> None:
    """Add the Python UDFs the counting methods' SQL calls to a DuckDB database (once; they are pure)."""
    have = {r[0] for r in con.execute("SELECT function_name FROM duckdb_functions() WHERE function_name LIKE "
                                      "'dotoro\\_%' ESCAPE '\\'").fetchall()}
    for method in _METHODS.values():
        for name, func, returns in method.sql_functions:
            if name not in have:
                try:
                    con.create_function(name, func, [duckdb.sqltype("VARCHAR")],  # type: ignore[call-overload]
                                        duckdb.sqltype(returns), type="arrow", null_handling="special")
                except duckdb.NotImplementedException:  # another thread registered it meanwhile
                    pass


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


# --- X weighted length: twitter-text (the `twitter-text-parser` package) ------------------

X_SQL_FUNCTION = "dotoro_x_weighted_length"
"""The DuckDB function (a Python UDF, see `register_sql_functions`) giving X's weighted length."""

_SURROGATE = re.compile("[\ud800-\udfff]")
_X_KEYCAP_NEXT = frozenset("\ufe0f\u20e3")


@functools.cache
def _tt() -> types.SimpleNamespace:
    """twitter-text and what is derived from it, loaded on first use: importing it and deriving the tables
    costs ~2 s of CPU, which every process (pages, workers, commands) would pay at import otherwise."""
    from twitter_text import extract_emojis_with_indices, extract_urls_with_indices
    from twitter_text.config import config
    from twitter_text.parse_tweet import convert_line_ending
    from twitter_text.regexp.emoji import emoji, emoji_list

    x = config["defaults"]
    t = types.SimpleNamespace(
        X=x, emoji=emoji, urls=extract_urls_with_indices, emojis=extract_emojis_with_indices,
        line_endings=convert_line_ending,
        # Every emoji sequence twitter-text knows starts with its first code point and holds a non-ASCII one (a
        # keycap is "#" + U+FE0F + U+20E3): from its own list, so its emoji regex is only tried where it may match.
        emoji_parts=frozenset(chr(int(cp, 16)) for e in emoji_list for cp in e.codepoint.split() if int(cp, 16) >= 0x80),
        emoji_first=frozenset(chr(int(e.codepoint.split()[0], 16)) for e in emoji_list),
        ranges=[(re.compile(f"[{re.escape(chr(r['start']))}-{re.escape(chr(r['end']))}]"),
                 r["weight"] - x["default_weight"]) for r in x["ranges"]],
    )
    # Characters NFC makes heavier (a few turn into 2 or 3 characters, a few into a heavier one), by Python's
    # Unicode tables as twitter-text normalises; and single-character emoji twitter-text weighs more than the
    # character (© ®).
    t.heavier = "".join(chr(c) for c in range(0x80, 0x110000) if not 0xD800 <= c <= 0xDFFF and sum(
        _x_char_weight(ch, x) for ch in unicodedata.normalize("NFC", chr(c))) > _x_char_weight(chr(c), x))
    t.light_emoji = {int(e.codepoint, 16) for e in emoji_list if " " not in e.codepoint
                     and _x_char_weight(chr(int(e.codepoint, 16)), x) * x["scale"] < x["default_weight"]}
    t.light_sql = _light_sql(x, t.light_emoji)
    return t


def _x_plain(text: str) -> bool:
    """ASCII without '.' and CR: no URL (a domain needs a dot), no emoji, NFC and line endings change
    nothing, every character weighs 1, so the length is the weighted length (twitter-text agrees)."""
    return text.isascii() and "." not in text and "\r" not in text


def _x_weights(text: str) -> int:
    """Sum of twitter-text's per-character weights (its config's ranges and default), scaled."""
    t = _tt()
    total = t.X["default_weight"] * len(text)
    for pattern, extra in t.ranges:
        total += extra * (len(text) - len(pattern.sub("", text)))
    return total


def _x_emojis(text: str) -> dict[int, int]:
    """twitter-text's emoji matches (start → end), as `extract_emojis_with_indices` finds them."""
    found: dict[int, int] = {}
    t = _tt()
    if t.emoji_parts.isdisjoint(text):
        return found
    pos = 0
    for i, ch in enumerate(text):
        if i < pos or ch not in t.emoji_first or (ch.isascii() and text[i + 1:i + 2] not in _X_KEYCAP_NEXT):
            continue
        match = t.emoji.match(text, i)
        if match and match.end() > i:
            found[i] = pos = match.end()
    return found


def _x_measure(text: str) -> int:
    """twitter-text's `parse_tweet(text).weightedLength`: the same walk over its URLs, emoji and weights.

    `parse_tweet` itself runs its emoji regex at every position (about 1 ms for a 170-character post);
    here that regex runs only where an emoji can start. tests/engine/test_counting_x.py holds the two equal.
    """
    if _x_plain(text):
        return len(text)
    t = _tt()
    normal = t.line_endings(unicodedata.normalize("NFC", _SURROGATE.sub("\ufffd", text)))
    urls = {u["indices"][0]: u["indices"][0] + len(u["url"]) for u in t.urls(normal)}
    emojis = _x_emojis(normal)
    total, pos = 0, 0
    for start in sorted(urls.keys() | emojis.keys()):
        if start < pos:
            continue
        total += _x_weights(normal[pos:start])
        if start in urls:  # a URL wins over an emoji starting at the same place, as in parse_tweet
            total, pos = total + t.X["transformed_url_length"] * t.X["scale"], urls[start]
        else:
            total, pos = total + t.X["default_weight"], emojis[start]
    return int((total + _x_weights(normal[pos:])) / t.X["scale"])


def _x_measure_sql(expr: str) -> str:
    plain = f"(strlen({expr}) = length({expr}) AND NOT contains({expr}, '.') AND NOT contains({expr}, chr(13)))"
    return f"(CASE WHEN {plain} THEN length({expr}) ELSE {X_SQL_FUNCTION}({expr}) END)"


def _x_char_weight(ch: str, x: dict) -> int:
    cp = ord(ch)
    weight = next((r["weight"] for r in x["ranges"] if r["start"] <= cp <= r["end"]), x["default_weight"])
    return int(weight // x["scale"])


def _sql_chars(chars: str) -> str:
    return "".join(f"\\x{{{ord(c):x}}}" for c in chars)


def _light_sql(x: dict, light_emoji: set[int]) -> str:
    """The weight-1 ranges as an RE2 class, less the single-character emoji in them (those weigh 2)."""
    parts = []
    for r in x["ranges"]:
        if r["weight"] != x["scale"]:
            continue
        start = r["start"]
        for cp in sorted(c for c in light_emoji if r["start"] <= c <= r["end"]) + [r["end"] + 1]:
            if start < cp:
                parts.append(f"\\x{{{start:x}}}-\\x{{{cp - 1:x}}}")
            start = cp + 1
    return "".join(parts)


def _x_bound_sql(expr: str) -> str:
    """An upper bound of the weighted length, so checks measure (call Python) only values that may be over.

    Each character weighs as twitter-text's ranges say (1 Latin, else 2); NFC makes `heavier` ones heavier (by
    at most 5: one heavy character turning into three) and merges others (never heavier); an emoji sequence
    weighs 2 in all (a single © or ® is counted heavy); a URL counts 23 for 4 or more characters that
    hold a dot (at most 19 more, one URL per dot).
    """
    dots = f"(length({expr}) - length(replace({expr}, '.', '')))"
    # counted as what removing them takes away: replacing every light character instead is ~100× slower
    t = _tt()
    heavy = f"(length({expr}) - length(regexp_replace({expr}, '[^{t.light_sql}]', '', 'g')))"
    heavier = f"(length({expr}) - length(regexp_replace({expr}, '[{_sql_chars(t.heavier)}]', '', 'g')))"
    return (f"(CASE WHEN strlen({expr}) = length({expr}) THEN length({expr}) + 19 * {dots} "
            f"ELSE length({expr}) + {heavy} + 19 * {dots} + 5 * {heavier} END)")


def _x_boundaries(text: str) -> list[int]:
    """Where a cut may fall: between characters, never inside a URL or an emoji sequence."""
    inside: set[int] = set()
    t = _tt()
    for entity in [*t.urls(text), *t.emojis(text)]:
        start, end = entity["indices"]
        inside.update(range(start + 1, end))
    return [i for i in range(len(text) + 1) if i not in inside]


def _x_truncate(text: str, limit: int) -> str:
    """The longest prefix (cut between entities, trailing spaces dropped) twitter-text counts within `limit`."""
    if _x_measure(text) <= limit:
        return text
    cuts = _x_boundaries(text)
    lo, hi = 0, len(cuts) - 1  # cuts[lo] always fits (the empty text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _x_measure(text[:cuts[mid]].rstrip(" ")) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return text[:cuts[lo]].rstrip(" ")


def _x_lengths(values: pa.Array) -> pa.Array:
    return pa.array([None if v is None else _x_measure(v) for v in values.to_pylist()], pa.int64())


register_count_method(CountMethod(
    name="x_weighted",
    unit="weighted characters",
    description="X weighted length (twitter-text): Latin-range characters 1, others (CJK…) 2, an emoji "
                "sequence 2, each URL 23 (its config's transformed_url_length)",
    source="PLATFORM_LIMITS.md §6: twitter/twitter-text config/v3.json (official), counted by the "
           "twitter-text-parser package (NFC, emoji sequences and URLs as twitter-text parses them)",
    measure=_x_measure,
    measure_sql=_x_measure_sql,
    truncate=_x_truncate,
    per_byte=6,  # a URL counts 23 and may be as short as 4 bytes ("a.co"); anything else at most 2 per byte
    bound_sql=_x_bound_sql,
    sql_functions=((X_SQL_FUNCTION, _x_lengths, "BIGINT"),),
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
