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
_SQL_SPACE = "".join(f"\\x{{{ord(c):x}}}" for c in _JS_SPACE)
_SQL_TRIM = f"^[{_SQL_SPACE}]+|[{_SQL_SPACE}]+$"

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


def _prod(list_sql: str) -> str:
    """The product of a list of BIGINTs (1 for an empty list)."""
    return f"list_reduce({list_sql}, lambda a, b: a * b, CAST(1 AS BIGINT))"


@dataclass(frozen=True)
class InlineStep:
    """The `__inline` step: each (row, source variation) of `__rendered` becomes its kept combinations."""

    fields: tuple[str, ...]   # rendered columns (quoted identifiers) that expand, first varies slowest
    cap: int

    def ctes(self, source: str) -> list[tuple[str, str]]:
        """`__inline_parts` (blocks split into options) and `__inline` over the CTE named `source`."""
        parts = []
        for n, f in enumerate(self.fields):
            opts = (f"list_transform(regexp_extract_all({f}, {_PATTERN}, 1), lambda b: list_transform("
                    f"string_split(b, '|'), lambda o: regexp_replace(o, {sql_literal(_SQL_TRIM)}, '', 'g')))")
            parts.append(f"{opts} AS {quote(f'__il_o{n}')}")
            parts.append(f"regexp_split_to_array({f}, {_WHOLE}) AS {quote(f'__il_p{n}')}")
        counts = [f"list_transform({quote(f'__il_o{n}')}, lambda o: CAST(len(o) AS BIGINT))"
                  for n in range(len(self.fields))]
        # DOUBLE: a product of many blocks may pass BIGINT before it is refused
        totals = [f"list_reduce(list_transform({quote(f'__il_o{n}')}, lambda o: CAST(len(o) AS DOUBLE)), "
                  f"lambda a, b: a * b, CAST(1 AS DOUBLE))" for n in range(len(self.fields))]
        parts.append(f"{' * '.join(totals) or 'CAST(1 AS DOUBLE)'} AS {quote('__il_total')}")
        for n, c in enumerate(counts):
            parts.append(f"{_prod(c)} AS {quote(f'__il_n{n}')}")
        split = f"SELECT *, {', '.join(parts)}\nFROM {quote(source)}"

        def field_text(n: int, k: str) -> str:
            """Field n's text for combination k of the row."""
            o, p = quote(f"__il_o{n}"), quote(f"__il_p{n}")
            later = "".join(f" * {quote(f'__il_n{m}')}" for m in range(n + 1, len(self.fields)))
            kf = f"(({k} // (CAST(1 AS BIGINT){later})) % {quote(f'__il_n{n}')})"
            stride = _prod(f"list_transform(list_slice({o}, i + 2, len({o})), lambda o2: CAST(len(o2) AS BIGINT))")
            pick = f"{o}[i + 1][(({kf} // {stride}) % len({o}[i + 1])) + 1]"
            return (f"({p}[1] || array_to_string(list_transform(range(len({o})), lambda i: {pick} || {p}[i + 2]), "
                    f"''))")

        k = "__il_k"
        combos = (f"list_transform(range(CAST({quote('__il_total')} AS BIGINT)), lambda {k}: "
                  f"[{', '.join(field_text(n, k) for n in range(len(self.fields)))}])")
        refuse = refusal_sql(too_many_message(), None, row_sql=quote(ROW))
        guarded = (f"CASE WHEN {quote('__il_total')} > {MAX_INLINE_COMBINATIONS} THEN {refuse} "
                   f"ELSE {combos} END")
        # keep the first of equal combinations: sort (combination, index) pairs, keep each run's first index
        pairs = f"list_sort(list_transform({quote('__il_all')}, lambda c, i: {{'c': c, 'i': i}}))"
        firsts = (f"list_sort(list_transform(list_filter({quote('__il_pairs')}, lambda p, i: i = 1 OR "
                  f"{quote('__il_pairs')}[i - 1].c <> p.c), lambda p: p.i))")
        listed = (f"SELECT * EXCLUDE ({', '.join(quote(f'__il_{x}{n}') for n in range(len(self.fields)) for x in 'opn')}), "
                  f"{guarded} AS {quote('__il_all')}\nFROM {quote('__inline_parts')}")
        paired = f"SELECT *, {pairs} AS {quote('__il_pairs')}\nFROM {quote('__inline_listed')}"
        uniq = (f"SELECT * EXCLUDE ({quote('__il_pairs')}), {firsts} AS {quote('__il_uniq')}\n"
                f"FROM {quote('__inline_paired')}")
        pick = (f"unnest(list_transform({quote('__il_uniq')}[1:{self.cap}], lambda u, j: "
                f"{{'j': j - 1, 'c': {quote('__il_all')}[u]}})) AS {quote('__il')}")
        values = ", ".join(f"struct_extract({quote('__il')}, 'c')[{n + 1}] AS {f}" for n, f in enumerate(self.fields))
        first = f"struct_extract({quote('__il')}, 'j') = 0"
        stats = [f"CASE WHEN {first} THEN CAST({quote('__il_total')} AS BIGINT) ELSE 0 END AS {quote('__il_possible')}",
                 f"CASE WHEN {first} THEN len({quote('__il_all')}) - len({quote('__il_uniq')}) ELSE 0 END "
                 f"AS {quote('__il_duplicates')}",
                 f"CASE WHEN {first} THEN greatest(len({quote('__il_uniq')}) - {self.cap}, 0) ELSE 0 END "
                 f"AS {quote('__il_capped')}",
                 f"{first} AS {quote('__il_first')}"]
        variation = (f"CAST({quote(VARIATION)} * {self.cap} + struct_extract({quote('__il')}, 'j') AS INTEGER) "
                     f"AS {quote(VARIATION)}")
        drop = ", ".join([*self.fields, quote(VARIATION), quote("__il"), quote("__il_all"), quote("__il_uniq"),
                          quote("__il_total")])
        expanded = (f"SELECT * EXCLUDE ({drop}), {variation}, {values}, {', '.join(stats)}\n"
                    f"FROM (SELECT *, {pick} FROM {quote('__inline_uniq')})")
        return [("__inline_parts", split), ("__inline_listed", listed), ("__inline_paired", paired),
                ("__inline_uniq", uniq), ("__inline", expanded)]

