"""Publishing one outbox item exactly once: claim and commit "submitting", call Reddit once, record the answer.

An ambiguous answer (timeout, 5xx, a worker that died mid-call) never leads straight to another
submit: the item becomes "unknown" and the account's own history is searched first; only when the
post is not there after REDDIT_RECONCILE_SETTLE_SECONDS, and still not there REDDIT_RECONCILE_LOOKS
looks later (one settle apart: Reddit's user listings lag behind its writes), is it submitted again.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import praw
from prawcore.exceptions import InvalidToken
from sqlalchemy import select

from studio import event_sources, set_follow
from studio.context import Context, WorkspaceId
from studio.logging_setup import event
from studio.permissions import system_only
from studio.publishing import accounts, content, outbox, pacing
from studio.publishing import reddit_client as rc
from studio.publishing.outbox import aware
from studio.publishing.outcomes import Outcome, classify
from studio.store.base import utcnow
from studio.store.campaign_models import Variation
from studio.store.publishing_models import PublishEvent, PublishItem, RedditAccount
from studio.store.session import Store, TenantSession

Enqueue = Callable[[uuid.UUID, int, dt.datetime], None]
# Observers of the steps of a publish ("claimed", "submitting", "answered", "recorded"): the crash tests
# kill the worker process at each one. Nothing in the product registers here.
CHECKPOINTS: list[Callable[[str], None]] = []
CLOCK_SKEW = dt.timedelta(minutes=10)
MISSED = "not in the account's history yet"
EARLY = dt.timedelta(seconds=5)
HELD_RECHECK = dt.timedelta(minutes=10)
HELD_REASON = set_follow.HELD_REASON
log = logging.getLogger(__name__)


def checkpoint(step: str) -> None:
    for observer in CHECKPOINTS:
        observer(step)


def _seconds(store: Store, name: str, default: float) -> dt.timedelta:
    return dt.timedelta(seconds=float(store.settings.extra.get(name, default) or default))


@dataclass(frozen=True)
class Call:
    """What one Reddit call needs, copied out of the locked row before the transaction ends."""

    item_id: uuid.UUID
    kind: str
    account_id: uuid.UUID
    username: str
    subreddit: str
    title: str
    body: str
    url: str
    flair_id: str
    flair_text: str
    parent: str
    since: dt.datetime
    reconcile: bool
    flags: content.Flags = field(default_factory=content.Flags)


@system_only("the publishing job sends one due item")
def publish(store: Store, ws: WorkspaceId, item_id: uuid.UUID, gen: int, *, enqueue: Enqueue) -> str:
    """The job body; safe to run any number of times, concurrently or after a crash at any line."""
    ctx = Context.job(ws)
    now = utcnow()
    lease = _seconds(store, "REDDIT_SUBMIT_LEASE_SECONDS", 120)
    settle = _seconds(store, "REDDIT_RECONCILE_SETTLE_SECONDS", 60)
    later: tuple[int, dt.datetime] | None = None
    with store.session_scope(ctx) as s:
        item = outbox.lock(s, item_id)
        if item is None:
            return "gone"
        if item.state in outbox.FINAL or item.state == "failed":
            return f"nothing to do: {item.state}"
        if item.job_gen != gen:
            return "superseded by a newer job"
        if item.state == "submitting":
            started = aware(item.submitting_at) or now
            if now < started + lease:
                return "another worker is submitting it"
            outbox.move(s, item, "unknown", "the worker submitting it stopped before recording Reddit's answer",
                        reason="Checking the account's history: the worker stopped while Reddit was answering.")
        if item.state in ("scheduled", "retry_later") and (aware(item.scheduled_at) or now) > now + EARLY:
            return "not due yet"
        blocked = _blocked(s, item)
        waiting = item.state in ("scheduled", "retry_later")
        on_hold = waiting and set_follow.held(s, item.campaign_set_id)  # made paused: waits for its approval
        paced = pacing.not_before(s, item, now) if blocked is None and not on_hold and item.state != "unknown" else None
        if on_hold:
            item.scheduled_at = now + HELD_RECHECK
            outbox.move(s, item, "retry_later", "its campaign set is paused until approved", reason=HELD_REASON)
            later = (outbox.bump(item), item.scheduled_at)
            call = None
        elif paced is not None:  # due together with another post of the account or subreddit: spaced out here too
            item.scheduled_at = paced[0]
            outbox.move(s, item, "retry_later", paced[1], reason=paced[1])
            later = (outbox.bump(item), paced[0])
            call = None
        elif blocked is not None:
            if isinstance(blocked, str) and item.state == "unknown":  # it may exist: never fail it blind
                item.reason = f"{blocked} It may already be posted; the studio checks once it can."
                return "cannot reconcile yet: " + blocked
            if isinstance(blocked, str):
                outbox.move(s, item, "failed", blocked, reason=blocked)
                return "failed: " + blocked
            item.scheduled_at = blocked
            outbox.move(s, item, "retry_later", "the parent is not posted yet",
                        reason="Waiting for the thread it replies to.")
            later = (outbox.bump(item), blocked)
            call = None
        else:
            checked = _checked(s, item, refresh=item.state != "unknown")
            if isinstance(checked, str) and item.state == "unknown":  # it may exist: never fail it blind
                item.reason = f"{checked} It may already be posted; check the account's history."
                return "cannot reconcile: " + checked
            if isinstance(checked, str):  # refused at send time: recorded with the reason, never sent
                outbox.move(s, item, "failed", "refused before sending: " + checked, reason=checked)
                return "refused: " + checked
            call = _prepare(s, item, now, checked)
            if not call.reconcile:
                checkpoint("claimed")
    if later is not None:
        enqueue(item_id, *later)
        return "held" if on_hold else "keeping the limits" if paced is not None else "waiting for the parent"
    assert call is not None
    if call.reconcile:
        found = _find(store, ctx, call)
        if found is not None:
            event(log, "publish.outcome", item_id=str(item_id), workspace_id=str(ws), kind=call.kind,
                  account=call.username, subreddit=call.subreddit, outcome="found_in_history", reddit_id=found.fullname)
            return _record(store, ctx, item_id, gen, posted=found, detail="found in the account's history")
        if now < call.since + settle:
            return _defer(store, ctx, item_id, gen, call.since + settle, enqueue)
        looks = int(store.settings.extra.get("REDDIT_RECONCILE_LOOKS", 2) or 2)
        if _missed(store, ctx, item_id, call.since) + 1 < looks:  # the listing may lag: look again first
            return _defer(store, ctx, item_id, gen, now + settle, enqueue, missed=True)
        if not _claim_again(store, ctx, item_id, gen):
            return "state changed meanwhile"
    checkpoint("submitting")
    where: dict[str, Any] = {"item_id": str(item_id), "workspace_id": str(ws), "kind": call.kind, "account": call.username,
             "subreddit": call.subreddit, "parent": call.parent or None}
    event(log, "publish.attempt", **where)
    began = time.perf_counter()
    try:
        reddit = accounts.client(store, ctx, call.account_id)
        try:
            posted = _send(reddit, call)
        except InvalidToken:  # 401: the request was refused before anything was posted; refresh once
            posted = _send(reddit, call)
    except Exception as exc:
        checkpoint("answered")
        outcome = classify(exc, subreddit=call.subreddit, username=call.username)
        event(log, "publish.outcome", level=logging.INFO if outcome.kind == "retry_later" else logging.WARNING,
              **where, outcome=outcome.kind, reason=outcome.reason, error=type(exc).__name__,
              duration_ms=round((time.perf_counter() - began) * 1000, 1))
        return _record(store, ctx, item_id, gen, outcome=outcome, enqueue=enqueue, settle=settle)
    checkpoint("answered")
    event(log, "publish.outcome", **where, outcome="posted", reddit_id=posted.fullname,
          duration_ms=round((time.perf_counter() - began) * 1000, 1))
    result = _record(store, ctx, item_id, gen, posted=posted, detail="Reddit confirmed")
    checkpoint("recorded")
    return result


def _blocked(s: TenantSession, item: PublishItem) -> str | dt.datetime | None:
    """Why the item cannot go now: a reason (fail), a later time (a reply waiting for its thread), or None."""
    account = s.get(RedditAccount, item.account_id) if item.account_id else None
    if account is None:
        return "Its Reddit account was removed from the workspace; pick another account and retry."
    if account.status != "active":
        return (f"u/{account.username} needs reconnecting ({account.status_reason or account.status}); nothing is "
                "posted from it until then.")
    if item.kind == "comment" and item.parent_item_id and not item.parent_fullname:
        parent = s.get(PublishItem, item.parent_item_id)
        if parent is None or parent.state in ("failed", "cancelled"):
            return "The thread or comment this replies to was not posted."
        if parent.state != "posted":
            return max(aware(parent.scheduled_at) or utcnow(), utcnow()) + dt.timedelta(minutes=5)
        item.parent_fullname = f"t3_{parent.reddit_id}" if parent.kind == "thread" else f"t1_{parent.reddit_id}"
    return None


def _checked(s: TenantSession, item: PublishItem, *, refresh: bool) -> content.Flags | str:
    """The flags to send with, or why the item must not go; a variation edited after planning is what goes
    (`refresh`; an item that may already be on Reddit keeps what was sent, so its history search matches)."""
    v = s.get(Variation, item.variation_id) if item.variation_id else None
    own = item.kind == "thread" or item.dedupe_key.startswith("comment:")  # not a reply rendered from a template
    if v is not None and refresh and v.status != "approved":  # rejected or sent back to review after planning
        return (f"Its variation (row {v.row_index + 1}) is {v.status} now, not approved: approve it and retry, "
                "or cancel this item.")
    if v is not None and own and refresh:
        fresh = (str(v.fields.get("title") or v.title or ""), str(v.fields.get("body") or ""),
                 str(v.fields.get("url") or "")) if item.kind == "thread" else (item.title, str(v.fields.get("body") or ""),
                                                                              item.url)
        if fresh != (item.title, item.body, item.url):
            item.title, item.body, item.url = fresh
            outbox.move(s, item, item.state, "content taken from the variation, edited after planning")
    flags: content.Flags | str = content.Flags()
    if item.kind == "thread":
        if v is None:
            return ("Its variation was deleted after planning, so its NSFW, spoiler and send-replies settings are "
                    "unknown; plan the set again.")
        flags = content.flags(v.fields)
        if isinstance(flags, str):
            return flags
    why = content.problem(item.kind, title=item.title, body=item.body, url=item.url, flair_text=item.flair_text)
    return why or flags


def _prepare(s: TenantSession, item: PublishItem, now: dt.datetime, flags: content.Flags) -> Call:
    account = s.get(RedditAccount, item.account_id)
    assert account is not None
    reconcile = item.state == "unknown"
    if not reconcile:
        outbox.move(s, item, "submitting", f"attempt {item.attempts + 1}", reason="")
        item.submitting_at, item.attempts = now, item.attempts + 1
    since = aware(item.submitting_at) or now
    return Call(item.id, item.kind, account.id, account.username, item.subreddit, item.title, item.body, item.url,
                item.flair_id, item.flair_text, item.parent_fullname, since, reconcile, flags)


def _send(reddit: praw.Reddit, call: Call) -> rc.Posted:
    if call.kind == "comment":
        return rc.reply(reddit, parent_fullname=call.parent, body=call.body)
    return rc.submit(reddit, subreddit=call.subreddit, title=call.title, body=call.body, url=call.url,
                     flair_id=call.flair_id, flair_text=call.flair_text, nsfw=call.flags.nsfw,
                     spoiler=call.flags.spoiler, send_replies=call.flags.send_replies)


def _find(store: Store, ctx: Context, call: Call) -> rc.Posted | None:
    """The post (or comment) in the account's recent history that this item produced, if any."""
    reddit = accounts.client(store, ctx, call.account_id, retries=True)
    history = rc.recent(reddit, call.username, comments=call.kind == "comment")
    with store.session_scope(ctx) as s:
        taken = set(s.scalars(select(PublishItem.reddit_id).where(PublishItem.reddit_id != "",
                                                                  PublishItem.id != call.item_id)))
    for r in history:
        if r.id in taken or not (call.since - CLOCK_SKEW <= r.created_at <= utcnow() + CLOCK_SKEW):
            continue
        if call.kind == "comment" and r.parent == call.parent and r.body.strip() == call.body.strip():
            return rc.Posted(r.id, r.fullname, r.url)
        if call.kind == "thread" and r.subreddit.lower() == call.subreddit.lower() and r.title == call.title:
            return rc.Posted(r.id, r.fullname, r.url)
    return None


def _missed(store: Store, ctx: Context, item_id: uuid.UUID, since: dt.datetime) -> int:
    """How many settled looks at the history since the last submit did not find the post."""
    with store.session_scope(ctx) as s:
        return len(list(s.scalars(select(PublishEvent.id).where(
            PublishEvent.item_id == item_id, PublishEvent.to_state == "unknown",
            PublishEvent.detail.startswith(MISSED), PublishEvent.at >= since - dt.timedelta(seconds=1)))))


def _defer(store: Store, ctx: Context, item_id: uuid.UUID, gen: int, at: dt.datetime, enqueue: Enqueue, *,
           missed: bool = False) -> str:
    with store.session_scope(ctx) as s:
        item = outbox.lock(s, item_id)
        if item is None or item.state != "unknown" or item.job_gen != gen:
            return "state changed meanwhile"
        if missed:
            outbox.move(s, item, "unknown", f"{MISSED}; looking again at {at:%H:%M:%S} UTC before any new submit")
        new_gen = outbox.bump(item)
    enqueue(item_id, new_gen, at)
    return "not in the history yet; checking again"


def _claim_again(store: Store, ctx: Context, item_id: uuid.UUID, gen: int) -> bool:
    """Settled and not found: submit again, committed before the call like the first time."""
    with store.session_scope(ctx) as s:
        item = outbox.lock(s, item_id)
        if item is None or item.state != "unknown" or item.job_gen != gen:
            return False
        outbox.move(s, item, "submitting", f"not found in the history; attempt {item.attempts + 1}", reason="")
        item.submitting_at, item.attempts = utcnow(), item.attempts + 1
    return True


def _record(store: Store, ctx: Context, item_id: uuid.UUID, gen: int, *, posted: rc.Posted | None = None,
            outcome: Outcome | None = None, detail: str = "", enqueue: Enqueue | None = None,
            settle: dt.timedelta = dt.timedelta(0)) -> str:
    follow_up: tuple[int, dt.datetime] | None = None
    with store.session_scope(ctx) as s:
        item = outbox.lock(s, item_id)
        if item is None:
            return "gone"
        if item.job_gen != gen or item.state not in ("submitting", "unknown"):
            return f"left as {item.state}"
        if posted is not None:
            outbox.move(s, item, "posted", detail, reason="")
            item.reddit_id, item.reddit_url, item.posted_at = posted.id, posted.url, utcnow()
            event_sources.post_moved(s, item, "posted", None)
            return "posted"
        assert outcome is not None
        if outcome.kind in ("revoked", "reauth"):
            account = s.get(RedditAccount, item.account_id) if item.account_id else None
            if account is not None:
                accounts.mark_reconnect(s, account, outcome.reason)
            outbox.move(s, item, "failed", outcome.reason, reason=outcome.reason)
            return "failed: " + outcome.reason
        if outcome.kind == "failed":
            outbox.move(s, item, "failed", outcome.reason, reason=outcome.reason)
            return "failed: " + outcome.reason
        if outcome.kind == "retry_later":
            at = utcnow() + dt.timedelta(seconds=outcome.wait_seconds + 1)
            item.scheduled_at = at
            outbox.move(s, item, "retry_later", outcome.reason, reason=outcome.reason)
        else:
            at = utcnow() + settle
            outbox.move(s, item, "unknown", outcome.reason, reason=outcome.reason)
        follow_up = (outbox.bump(item), at)
    if enqueue is not None:
        enqueue(item_id, *follow_up)
    return outcome.kind
