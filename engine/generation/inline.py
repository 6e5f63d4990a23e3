"""Inline variations: `[[opt1|opt2|…]]` blocks in a field's rendered text (Dotoro's inline variation syntax).

A template is rendered first (its `{{ variables }}` substituted), then every innermost block of
the text expands: options are split on `|` and trimmed (JavaScript's `trim`), `[[]]` is one empty
option, an outer bracket of a nested block stays literal. Several blocks in a field and several
fields give the cartesian product: the first field varies slowest, and within a field the first
block. Identical combinations (on every expanding field) keep the first and are counted as
duplicates; at most `cap` of the rest are kept per row, the others counted as capped.

`expand` is the reference (per row, in Python); `InlineStep` is the same expansion as one
DuckDB step of a plan (`__inline`, between `__rendered` and `__checked`); the property tests hold
them byte-identical. Every variation of a row gets index `j` (0-based among the kept combinations),
and `__variation` becomes `source variation × cap + j`: stable for a given config and row.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from engine.budgets import MAX_INLINE_COMBINATIONS
from engine.errors import EngineError
from engine.generation.schema import ROW, VARIATION, quote, sql_literal
from engine.templates.sql_guards import refusal_sql

__all__ = ["BLOCK", "STAT_COLUMNS", "InlineResult", "InlineStep", "expand", "field_options", "has_blocks",
           "template_options", "too_many_message"]

BLOCK = re.compile(r"\[\[([^\[\]]*)\]\]")
"""An innermost block: `[[`, anything but brackets, `]]` (Dotoro's VARIATION_PATTERN)."""

# JavaScript's String.prototype.trim: WhiteSpace and LineTerminator code points
_JS_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
            "\u2028\u2029\u202f\u205f\u3000\ufeff"

STAT_COLUMNS = ("__il_possible", "__il_duplicates", "__il_capped", "__il_first")
"""Per (row, source variation), carried on its first variation (`__il_first`) and 0 on the others."""


def has_blocks(text: str) -> bool:
    """Does the text hold an inline block (as a template source: the literal `[[…]]` form)?"""
    return BLOCK.search(text) is not None


_EXPRESSION = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)


def template_options(source: str) -> list[int]:
    """How many options each block of a template's own text offers (before rendering: a `|` inside
    `{{ … }}` is a filter, not an option; blocks that come from the data are not known yet)."""
    text = _EXPRESSION.sub("x", source)
    return [len(m.group(1).split("|")) for m in BLOCK.finditer(text)]


def field_options(value: str) -> list[str]:
    """Every text one field's rendered value expands to, in order (one item when it holds no block)."""
    blocks = [[o.strip(_JS_SPACE) for o in m.group(1).split("|")] for m in BLOCK.finditer(value)]
    if not blocks:
        return [value]
    pieces = BLOCK.split(value)[::2]  # the group's captures sit at the odd places
    out = []
    for combo in _product(blocks):
        out.append(pieces[0] + "".join(o + p for o, p in zip(combo, pieces[1:], strict=True)))
    return out


def _product(lists: Sequence[Sequence[str]]) -> list[tuple[str, ...]]:
    combos: list[tuple[str, ...]] = [()]
    for options in lists:
        combos = [c + (o,) for c in combos for o in options]
    return combos


def too_many_message() -> str:
    """The refusal for a row whose inline blocks would make too many combinations (the same on both paths)."""
    return (f"Inline options would make more than {MAX_INLINE_COMBINATIONS:,} combinations for one row (the "
            "limit). Use fewer [[…|…]] blocks or options in the templates (or in the data they read).")


@dataclass(frozen=True)
class InlineResult:
    """One row's expansion: the kept combinations (one value per field) and the row's counts."""

    variations: list[tuple[str, ...]]
    possible: int
    duplicates: int
    capped: int


def _counts(value: str) -> int:
    return math.prod(len(m.group(1).split("|")) for m in BLOCK.finditer(value))


def expand(values: Sequence[str], cap: int, *, row: int | None = None) -> InlineResult:
    """The reference: one row's rendered field values → its kept combinations (first field slowest)."""
    possible = math.prod(_counts(v) for v in values)
    if possible > MAX_INLINE_COMBINATIONS:
        raise EngineError(too_many_message(), row=row)
    combos = _product([field_options(v) for v in values])
    seen: set[tuple[str, ...]] = set()
    unique = []
    for combo in combos:
        if combo not in seen:
            seen.add(combo)
            unique.append(combo)
    return InlineResult(unique[:cap], possible, len(combos) - len(unique), max(0, len(unique) - cap))


# ---- the same in SQL -------------------------------------------------------------------------

_PATTERN = sql_literal(BLOCK.pattern)
_WHOLE = sql_literal(r"\[\[[^\[\]]*\]\]")


@dataclass(frozen=True)
class InlineStep:
    """The `__inline` step: each (row, source variation) of `__rendered` becomes its kept combinations.

    Per row: each field's blocks and literal pieces (`__il_o<n>`, `__il_p<n>`; a field without `[[` skips
    the regexes), the texts the field expands to (`__il_v<n>`, `__il_c<n>` of them), then the kept
    combinations as 0-based indexes `k` into the cross product (first field slowest; field n's text is
    `v<n>[k // stride % count]`).
    When no field repeats a text every combination differs, so only the first `cap` are built; otherwise
    all of them are, and equal ones keep their first (a sort of (combination, index) pairs).
    """

    fields: tuple[str, ...]   # rendered columns (quoted identifiers) that expand, first varies slowest
    cap: int

    def ctes(self, source: str) -> list[tuple[str, str]]:
        """`__inline_parts`, `_counted`, `_listed`, `_kept` and `__inline` over the CTE named `source`."""
        q = quote
        o, p, v, c = ([q(f"__il_{x}{n}") for n in range(len(self.fields))] for x in "opvc")
        parts = []
        for n, f in enumerate(self.fields):
            plain = f"strpos({f}, '[[') = 0"
            parts.append(f"CASE WHEN {plain} THEN []::VARCHAR[][] ELSE list_transform(regexp_extract_all({f}, "
                         f"{_PATTERN}, 1), lambda b: list_transform(string_split(b, '|'), lambda o: "
                         f"trim(o, {sql_literal(_JS_SPACE)}))) END AS {o[n]}")
            parts.append(f"CASE WHEN {plain} THEN [{f}] ELSE regexp_split_to_array({f}, {_WHOLE}) END AS {p[n]}")
        split = f"SELECT *, {', '.join(parts)}\nFROM {q(source)}"

        totals = [f"list_reduce(list_transform({o[n]}, lambda x: CAST(len(x) AS DOUBLE)), lambda a, b: a * b, "
                  f"CAST(1 AS DOUBLE))" for n in range(len(self.fields))]
        counted = (f"SELECT *, {' * '.join(totals) or 'CAST(1 AS DOUBLE)'} AS {q('__il_total')}\n"
                   f"FROM {q('__inline_parts')}")

        values = []
        for n in range(len(self.fields)):
            # block by block: every text so far × each option of the block, then the literal piece after it
            expand = (f"list_reduce(list_zip({o[n]}, {p[n]}[2:]), lambda acc, z: flatten(list_transform(acc, "
                      f"lambda a: list_transform(z[1], lambda x: a || x || z[2]))), [{p[n]}[1]])")
            values.append(f"CASE WHEN {q('__il_total')} > {MAX_INLINE_COMBINATIONS} THEN NULL "
                          f"WHEN len({o[n]}) = 0 THEN {p[n]} ELSE {expand} END AS {v[n]}")
        refuse = refusal_sql(too_many_message(), None, row_sql=q(ROW))
        guard = f"CASE WHEN {q('__il_total')} > {MAX_INLINE_COMBINATIONS} THEN {refuse} ELSE {q('__il_total')} END"
        listed = (f"SELECT * EXCLUDE ({', '.join([*o, *p])}), {', '.join(values)}, "
                  f"CAST({guard} AS BIGINT) AS {q('__il_n')}\nFROM {q('__inline_counted')}")
        listed = f"SELECT *, {', '.join(f'len({v[n]}) AS {c[n]}' for n in range(len(self.fields)))}\nFROM ({listed})"

        def combo(k: str) -> list[str]:
            """Each field's text for combination `k` (0-based)."""
            out = []
            for n in range(len(self.fields)):
                later = "".join(f" * {c[m]}" for m in range(n + 1, len(self.fields)))
                out.append(f"{v[n]}[(({k} // (CAST(1 AS BIGINT){later})) % {c[n]}) + 1]")
            return out

        distinct = " AND ".join(f"len(list_distinct({v[n]})) = len({v[n]})" for n in range(len(self.fields)))
        every = f"list_transform(range({q('__il_n')}), lambda k: [{', '.join(combo('k'))}])"
        pairs = f"list_sort(list_transform({every}, lambda x, i: {{'c': x, 'i': i - 1}}))"
        firsts = ("list_sort(list_transform(list_filter(ps, lambda x, i: i = 1 OR ps[i - 1].c <> x.c), "
                  "lambda x: x.i))")
        unique = f"list_transform([{pairs}], lambda ps: {firsts})[1]"
        # texts distinct within each field: every combination differs, build only the kept ones
        kept = (f"CASE WHEN {distinct} THEN range(least({q('__il_n')}, {self.cap})) "
                f"ELSE {unique} END")
        keep = (f"SELECT *, {kept} AS {q('__il_keep')}\nFROM {q('__inline_listed')}")
        count_unique = (f"CASE WHEN {distinct} THEN {q('__il_n')} ELSE len({q('__il_keep')}) END")
        first = f"struct_extract({q('__il')}, 'j') = 0"
        k = f"struct_extract({q('__il')}, 'k')"
        stats = [f"CASE WHEN {first} THEN {q('__il_n')} ELSE 0 END AS {q('__il_possible')}",
                 f"CASE WHEN {first} THEN {q('__il_n')} - {count_unique} ELSE 0 END AS {q('__il_duplicates')}",
                 f"CASE WHEN {first} THEN greatest({count_unique} - {self.cap}, 0) ELSE 0 END AS {q('__il_capped')}",
                 f"{first} AS {q('__il_first')}"]
        variation = f"CAST({q(VARIATION)} * {self.cap} + struct_extract({q('__il')}, 'j') AS INTEGER) AS {q(VARIATION)}"
        texts_out = ", ".join(f"{t} AS {f}" for t, f in zip(combo(k), self.fields, strict=True))
        drop = ", ".join([*self.fields, q(VARIATION), q("__il"), q("__il_keep"), q("__il_n"), q("__il_total"),
                          *v, *c])
        pick = (f"unnest(list_transform({q('__il_keep')}[1:{self.cap}], lambda x, j: {{'j': j - 1, 'k': x}})) "
                f"AS {q('__il')}")
        expanded = (f"SELECT * EXCLUDE ({drop}), {variation}, {texts_out}, {', '.join(stats)}\n"
                    f"FROM (SELECT *, {pick} FROM {q('__inline_kept')})")
        return [("__inline_parts", split), ("__inline_counted", counted), ("__inline_listed", listed),
                ("__inline_kept", keep), ("__inline", expanded)]
