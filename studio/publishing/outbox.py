"""The outbox state machine: every transition is checked, stamped and logged as an event in the same transaction.

    scheduled ─► submitting ─► posted
        │            ├──────► unknown ─► (found in the account's history) posted
        │            │                └► (not found once settled) submitting
        │            ├──────► retry_later ─► submitting …   (RATELIMIT / 429, at Reddit's time)
        │            └──────► failed (reason) ─► scheduled  (a person retries)
        └─► cancelled
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select

from studio.errors import ValidationFailed
from studio.store.base import utcnow
from studio.store.publishing_models import PublishEvent, PublishItem
from studio.store.session import TenantSession

STATES = ("scheduled", "submitting", "posted", "unknown", "retry_later", "failed", "cancelled")
FINAL = frozenset({"posted", "cancelled"})
LIVE = frozenset({"scheduled", "submitting", "unknown", "retry_later", "posted"})  # these occupy a slot
ALLOWED: dict[str, frozenset[str]] = {
    "scheduled": frozenset({"submitting", "retry_later", "failed", "cancelled", "scheduled"}),
    "retry_later": frozenset({"submitting", "retry_later", "failed", "cancelled", "scheduled"}),
    "submitting": frozenset({"posted", "unknown", "retry_later", "failed"}),
    "unknown": frozenset({"posted", "submitting", "unknown", "failed"}),
    "failed": frozenset({"scheduled", "cancelled"}),
    "posted": frozenset(),
    "cancelled": frozenset(),
}
LABELS = {"scheduled": "Scheduled", "submitting": "Submitting", "posted": "Posted", "unknown": "Checking",
          "retry_later": "Retry later", "failed": "Failed", "cancelled": "Cancelled"}


class BadTransition(ValidationFailed):
    pass


def aware(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite returns naive datetimes; every stored time is UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def lock(s: TenantSession, item_id: uuid.UUID) -> PublishItem | None:
    return s.scalar(select(PublishItem).where(PublishItem.id == item_id).with_for_update())


def move(s: TenantSession, item: PublishItem, to: str, detail: str = "", *, reason: str | None = None) -> None:
    """Change the item's state (checked against ALLOWED) and log the transition."""
    if to not in ALLOWED.get(item.state, frozenset()):
        raise BadTransition(f"A {LABELS.get(item.state, item.state).lower()} item cannot become "
                            f"{LABELS.get(to, to).lower()}.")
    s.add(PublishEvent(item_id=item.id, from_state=item.state, to_state=to, detail=detail[:2000]))
    item.state, item.updated_at = to, utcnow()
    if reason is not None:
        item.reason = reason[:2000]
    if to == "failed":
        from studio import event_sources

        event_sources.post_moved(s, item, to, reason)


def bump(item: PublishItem) -> int:
    """A new job generation: older jobs of this item find themselves superseded and do nothing."""
    item.job_gen += 1
    return item.job_gen


def job_id(item_id: uuid.UUID | str, gen: int) -> str:
    return f"publish-{item_id}-{gen}"
