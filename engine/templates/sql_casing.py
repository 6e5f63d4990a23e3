"""Case mapping and trimming in DuckDB SQL that agree with Python's str methods character for character.

DuckDB's upper()/lower() use simple one-to-one case mapping; Python applies Unicode's special
casing (ß → SS, ﬁ → FI, İ → i̇) and lower-cases a word-final Σ to ς. The tables in
`unicode_tables` list exactly where the two differ; the SQL below patches those places.

Every function first tests for plain ASCII text (`strlen` counts bytes, `length` code points:
they agree exactly when every character is ASCII), where DuckDB and Python agree and no regex
is needed; most real values take that branch.
"""

from __future__ import annotations

import unicodedata
from functools import cache

from engine.templates.filters import WORD_SEPARATORS
from engine.templates.sql_facts import ASCII, NO_RARE_UPPER
from engine.templates.sql_values import Binder, sql_str
from engine.templates.unicode_tables import (
    CASE_IGNORABLE,
    CASED,
    LOWER_SPECIAL,
    UPPER_SPECIAL,
    WHITESPACE,
    chars,
    parse_ranges,
)

SIGMA = "\u03a3"
WHITESPACE_SQL = sql_str(WHITESPACE)
_WIDE_SPACES = ", ".join(str(ord(c)) for c in WHITESPACE if ord(c) > 32)
"""Every character str.isspace() accepts, as one string literal (for `contains(…, one character)`)."""


def _re_char(code: int) -> str:
    """One code point inside an RE2 character class; invisible or special ones escaped."""
    ch = chr(code)
    if code < 0x80:
        return ch if ch.isalnum() else f"\\x{{{code:X}}}"
    if unicodedata.category(ch)[0] in "CZM":
        return f"\\x{{{code:X}}}"
    return ch


def re_class(ranges: tuple[tuple[int, int], ...], negate: bool = False) -> str:
    """An RE2 character class (`[...]`) for code point ranges."""
    items = []
    for lo, hi in ranges:
        items.append(_re_char(lo) if lo == hi else f"{_re_char(lo)}-{_re_char(hi)}")
    return "[" + ("^" if negate else "") + "".join(items) + "]"


@cache
def _patterns() -> dict[str, str]:
    cased, ignorable = re_class(parse_ranges(CASED)), re_class(parse_ranges(CASE_IGNORABLE))
    separators = tuple((ord(c), ord(c)) for c in sorted(set(WORD_SEPARATORS)))
    spaces = re_class(tuple((ord(c), ord(c)) for c in WHITESPACE))
    return {
        "upper_special": sql_str(re_class(parse_ranges(UPPER_SPECIAL))),
        "any_special": sql_str(re_class(tuple(sorted((ord(c), ord(c)) for c in
                                                     set(chars(UPPER_SPECIAL) + chars(LOWER_SPECIAL) + SIGMA))))),
        "upper_rare": sql_str(re_class(tuple((ord(c), ord(c)) for c in chars(UPPER_SPECIAL) if c != "ß"))),
        "sigma_before": sql_str(f"{cased}{ignorable}*$"),
        "sigma_after": sql_str(f"^{ignorable}*{cased}"),
        "other_separators": sql_str(re_class(tuple(r for r in separators if r != (32, 32)))),
        "words": sql_str(f"{re_class(separators)}+|{re_class(separators, negate=True)}+"),
        "strip": sql_str(f"^{spaces}+|{spaces}+$"),
        "rstrip": sql_str(f"{spaces}+$"),
        "ends_space": sql_str(f"{spaces}$"),
    }


def _replace_all(t: str, table: str, mapping: str) -> str:
    out = t
    for ch in chars(table):
        out = f"replace({out}, {sql_str(ch)}, {sql_str(getattr(ch, mapping)())})"
    return out


def is_ascii_sql(v: str) -> str:
    """BOOLEAN: the (non-null) VARCHAR `v` is plain ASCII (byte length equals character length)."""
    return f"(strlen({v}) = length({v}))"


@cache
def _upper_table() -> tuple[str, str]:
    """(the special characters as one string, their upper-case forms as a list).

    Two constants instead of a MAP literal: DuckDB binds a 100-entry MAP in ~3 ms, which every
    preview of a template using `upper` would pay.
    """
    specials = chars(UPPER_SPECIAL)
    mapped = [ch.upper() for ch in specials]
    assert not any("|" in m for m in mapped)
    return sql_str(specials), f"string_split({sql_str('|'.join(mapped))}, '|')"


def upper_sql(t: str, binder: Binder, facts: frozenset[str] = frozenset()) -> str:
    """VARCHAR equal to Python's `t.upper()` for a non-null VARCHAR t.

    ß (the one special case common in real data) is replaced before DuckDB's upper(); text
    holding any other special-cased character is upper-cased one code point at a time
    through the table of Python's mappings. `facts` about t (see sql_values.text_facts)
    leave out the branches that cannot occur.
    """
    if ASCII in facts:
        return f"upper({t})"
    if NO_RARE_UPPER in facts:
        return binder.bind(t, lambda v: (
            f"(CASE WHEN {is_ascii_sql(v)} THEN upper({v}) ELSE upper(replace({v}, 'ß', 'SS')) END)"))
    p, c = _patterns(), binder.fresh()
    specials, mapped = _upper_table()
    return binder.bind(t, lambda v: (
        f"(CASE WHEN {is_ascii_sql(v)} THEN upper({v}) "
        f"WHEN NOT regexp_matches({v}, {p['upper_special']}) THEN upper({v}) "
        f"WHEN NOT regexp_matches({v}, {p['upper_rare']}) THEN upper(replace({v}, 'ß', 'SS')) "
        f"ELSE array_to_string(list_transform(string_split({v}, ''), "
        f"lambda {c}: COALESCE({mapped}[instr({specials}, {c})], upper({c}))), '') END)"))


def _lower_plain(t: str) -> str:
    """Python's lower() for text without Σ."""
    return f"lower({_replace_all(t, LOWER_SPECIAL, 'lower')})"


def lower_sql(t: str, binder: Binder, facts: frozenset[str] = frozenset()) -> str:
    """VARCHAR equal to Python's `t.lower()` (final sigma included) for a non-null VARCHAR t.

    Text containing Σ is split at each Σ; the i-th Σ becomes ς when (looking past
    case-ignorable characters) a cased character precedes it and none follows it, which is
    Python's Final_Sigma rule. A neighbouring Σ counts as the cased character it is.
    """
    if ASCII in facts:
        return f"lower({t})"
    p = _patterns()
    parts, seg, idx = binder.fresh(), binder.fresh(), binder.fresh()
    sigma = sql_str(SIGMA)
    decide = (f"CASE WHEN {idx} = len({parts}) THEN '' "
              f"WHEN regexp_matches((CASE WHEN {idx} > 1 THEN {sigma} ELSE '' END) || {seg}, {p['sigma_before']}) "
              f"AND NOT regexp_matches({parts}[{idx} + 1] || (CASE WHEN {idx} + 1 < len({parts}) "
              f"THEN {sigma} ELSE '' END), {p['sigma_after']}) THEN 'ς' ELSE 'σ' END")

    def body(v: str) -> str:
        split = (f"list_transform([string_split({v}, {sigma})], lambda {parts}: array_to_string("
                 f"list_transform({parts}, lambda {seg}, {idx}: {_lower_plain(seg)} || ({decide})), ''))[1]")
        return (f"(CASE WHEN {is_ascii_sql(v)} THEN lower({v}) WHEN contains({v}, {sigma}) THEN {split} "
                f"ELSE {_lower_plain(v)} END)")

    return binder.bind(t, body)


def capitalize_sql(t: str, binder: Binder, facts: frozenset[str] = frozenset()) -> str:
    """Python's `t[:1].upper() + t[1:].lower()`."""
    if ASCII in facts:
        return binder.bind(t, lambda v: f"(upper(left({v}, 1)) || lower(substr({v}, 2)))")
    special = _patterns()["any_special"]
    return binder.bind(t, lambda v: (
        f"(CASE WHEN NOT {is_ascii_sql(v)} AND regexp_matches({v}, {special}) "
        f"THEN {upper_sql(f'left({v}, 1)', binder)} || {lower_sql(f'substr({v}, 2)', binder)} "
        f"ELSE upper(left({v}, 1)) || lower(substr({v}, 2)) END)"))


def title_sql(t: str, binder: Binder, facts: frozenset[str] = frozenset()) -> str:
    """The `title` filter: each run of separators or non-separators capitalized, then joined.

    Text whose only separator is the plain space (most names) is split on spaces, which is
    much faster in DuckDB than tiling with regexp_extract_all.
    """
    p, word = _patterns(), binder.fresh()

    def body(v: str) -> str:
        words = f"regexp_extract_all({v}, {p['words']})"
        exact = f"array_to_string(list_transform({words}, lambda {word}: {capitalize_sql(word, binder)}), '')"
        plain = (f"array_to_string(list_transform({words}, lambda {word}: "
                 f"upper(left({word}, 1)) || lower(substr({word}, 2))), '')")
        spaced = (f"array_to_string(list_transform(string_split({v}, ' '), lambda {word}: "
                  f"upper(left({word}, 1)) || lower(substr({word}, 2))), ' ')")
        if ASCII in facts:
            return f"(CASE WHEN regexp_matches({v}, {p['other_separators']}) THEN {plain} ELSE {spaced} END)"
        return (f"(CASE WHEN NOT {is_ascii_sql(v)} AND regexp_matches({v}, {p['any_special']}) THEN {exact} "
                f"WHEN regexp_matches({v}, {p['other_separators']}) THEN {plain} ELSE {spaced} END)")

    return binder.bind(t, body)


def trim_sql(t: str, binder: Binder | None = None) -> str:
    """Python's `t.strip()` (a regex: DuckDB's trim() with a character set is much slower).

    Most values neither start nor end with whitespace: `ascii` reads the first character and
    an end-anchored regex tests the last, and only the rest pay for the replacing regex.
    """
    p = _patterns()

    def body(v: str) -> str:
        first = f"ascii({v})"  # 0 for ''
        return (f"(CASE WHEN {first} > 32 AND {first} NOT IN ({_WIDE_SPACES}) "
                f"AND NOT regexp_matches({v}, {p['ends_space']}) THEN {v} "
                f"ELSE regexp_replace({v}, {p['strip']}, '', 'g') END)")

    return binder.bind(t, body) if binder is not None else body(t)


def rstrip_sql(t: str) -> str:
    """Python's `t.rstrip()`."""
    return f"regexp_replace({t}, {_patterns()['rstrip']}, '')"
