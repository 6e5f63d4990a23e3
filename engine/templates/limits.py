"""Caps that keep an untrusted template from hanging a worker or eating its memory."""

from __future__ import annotations

from typing import Any

from engine.templates.errors import TemplateError

TEMPLATE_MAX_CHARS = 50_000
"""Longest template source accepted."""

MAX_VARIABLES = 100
"""Most distinct columns one template may use."""

MAX_OUTPUT_CHARS = 100_000
"""Longest text one template may render for one row (one field)."""

MAX_RANGE_ITEMS = 10_000
"""Longest `range()` a template may build."""

MAX_STEPS = 100_000
"""Loop iterations plus calls one render may make before it is stopped."""

MAX_STRING_CHARS = 1_000_000
"""Longest string or list a single operation may build while rendering."""

MAX_INT_BITS = 4_096
"""Largest integer (in bits) arithmetic may produce while rendering."""

MAX_DECIMALS = 10
"""Most decimals `number`, `percent` and friends may print."""


def weight(value: Any, depth: int = 0) -> int:
    """Roughly how many characters printing `value` takes (lists count their items' text)."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, (list, tuple, set, frozenset)) and depth < 4:
        return len(value) + sum(weight(v, depth + 1) for v in value)
    if isinstance(value, dict) and depth < 4:
        return len(value) + sum(weight(k, depth + 1) + weight(v, depth + 1) for k, v in value.items())
    return 1


def refuse_big(size: int, what: str) -> None:
    """Stop before building something over MAX_STRING_CHARS."""
    if size > MAX_STRING_CHARS:
        raise TemplateError(f"{what} would build more than {MAX_STRING_CHARS:,} characters")
