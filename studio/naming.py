"""Names of saved workspace objects (data sets, templates, rule sets): trimmed, bounded, printable, unique.

A name is shown in lists, audit lines and SQL, so it may not hold control characters (NUL, which
Postgres text cannot store, among them) or the invisible direction overrides that make
``txt.exe`` read as ``exe.txt``.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from typing import Any

from sqlalchemy import select

from studio.errors import ValidationFailed
from studio.store.session import TenantSession

# Bidirectional embeddings, overrides and isolates: invisible, and able to reorder what a name shows.
_DIRECTION = re.compile("[\u202a-\u202e\u2066-\u2069]")


def unprintable(text: str) -> str | None:
    """A description of the first character a name may not hold, or None when it is clean."""
    for char in text:
        if char == "\x00":
            return "a NUL character (\\0)"
        if _DIRECTION.match(char):
            return f"an invisible text-direction control (U+{ord(char):04X})"
        if unicodedata.category(char) == "Cs":
            return f"an invalid character (a lone surrogate, U+{ord(char):04X})"
        if unicodedata.category(char) == "Cc" and char not in "\t\n\r":
            return f"a control character (U+{ord(char):04X})"
    return None


def check_printable(text: str, noun: str) -> None:
    """Refuse a name with control characters or direction overrides, saying which and what to do."""
    found = unprintable(text)
    if found is not None:
        raise ValidationFailed(f"The {noun} name contains {found}, which names may not hold: "
                               "type the name again without it.")


def printable(text: str) -> str:
    """``text`` without the characters names may not hold (for names derived from file names)."""
    return "".join(char for char in text if unprintable(char) is None)


def clean_unique_name(s: TenantSession, model: Any, name: str, noun: str, *, max_len: int,
                      exclude: uuid.UUID | None = None) -> str:
    """Collapse whitespace; refuse empty, too long, unprintable, or a name another `model` row already has."""
    check_printable(name, noun)
    clean = " ".join(name.split())
    if not clean:
        raise ValidationFailed(f"Give the {noun} a name.")
    if len(clean) > max_len:
        raise ValidationFailed(f"Keep the name under {max_len} characters.")
    other = s.scalar(select(model.id).where(model.name == clean))
    if other is not None and other != exclude:
        raise ValidationFailed(f"Another {noun} is already called {clean!r}; pick another name.")
    return clean
