"""Authoring drafts: what a user is writing, saved as they type, resumed after a reload or on another machine.

A draft belongs to one user in one workspace and has a kind: "preview" (data set, format, template choice,
rule set, variation sources, dedup, strategy) or "templates" (unsaved text of the template editor, by
editor scope). Drafts are private: nobody else in the workspace reads or overwrites them. Anyone who may
view the workspace may keep drafts (viewers preview too); a member removed from the workspace loses access
with the membership (the unit of work refuses them).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from studio.context import Context, Permission
from studio.errors import ValidationFailed
from studio.permissions import requires
from studio.store.base import utcnow
from studio.store.draft_models import Draft
from studio.store.session import Store

KINDS = ("preview", "templates")
MAX_BYTES = 512 * 1024  # a draft is settings and template text, never data


def _check(ctx: Context, kind: str) -> None:
    if kind not in KINDS:
        raise ValidationFailed(f"Unknown draft kind {kind!r}; one of: {', '.join(KINDS)}.")
    if ctx.user_id is None:
        raise ValidationFailed("Drafts belong to a signed-in user.")


@requires(Permission.VIEW)
def load(store: Store, ctx: Context, kind: str) -> dict[str, Any]:
    """The user's draft of `kind` in this workspace ({} when there is none)."""
    _check(ctx, kind)
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        data = s.scalar(select(Draft.data).where(Draft.user_id == ctx.user_id, Draft.kind == kind))
        return dict(data) if isinstance(data, dict) else {}


@requires(Permission.VIEW)
def save(store: Store, ctx: Context, kind: str, data: dict[str, Any]) -> None:
    """Replace the user's draft of `kind` with `data` (plain JSON)."""
    _check(ctx, kind)
    try:
        size = len(json.dumps(data))
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(f"A draft must be plain JSON: {exc}.") from None
    if size > MAX_BYTES:
        raise ValidationFailed(f"This draft is {size / 1024:,.0f} KB; drafts hold at most {MAX_BYTES // 1024} KB. "
                               "Save the template or rule set, or shorten the variation sources.")
    for attempt in range(2):
        try:
            with store.session_scope(ctx) as s:
                s.require(Permission.VIEW)
                row = s.scalar(select(Draft).where(Draft.user_id == ctx.user_id, Draft.kind == kind))
                if row is None:
                    s.add(Draft(user_id=ctx.user_id, kind=kind, data=data, updated_at=utcnow()))
                else:
                    row.data, row.updated_at = data, utcnow()
            return
        except IntegrityError:  # another tab created it between our read and write: update that one
            if attempt:
                raise


@requires(Permission.VIEW)
def discard(store: Store, ctx: Context, kind: str) -> None:
    """Forget the user's draft of `kind` in this workspace."""
    _check(ctx, kind)
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        s.execute(delete(Draft).where(Draft.user_id == ctx.user_id, Draft.kind == kind))
