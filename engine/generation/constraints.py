"""Per-field constraint checks, as DuckDB SQL and as the equivalent Python, with one wording.

A check returns the first reason a value breaks its field's rules, or None when it passes.
An empty value (only spaces and control characters) passes every check unless the field is
required. `fixable_by_truncation` says whether the truncate strategy may repair a value.
"""

from __future__ import annotations

import re
from functools import lru_cache

from engine.platforms import URL_PATTERN, FieldSpec, get_count_method
from engine.platforms.counting import shorten

__all__ = [
    "EMPTY_PATTERN",
    "check_sql",
    "check_value",
    "fixable_by_truncation",
    "length_check_sql",
    "length_violation_sql",
    "truncate_value",
]

EMPTY_PATTERN = r"[\x00-\x20]*"
REQUIRED = "required but empty"
BAD_URL = "not a valid http(s) URL"
BAD_BOOL = "not true or false"


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _allowed_reason(spec: FieldSpec) -> str:
    shown = ", ".join(spec.allowed_values[:5]) + (", …" if len(spec.allowed_values) > 5 else "")
    return BAD_BOOL if spec.kind == "bool" else f"not one of the allowed values ({shown})"


def _pattern_reason(spec: FieldSpec) -> str:
    return f"not in the expected form: {spec.pattern_hint or spec.pattern}"


def _too_long(spec: FieldSpec, n: int) -> str:
    unit = get_count_method(spec.count).unit
    return f"too long: {n} {unit}, limit {spec.max_chars}"


def _too_many(spec: FieldSpec, n: int) -> str:
    return f"too many {spec.item_label}: {n}, limit {spec.max_items}"


def fixable_by_truncation(spec: FieldSpec) -> bool:
    """Only free text may be cut: a cut URL, enum value or subreddit name would be wrong, not short."""
    return spec.kind in ("text", "markdown") and spec.pattern is None and spec.max_chars is not None


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def check_value(spec: FieldSpec, value: str) -> str | None:
    """Python mirror of `check_sql`: the first reason `value` fails, or None."""
    if _compiled(EMPTY_PATTERN).fullmatch(value):
        return REQUIRED if spec.required else None
    if spec.max_chars is not None:
        n = get_count_method(spec.count).measure(value)
        if n > spec.max_chars:
            return _too_long(spec, n)
    if spec.max_items is not None and spec.item_pattern:
        k = len(_compiled(spec.item_pattern).findall(value))
        if k > spec.max_items:
            return _too_many(spec, k)
    if spec.kind == "url" and not _compiled(URL_PATTERN).fullmatch(value):
        return BAD_URL
    if spec.kind == "bool" and value.lower() not in spec.allowed_values:
        return BAD_BOOL
    if spec.kind == "enum" and value not in spec.allowed_values:
        return _allowed_reason(spec)
    if spec.pattern and not _compiled(spec.pattern).fullmatch(value):
        return _pattern_reason(spec)
    return None


def length_violation_sql(spec: FieldSpec, expr: str) -> str | None:
    """SQL boolean: the value is over its length limit (None when the field has no limit)."""
    if spec.max_chars is None:
        return None
    return f"{get_count_method(spec.count).measure_sql(expr)} > {spec.max_chars}"


def check_sql(spec: FieldSpec, expr: str, *, never_blank: bool = False) -> str:
    """SQL expression giving the first failing reason of `expr` (a VARCHAR), or NULL.

    `never_blank`: the value is known to hold a character above U+0020 (its template prints
    literal text), so the emptiness branch could never fire and is left out.
    """
    branches: list[str] = []
    # ascii() reads one character, so only values that start with a space pay for the regex.
    empty = f"({expr} = '' OR (ascii({expr}) <= 32 AND regexp_full_match({expr}, {_lit(EMPTY_PATTERN)})))"
    needs_empty = not never_blank and (
        spec.required or spec.kind in ("url", "bool", "enum") or spec.pattern or spec.max_items)
    if needs_empty:
        branches.append(f"WHEN {empty} THEN {_lit(REQUIRED) if spec.required else 'NULL'}")
    if spec.max_chars is not None:
        method = get_count_method(spec.count)
        n = method.measure_sql(expr)
        unit = method.unit
        # strlen() is free (byte length is stored); measuring is not, so short values skip it.
        bound = method.bound_sql(expr) if method.bound_sql is not None else \
            f"strlen({expr})" if method.per_byte == 1 else f"strlen({expr}) * {method.per_byte}"
        branches.append(
            # a CASE, not AND: DuckDB may reorder AND's sides, measuring (a Python UDF for X) every value
            f"WHEN (CASE WHEN {bound} > {spec.max_chars} THEN {n} ELSE 0 END) > {spec.max_chars} THEN "
            f"'too long: ' || {n} || ' {unit}, limit {spec.max_chars}'"
        )
    if spec.max_items is not None and spec.item_pattern:
        k = f"len(regexp_extract_all({expr}, {_lit(spec.item_pattern)}))"
        branches.append(
            f"WHEN {k} > {spec.max_items} THEN "
            f"'too many {spec.item_label}: ' || {k} || ', limit {spec.max_items}'"
        )
    if spec.kind == "url":
        branches.append(f"WHEN NOT regexp_full_match({expr}, {_lit(URL_PATTERN)}) THEN {_lit(BAD_URL)}")
    if spec.kind == "bool":
        branches.append(f"WHEN lower({expr}) NOT IN ('true', 'false') THEN {_lit(BAD_BOOL)}")
    if spec.kind == "enum":
        values = ", ".join(_lit(v) for v in spec.allowed_values)
        branches.append(f"WHEN {expr} NOT IN ({values}) THEN {_lit(_allowed_reason(spec))}")
    if spec.pattern:
        branches.append(
            f"WHEN NOT regexp_full_match({expr}, {_lit(spec.pattern)}) THEN {_lit(_pattern_reason(spec))}"
        )
    if not branches:
        return "CAST(NULL AS VARCHAR)"
    return "CASE " + " ".join(branches) + " ELSE NULL END"


def length_check_sql(spec: FieldSpec, length: str, *, never_blank: bool) -> str | None:
    """`check_sql` from the value's length alone (code points), or None when a check needs the text.

    The wording is check_sql's; a required field passes its emptiness check when the value
    is known never to be blank.
    """
    if spec.count != "code_points" or spec.kind in ("url", "bool", "enum") or spec.pattern or spec.max_items:
        return None
    if spec.required and not never_blank:
        return None
    if spec.max_chars is None:
        return "CAST(NULL AS VARCHAR)"
    unit = get_count_method(spec.count).unit
    return (f"CASE WHEN {length} > {spec.max_chars} THEN "
            f"'too long: ' || {length} || ' {unit}, limit {spec.max_chars}' ELSE NULL END")


def truncate_value(spec: FieldSpec, value: str, style: str = "cut") -> str:
    """Cut a value to its field's limit with the field's counting method, in `style` (cut, ellipsis, word)."""
    if spec.max_chars is None:
        return value
    return shorten(get_count_method(spec.count), value, spec.max_chars, style)
