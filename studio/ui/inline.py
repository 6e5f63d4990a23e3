"""Inline variations `[[a|b]]` on screen: how many a template makes per row, the preview's maximum, its figures."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import streamlit as st

from engine.budgets import MAX_VARIATIONS_PER_ROW
from engine.generation.config import DEFAULT_INLINE_VARIATIONS
from engine.generation.inline import template_options
from studio.ui import widgets

SYNTAX = ("Inline variations: write `[[Buy|Get]]` in any field and each option becomes a variation of its own "
          "(options are trimmed, `[[]]` is an empty one, options may hold `{{ columns }}`). Several blocks, in one "
          "field or across fields, multiply; identical results are kept once.")


def per_row(fields: Mapping[str, str]) -> tuple[int, list[str]]:
    """Combinations the templates' own blocks make per row, and how each field contributes ("title 3 × 2")."""
    parts: list[str] = []
    total = 1
    for name, source in fields.items():
        counts = template_options(source or "")
        if counts:
            total *= math.prod(counts)
            parts.append(f"{name} {' × '.join(str(n) for n in counts)}")
    return total, parts


def hint(fields: Mapping[str, str], cap: int | None = None, note: str = "") -> None:
    """One line under the fields: "[[…]] options: title 3 × 2 → 6 variations per row; at most 50 kept"."""
    total, parts = per_row(fields)
    if not parts:
        return
    kept = "" if cap is None else (f"; at most {cap:,} kept per row (the preview's maximum)" if total > cap
                                   else f"; up to {cap:,} kept per row")
    st.caption(f"Inline options `[[…|…]]`: {', '.join(parts)} → {widgets.plural(total, 'variation')} per row "
               f"before duplicates{kept}.{' ' + note if note else ''}", help=SYNTAX)


def maximum(fields: Mapping[str, str], default: int | None, key: str, sources: int = 1) -> int | None:
    """The "inline variations per row" input, shown when a template holds a block (None otherwise)."""
    if not per_row(fields)[1]:
        return None
    top = max(1, MAX_VARIATIONS_PER_ROW // max(1, sources))
    if key not in st.session_state:
        st.session_state[key] = min(int(default or DEFAULT_INLINE_VARIATIONS), top)
    st.session_state[key] = min(int(st.session_state[key]), top)
    value = st.number_input("Inline variations per row (at most)", min_value=1, max_value=top, step=1, key=key,
                            help=f"{SYNTAX} Each row keeps its first combinations up to this number; the figures "
                                 f"count the rest as capped. With variation sources, sources × this stays within "
                                 f"{MAX_VARIATIONS_PER_ROW:,}.")
    hint(fields, int(value))
    return int(value)


def figures(stats: Any) -> None:
    """The inline figures of a preview: combinations possible, duplicates removed, over the maximum."""
    inline = getattr(stats, "inline", None)
    if not inline:
        return
    st.caption(f"Inline options: {inline['possible']:,} combinations possible over the data set · "
               f"{inline['duplicates']:,} duplicates removed · {inline['capped']:,} over the maximum per row "
               "(not generated).", help=SYNTAX)
