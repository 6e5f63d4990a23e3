"""The `state` of a Reddit sign-in in progress, for organic accounts and Reddit Ads alike: kept as a hash for
STATE_TTL, spent once by the callback of the member who started it, in the workspace it was started in."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import TypeVar

from sqlalchemy import delete, select

from studio.context import Context, Permission
from studio.errors import ValidationFailed
from studio.permissions import requires
from studio.store.ads_models import AdsOAuthState
from studio.store.base import aware, utcnow
from studio.store.publishing_models import RedditOAuthState
from studio.store.session import Store, TenantSession

STATE_TTL = dt.timedelta(minutes=15)
State = TypeVar("State", RedditOAuthState, AdsOAuthState)  # the organic and the ads flow's table


def state_hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def remember(s: TenantSession, model: type[State], state: str, user_id: uuid.UUID | None) -> None:
    """Keep a new flow's state until STATE_TTL from now (the workspace's expired ones are forgotten)."""
    s.execute(delete(model).where(model.expires_at < utcnow()))
    s.add(model(state_hash=state_hash(state), user_id=user_id, expires_at=utcnow() + STATE_TTL))


@requires(Permission.MANAGE_INTEGRATIONS)
def spend(store: Store, ctx: Context, model: type[State], state: str, *, refused: str) -> None:
    """The callback's check: the state is known, unexpired and this member's, else ValidationFailed(`refused`).

    A known state is deleted whatever the outcome (committed before raising), so it works once at most."""
    with store.session_scope(ctx) as s:
        s.require(Permission.MANAGE_INTEGRATIONS)
        row = s.scalar(select(model).where(model.state_hash == state_hash(state or "")))
        if row is not None:
            s.delete(row)
        valid = row is not None and aware(row.expires_at) > utcnow() and row.user_id == ctx.user_id
    if not valid:
        raise ValidationFailed(refused)
