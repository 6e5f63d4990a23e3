"""Facts about the text a column prints, true for every row of a table (prefix or whole data set).

With them a template's SQL can leave out branches the rows cannot take (`CompiledTemplate.sql_for`):
planning a preview query costs more than running it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from engine.templates.unicode_tables import UPPER_SPECIAL, chars

__all__ = ["ASCII", "NO_RARE_UPPER", "PLAIN_TEXT", "TWO_DECIMALS", "number_facts", "text_facts"]

ASCII, NO_RARE_UPPER, TWO_DECIMALS = "ascii", "no_rare_upper", "two_decimals"
"""Facts about the text a value prints, true for every row (see `text_facts`): with them a
filter can use a shorter SQL form (planning a preview query costs more than running it)."""
PLAIN_TEXT = frozenset({ASCII, NO_RARE_UPPER})
"""What numbers, booleans and dates print: ASCII."""
_RARE_UPPER = re.compile("[" + re.escape(chars(UPPER_SPECIAL).replace("\u00df", "")) + "]")
"""Characters whose Python upper() is several characters, except ß (unicode_tables.UPPER_SPECIAL)."""


def text_facts(values: Iterable[str | None]) -> frozenset[str]:
    """The facts (ASCII, NO_RARE_UPPER) that hold for every one of these texts."""
    joined = "\x00".join(v for v in values if v is not None)
    if joined.isascii():
        return PLAIN_TEXT
    return frozenset() if _RARE_UPPER.search(joined) else frozenset({NO_RARE_UPPER})


def number_facts(values: Iterable[float | None]) -> frozenset[str]:
    """TWO_DECIMALS when every value prints (repr) with at most two decimals, is non-zero and below 1e13.

    Such a value survives DECIMAL(18,2) unchanged, so `float_text_sql` needs no test for it.
    """
    for v in values:
        if v is None:
            continue
        r = repr(v)
        if v == 0 or not abs(v) < 1e13 or "e" in r or "n" in r or len(r) - r.index(".") - 1 > 2:
            return frozenset()
    return frozenset({TWO_DECIMALS})
