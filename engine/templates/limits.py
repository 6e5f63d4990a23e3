"""Caps that keep an untrusted template from hanging a worker or eating its memory.

The values live in `engine/budgets.py` (every budget in one place); this module holds the
helpers that measure against them.
"""

from __future__ import annotations

from typing import Any

from engine.budgets import (
    MAX_BLOCK_NESTING,
    MAX_DECIMALS,
    MAX_EXPRESSION_DEPTH,
    MAX_EXPRESSION_NESTING,
    MAX_INT_BITS,
    MAX_OUTPUT_CHARS,
    MAX_RANGE_ITEMS,
    MAX_RENDER_WORK_CHARS,
    MAX_SQL_GROWTH,
    MAX_STEPS,
    MAX_STRING_CHARS,
    MAX_VARIABLES,
    PREVIEW_SECONDS,
    RENDER_SECONDS,
    TEMPLATE_MAX_CHARS,
)
from engine.templates.errors import TemplateError

__all__ = [
    "MAX_BLOCK_NESTING", "MAX_DECIMALS", "MAX_EXPRESSION_DEPTH", "MAX_EXPRESSION_NESTING", "MAX_INT_BITS", "MAX_OUTPUT_CHARS",
    "MAX_RANGE_ITEMS", "MAX_RENDER_WORK_CHARS", "MAX_SQL_GROWTH", "MAX_STEPS", "MAX_STRING_CHARS", "MAX_VARIABLES",
    "PREVIEW_SECONDS", "RENDER_SECONDS", "TEMPLATE_MAX_CHARS", "output_too_long", "refuse_big", "too_big",
    "weight",
]


def weight(value: Any, depth: int = 0) -> int:
    """Roughly how many characters printing `value` takes (lists count their items' text)."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, (list, tuple, set, frozenset)) and depth < 4:
        return len(value) + sum(weight(v, depth + 1) for v in value)
    if isinstance(value, dict) and depth < 4:
        return len(value) + sum(weight(k, depth + 1) + weight(v, depth + 1) for k, v in value.items())
    return 1


def too_big(what: str) -> str:
    """The refusal for one operation over MAX_STRING_CHARS (the SQL path raises the same words)."""
    return (f"{what} would build more than {MAX_STRING_CHARS:,} characters "
            f"(the limit for one step of a template); shorten the text first")


def output_too_long() -> str:
    """The refusal for a rendering over MAX_OUTPUT_CHARS (the SQL path raises the same words)."""
    return f"output too long: more than {MAX_OUTPUT_CHARS:,} characters (the limit for one field of one row)"


def refuse_big(size: int, what: str) -> None:
    """Stop before building something over MAX_STRING_CHARS."""
    if size > MAX_STRING_CHARS:
        raise TemplateError(too_big(what))
