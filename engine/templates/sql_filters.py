"""The SQL form of each filter: given the compiled input and the bound arguments, a Val.

A builder raises `Unsupported` when it cannot promise byte-identical output for its input
kind or arguments; the template then renders per row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from engine.templates import filters
from engine.templates.errors import TemplateError
from engine.templates.limits import too_big
from engine.templates.sql_casing import (
    WHITESPACE_SQL,
    capitalize_sql,
    is_ascii_sql,
    lower_sql,
    rstrip_sql,
    title_sql,
    trim_sql,
    upper_sql,
)
from engine.templates.sql_facts import ASCII, PLAIN_TEXT, text_facts
from engine.templates.sql_guards import string_guard
from engine.templates.sql_values import (
    BOOLEAN,
    DATE,
    DATETIME,
    DECIMAL,
    INTEGER,
    MIXED,
    NULL,
    TEXT,
    Binder,
    Unsupported,
    Val,
    as_double,
    choose,
    constant,
    fixed_sql,
    holds,
    is_null,
    sql_str,
    text,
    text_val,
)
from engine.templates.unicode_tables import WHITESPACE


class SqlScope(Protocol):
    """What a builder needs from the compiler."""

    binder: Binder
    line: int | None  # of the filter being compiled (for refusals)


SqlFilter = Callable[[SqlScope, Val, Mapping[str, Val]], Val]
_PRINTS_AS_IS = (TEXT, BOOLEAN, DATE, DATETIME, NULL)


def _const(args: Mapping[str, Val], name: str, filter_name: str) -> Any:
    arg = args[name]
    if not arg.is_const:
        raise Unsupported(f"`{filter_name}` with a `{name}` that is not a literal")
    return arg.const


def _checked(check: Callable[[Any], Any], value: Any) -> Any:
    try:
        return check(value)
    except TemplateError as exc:
        raise Unsupported(exc.detail) from exc


_ASCII_SPACE = "".join(ch for ch in WHITESPACE if ch.isascii())


def _text_filter(build: Callable[[str, Binder, frozenset[str]], str], keeps_ascii_length: bool = False,
                 keeps_facts: bool = False) -> SqlFilter:
    """A filter mapping text to text; its output is ASCII when its input is (case maps, trims)."""
    def sql(scope: SqlScope, value: Val, args: Mapping[str, Val]) -> Val:
        t, binder, facts = text(value), scope.binder, value.facts
        out_facts = facts if keeps_facts else PLAIN_TEXT if ASCII in facts else frozenset()
        if ASCII in facts:  # then bytes are characters; only case maps keep the length (trim does not)
            built = build(t, binder, facts)
            return text_val(built, f"strlen({t})" if keeps_ascii_length else f"strlen({built})", out_facts)
        if not keeps_ascii_length:
            return text_val(build(t, binder, facts), facts=out_facts)
        # case mapping never changes the length of ASCII text: no need to build it to measure it
        return text_val(build(t, binder, facts), binder.bind(t, lambda v: (
            f"(CASE WHEN {is_ascii_sql(v)} THEN strlen({v}) ELSE length({build(v, binder, facts)}) END)")), out_facts)
    return sql


sql_upper = _text_filter(upper_sql, keeps_ascii_length=True)
sql_lower = _text_filter(lower_sql, keeps_ascii_length=True)
sql_capitalize = _text_filter(capitalize_sql, keeps_ascii_length=True)
sql_title = _text_filter(title_sql, keeps_ascii_length=True)
sql_trim = _text_filter(lambda t, binder, facts: trim_sql(t, binder), keeps_facts=True)


def sql_truncate(scope: SqlScope, value: Val, args: Mapping[str, Val]) -> Val:
    """`truncate(n, suffix)`: keep n characters, rstrip, append the suffix only when cut."""
    n = _checked(filters.check_length, _const(args, "length", "truncate"))
    suffix = sql_str(filters.as_text(_const(args, "suffix", "truncate")))
    more = len(filters.as_text(_const(args, "suffix", "truncate")))
    t, binder = text(value), scope.binder
    facts = value.facts & text_facts([filters.as_text(_const(args, "suffix", "truncate"))])
    if n == 0:  # nothing is kept: '' stays '', anything else becomes the suffix
        return text_val(binder.bind(t, lambda s: f"(CASE WHEN {s} = '' THEN '' ELSE {suffix} END)"),
                        binder.bind(t, lambda s: f"(CASE WHEN {s} = '' THEN 0 ELSE {more} END)"), facts)

    # strlen (bytes, stored) is never below length (characters), so short values skip counting;
    # the cut needs trimming only when its last character (the n-th) is whitespace.
    ascii_only = ASCII in value.facts  # then bytes are characters and only ASCII whitespace can end the cut
    spaces = sql_str(_ASCII_SPACE) if ascii_only else WHITESPACE_SQL
    measure = "strlen" if ascii_only else "length"

    def short(s: str) -> str:
        return f"strlen({s}) <= {n}" if ascii_only else f"strlen({s}) <= {n} OR length({s}) <= {n}"

    def cut(s: str) -> str:
        return f"substr({s}, 1, {n})"  # measured: 2.6× faster than left() in DuckDB 2.0

    def strip(x: str) -> str:
        return rstrip_sql(x)  # a regex: rtrim(x, characters) is ~10× slower in DuckDB 2.0

    def body(s: str) -> str:
        return (f"(CASE WHEN {short(s)} THEN {s} WHEN contains({spaces}, substr({s}, {n}, 1)) "
                f"THEN {strip(cut(s))} || {suffix} ELSE {cut(s)} || {suffix} END)")

    def length(s: str) -> str:
        return (f"(CASE WHEN {short(s)} THEN {measure}({s}) WHEN contains({spaces}, substr({s}, {n}, 1)) "
                f"THEN {measure}({strip(cut(s))}) + {more} ELSE {n + more} END)")

    return text_val(binder.bind(t, body), binder.bind(t, length), facts)


def sql_replace(scope: SqlScope, value: Val, args: Mapping[str, Val]) -> Val:
    """`replace(old, new)` for a non-empty literal `old` (Python inserts between characters for '')."""
    old = filters.as_text(_const(args, "old", "replace"))
    new = filters.as_text(_const(args, "new", "replace"))
    if old == "":
        raise Unsupported("`replace` of an empty string")
    facts = value.facts & text_facts([new])
    if len(new) <= len(old):  # cannot grow the text
        return text_val(f"replace({text(value)}, {sql_str(old)}, {sql_str(new)})", facts=facts)

    def guarded(v: str) -> str:  # the per-row filter's check, on the same numbers
        hits = f"((length({v}) - length(replace({v}, {sql_str(old)}, ''))) // {len(old)})"
        size = f"(length({v}) + {hits} * {len(new) - len(old)})"
        return string_guard(size, f"replace({v}, {sql_str(old)}, {sql_str(new)})", too_big("replace"), scope.line)

    return text_val(scope.binder.bind(text(value), guarded), facts=facts)


def sql_default(scope: SqlScope, value: Val, args: Mapping[str, Val]) -> Val:
    """`default(text, boolean)`: the fallback when null, missing or '' (or falsy with boolean)."""
    fallback = args["text"]
    if _const(args, "boolean", "default") or value.kind == TEXT:  # text is falsy exactly when null or ''
        return choose(holds(value), value, fallback, a_holds=True)
    if value.kind == MIXED:
        return choose(f"({value.text_sql} = '')", fallback, value)  # only None and '' print as ''
    return choose(is_null(value), fallback, value)


def _numeric(value: Val, body: Callable[[str], str], facts: frozenset[str] = PLAIN_TEXT) -> Val:
    if value.kind in (INTEGER, DECIMAL):
        return text_val(f"COALESCE({body(as_double(value))}, '')", facts=facts)
    if value.kind in _PRINTS_AS_IS:
        return text_val(text(value), facts=value.facts)
    raise Unsupported("number formatting of a value whose type varies by row")


def sql_number(scope: SqlScope, value: Val, args: Mapping[str, Val]) -> Val:
    """`number(decimals)`: 1,234.50."""
    decimals = _checked(filters.check_decimals, _const(args, "decimals", "number"))
    return _numeric(value, lambda x: fixed_sql(x, decimals, scope.binder))


def sql_percent(scope: SqlScope, value: Val, args: Mapping[str, Val]) -> Val:
    """`percent(decimals)`: 0.156 → 15.6%."""
    decimals = _checked(filters.check_decimals, _const(args, "decimals", "percent"))
    return _numeric(value, lambda x: fixed_sql(f"({x} * CAST(100 AS DOUBLE))", decimals, scope.binder) + " || '%'")


def sql_currency(scope: SqlScope, value: Val, args: Mapping[str, Val]) -> Val:
    """`currency(code)`: $1,234.50 / €… / £…, else "1,234.50 CODE"."""
    unit = filters.as_text(_const(args, "code", "currency")).upper()
    symbol = filters.CURRENCY_SYMBOLS.get(unit)

    def body(x: str) -> str:
        amount = fixed_sql(x, 2, scope.binder)
        if symbol is None:
            return f"{amount} || {sql_str(' ' + unit)}"
        sym = sql_str(symbol)
        return scope.binder.bind(amount, lambda b: (
            f"(CASE WHEN starts_with({b}, '-') THEN '-' || {sym} || substr({b}, 2) ELSE {sym} || {b} END)"))

    return _numeric(value, body, text_facts([symbol or f" {unit}"]))


def sql_date(scope: SqlScope, value: Val, args: Mapping[str, Val]) -> Val:
    """`date(pattern)` on date and datetime columns (DuckDB's strftime knows every directive we allow)."""
    pattern = _checked(filters.check_date_pattern, _const(args, "pattern", "date"))
    if value.kind in (DATE, DATETIME):
        return text_val(f"COALESCE(strftime({value.sql}, {sql_str(pattern)}), '')")
    if value.kind == TEXT:
        raise Unsupported("`date` on text (ISO dates are parsed per row)")
    if value.kind in (INTEGER, DECIMAL, BOOLEAN, NULL):
        return text_val(text(value), facts=value.facts)
    raise Unsupported("`date` of a value whose type varies by row")


def const_filter(func: Callable[..., Any], value: Val, args: Mapping[str, Val]) -> Val:
    """Fold a filter whose input and arguments are all constants by running it."""
    try:
        return constant(func(value.const, **{k: v.const for k, v in args.items()}))
    except Exception as exc:
        raise Unsupported(f"evaluating a constant filter: {exc}") from exc
