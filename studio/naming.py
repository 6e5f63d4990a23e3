"""Names of saved workspace objects (templates, rule sets): trimmed, bounded, unique in the workspace."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from studio.errors import ValidationFailed
from studio.store.session import TenantSession


def clean_unique_name(s: TenantSession, model: Any, name: str, noun: str, *, max_len: int,
                      exclude: uuid.UUID | None = None) -> str:
    """Collapse whitespace; refuse empty, too long, or a name another `model` row already has."""
    clean = " ".join(name.split())
    if not clean:
        raise ValidationFailed(f"Give the {noun} a name.")
    if len(clean) > max_len:
        raise ValidationFailed(f"Keep the name under {max_len} characters.")
    other = s.scalar(select(model.id).where(model.name == clean))
    if other is not None and other != exclude:
        raise ValidationFailed(f"Another {noun} is already called {clean!r}; pick another name.")
    return clean
