"""The publish queue after commit: list it, move, cancel, retry or publish an item now, read its history."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from studio import audit
from studio.context import Context, Permission
from studio.errors import NotFound, ValidationFailed
from studio.permissions import requires, system_only
from studio.publishing import accounts, outbox, planner
from studio.publishing.outbox import aware
from studio.publishing.schedule import enqueue
from studio.store.base import utcnow
from studio.store.campaign_models import CampaignSet
from studio.store.publishing_models import PublishEvent, PublishItem, RedditAccount
from studio.store.session import Store, TenantSession


@dataclass(frozen=True)
class QueueRow:
    id: uuid.UUID
    set_name: str
    kind: str
    state: str
    title: str
    subreddit: str
    account: str
    at: dt.datetime
    reason: str
    attempts: int
    reddit_url: str
    posted_at: dt.datetime | None


@dataclass(frozen=True)
class EventRow:
    at: dt.datetime
    from_state: str
    to_state: str
    detail: str


@requires(Permission.VIEW)
def list_queue(store: Store, ctx: Context, *, set_id: uuid.UUID | None = None, states: Sequence[str] = (),
               start: dt.datetime | None = None, end: dt.datetime | None = None, limit: int = 2000) -> list[QueueRow]:
    """Items by time (scheduled time, or when they were posted), newest state and reason included."""
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        stmt = (select(PublishItem, CampaignSet.name, RedditAccount.username)
                .join(CampaignSet, CampaignSet.id == PublishItem.campaign_set_id)
                .outerjoin(RedditAccount, RedditAccount.id == PublishItem.account_id))
        if set_id is not None:
            stmt = stmt.where(PublishItem.campaign_set_id == set_id)
        if states:
            stmt = stmt.where(PublishItem.state.in_(list(states)))
        if start is not None:
            stmt = stmt.where(PublishItem.scheduled_at >= start)
        if end is not None:
            stmt = stmt.where(PublishItem.scheduled_at < end)
        rows = s.execute(stmt.order_by(PublishItem.scheduled_at, PublishItem.created_at).limit(limit)).all()
        return [QueueRow(i.id, name, i.kind, i.state, i.title or i.body[:80], i.subreddit, user or "(removed)",
                         aware(i.scheduled_at) or utcnow(), i.reason, i.attempts, i.reddit_url, aware(i.posted_at))
                for i, name, user in rows]


@requires(Permission.VIEW)
def history(store: Store, ctx: Context, item_id: uuid.UUID) -> list[EventRow]:
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        events = s.scalars(select(PublishEvent).where(PublishEvent.item_id == item_id).order_by(PublishEvent.at))
        return [EventRow(aware(e.at) or utcnow(), e.from_state, e.to_state, e.detail) for e in events]


def _item(s: TenantSession, item_id: uuid.UUID) -> PublishItem:
    item = outbox.lock(s, item_id)
    if item is None:
        raise NotFound("This item is no longer in the queue.")
    return item


@requires(Permission.EDIT)
def move(store: Store, ctx: Context, item_id: uuid.UUID, at: dt.datetime) -> None:
    """Reschedule one waiting item; refused (with the reason) when the new time would break a limit."""
    at = aware(at) or utcnow()
    if at < utcnow() - dt.timedelta(minutes=1):
        raise ValidationFailed("Pick a time in the future.")
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        item = _item(s, item_id)
        if item.state not in ("scheduled", "retry_later"):
            raise ValidationFailed(f"Only waiting items can be moved; this one is {outbox.LABELS[item.state].lower()}.")
        if item.kind == "thread":
            why = _conflict(s, item, at)
            if why:
                raise ValidationFailed(f"Not at that time: {why}.")
        item.scheduled_at = at
        outbox.move(s, item, "scheduled", f"moved to {at:%Y-%m-%d %H:%M} UTC")
        gen = outbox.bump(item)
        audit.record(s, "publish.move", object_type="publish_item", object_id=item.id, summary=f"Moved to {at:%c} UTC")
    enqueue(store, ctx, [(item_id, gen, at)])


def _conflict(s: TenantSession, item: PublishItem, at: dt.datetime) -> str | None:
    account = s.get(RedditAccount, item.account_id) if item.account_id else None
    others = s.execute(select(PublishItem.account_id, PublishItem.subreddit, PublishItem.scheduled_at,
                              PublishItem.posted_at).where(PublishItem.state.in_(outbox.LIVE), PublishItem.id != item.id,
                                                           PublishItem.kind == "thread")).all()
    mine = [aware(p or t) for a, _, t, p in others if a == item.account_id]
    sub = [aware(p or t) for _, sr, t, p in others if sr.lower() == item.subreddit.lower()]
    low = account is not None and accounts.info(account).low_karma
    limits = planner.LOW_KARMA_LIMITS if low else planner.DEFAULT_LIMITS
    return planner.conflicts(at, [t for t in mine if t], [t for t in sub if t], limits)


@requires(Permission.EDIT)
def cancel(store: Store, ctx: Context, item_id: uuid.UUID) -> int:
    """Cancel a waiting or failed item and the replies waiting on it; returns how many were cancelled."""
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        item = _item(s, item_id)
        if item.state not in ("scheduled", "retry_later", "failed"):
            raise ValidationFailed(f"A {outbox.LABELS[item.state].lower()} item cannot be cancelled"
                                   + (" (it may already be on Reddit)." if item.state in ("submitting", "unknown") else "."))
        done = [item]
        children = s.scalars(select(PublishItem).where(PublishItem.parent_item_id == item.id,
                                                       PublishItem.state.in_(("scheduled", "retry_later"))))
        done += list(children)
        for it in done:
            outbox.move(s, it, "cancelled", "cancelled by a member", reason="Cancelled.")
            outbox.bump(it)
        audit.record(s, "publish.cancel", object_type="publish_item", object_id=item.id,
                     summary=f"Cancelled {len(done)} item{'' if len(done) == 1 else 's'}")
        return len(done)


@requires(Permission.EDIT)
def retry(store: Store, ctx: Context, item_id: uuid.UUID) -> None:
    """Put a failed item back in the queue, due now."""
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        item = _item(s, item_id)
        if item.state != "failed":
            raise ValidationFailed("Only failed items can be retried.")
        item.scheduled_at = utcnow()
        outbox.move(s, item, "scheduled", "retried by a member", reason="")
        gen = outbox.bump(item)
        audit.record(s, "publish.retry", object_type="publish_item", object_id=item.id, summary="Retried")
    enqueue(store, ctx, [(item_id, gen, utcnow())])


@requires(Permission.EDIT)
def publish_now(store: Store, ctx: Context, item_id: uuid.UUID) -> None:
    """Send a waiting item now. Any number of concurrent clicks make one job (same generation, same job id)."""
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        item = _item(s, item_id)
        now = utcnow()  # read under the row lock: a click that waited sees the first click's time as due
        if item.state not in ("scheduled", "retry_later"):
            if item.state in ("submitting", "posted", "unknown"):
                return  # already on its way: a repeated click changes nothing
            raise ValidationFailed(f"A {outbox.LABELS[item.state].lower()} item cannot be published.")
        if (aware(item.scheduled_at) or now) > now + dt.timedelta(seconds=5):
            item.scheduled_at = now
            outbox.move(s, item, "scheduled", "publish now")
            outbox.bump(item)
        gen = item.job_gen
    enqueue(store, ctx, [(item_id, gen, now)])


@system_only("the sweeper job")
def due(store: Store, ctx: Context, *, now: dt.datetime | None = None, lease: dt.timedelta | None = None,
        grace: dt.timedelta = dt.timedelta(seconds=30)) -> list[tuple[uuid.UUID, int, str]]:
    """Items the sweeper should look at: due and waiting, unknown, or submitting past the lease."""
    now = now or utcnow()
    lease = lease or dt.timedelta(seconds=float(store.settings.extra.get("REDDIT_SUBMIT_LEASE_SECONDS", 120) or 120))
    with store.session_scope(ctx) as s:
        rows = s.execute(select(PublishItem.id, PublishItem.job_gen, PublishItem.state, PublishItem.scheduled_at,
                                PublishItem.submitting_at, PublishItem.updated_at)
                         .where(PublishItem.state.in_(("scheduled", "retry_later", "unknown", "submitting")))).all()
    out = []
    for item_id, gen, state, at, submitting, updated in rows:
        if (state in ("scheduled", "retry_later") and (aware(at) or now) <= now - grace) or (state == "unknown" and (aware(updated) or now) <= now - grace) or (state == "submitting" and (aware(submitting) or now) + lease <= now):
            out.append((item_id, gen, state))
    return out


@system_only("the sweeper job")
def revive(store: Store, ctx: Context, item_id: uuid.UUID, gen: int) -> int | None:
    """A new job generation for an abandoned item (its job died or vanished); None when it moved on meanwhile."""
    with store.session_scope(ctx) as s:
        item = outbox.lock(s, item_id)
        if item is None or item.job_gen != gen or item.state not in ("scheduled", "retry_later", "unknown",
                                                                      "submitting"):
            return None
        return outbox.bump(item)


@requires(Permission.VIEW)
def run_due(store: Store, ctx: Context) -> int:
    """Embedded mode (no Redis, no scheduler): publish what is due, in this process; returns how many ran."""
    from studio.publishing import execute

    assert ctx.workspace_id is not None
    ran = 0
    # any member's open page sends what editors scheduled, as the workspace's job would
    for item_id, gen, _state in due(store, Context.job(ctx.workspace_id), grace=dt.timedelta(0)):
        execute.publish(store, ctx.workspace_id, item_id, gen, enqueue=lambda *_: None)
        ran += 1
    return ran
