"""Engagement: the hourly reading of every posted item (batches of 100), its history, and CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from dataclasses import dataclass

from sqlalchemy import select

from studio import event_sources
from studio.audit import safe_cell
from studio.context import Context, Permission, WorkspaceId
from studio.permissions import requires, system_only
from studio.publishing import accounts
from studio.publishing import reddit_client as rc
from studio.publishing.outbox import aware
from studio.store.base import utcnow
from studio.store.publishing_models import PostMetric, PublishItem, RedditAccount
from studio.store.session import Store

BATCH = 100


@dataclass(frozen=True)
class MetricRow:
    item_id: uuid.UUID
    title: str
    subreddit: str
    kind: str
    at: dt.datetime
    score: int
    upvote_ratio: float
    num_comments: int
    removed: bool
    reddit_url: str


def _fullname(item: PublishItem) -> str:
    return ("t3_" if item.kind == "thread" else "t1_") + item.reddit_id


@system_only("the periodic metrics job")
def sync(store: Store, ws: WorkspaceId) -> int:
    """Read every posted item of the workspace once; returns how many readings were stored."""
    ctx = Context.job(ws)
    with store.session_scope(ctx) as s:
        posted = [(i.id, _fullname(i)) for i in s.scalars(select(PublishItem).where(
            PublishItem.state == "posted", PublishItem.reddit_id != ""))]
        reader = next((a.id for a in s.scalars(select(RedditAccount).where(RedditAccount.status == "active")
                                                .order_by(RedditAccount.username))), None)
    if not posted or reader is None:
        return 0
    reddit = accounts.client(store, ctx, reader, retries=True)
    by_name = {name: item_id for item_id, name in posted}
    stored = 0
    names = list(by_name)
    for start in range(0, len(names), BATCH):
        readings = rc.readings(reddit, names[start:start + BATCH])
        now = utcnow()
        with store.session_scope(ctx) as s:
            for r in readings:
                item_id = by_name.get(r.fullname)
                if item_id is None:
                    continue
                s.add(PostMetric(item_id=item_id, at=now, score=r.score, upvote_ratio=r.upvote_ratio,
                                 num_comments=r.num_comments, removed=r.removed))
                if r.removed:
                    item = s.get(PublishItem, item_id)
                    if item is not None and not item.removed:
                        item.removed, item.reason = True, "Removed from Reddit (by moderators or Reddit's filters)."
                        event_sources.post_removed(s, item)
                stored += 1
    return stored


@requires(Permission.VIEW)
def history(store: Store, ctx: Context, *, set_id: uuid.UUID | None = None, since: dt.datetime | None = None
            ) -> list[MetricRow]:
    """Every reading (oldest first) of the workspace's posted items, optionally of one set."""
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        stmt = select(PostMetric, PublishItem).join(PublishItem, PublishItem.id == PostMetric.item_id)
        if set_id is not None:
            stmt = stmt.where(PublishItem.campaign_set_id == set_id)
        if since is not None:
            stmt = stmt.where(PostMetric.at >= since)
        rows = s.execute(stmt.order_by(PostMetric.at)).all()
        return [MetricRow(i.id, i.title or i.body[:80], i.subreddit, i.kind, aware(m.at) or utcnow(), m.score,
                          m.upvote_ratio, m.num_comments, m.removed, i.reddit_url) for m, i in rows]


def latest(rows: list[MetricRow]) -> list[MetricRow]:
    """The newest reading of each item."""
    newest: dict[uuid.UUID, MetricRow] = {}
    for r in rows:
        if r.item_id not in newest or r.at >= newest[r.item_id].at:
            newest[r.item_id] = r
    return sorted(newest.values(), key=lambda r: -r.score)


def to_csv(rows: list[MetricRow]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["read at (UTC)", "title", "subreddit", "kind", "score", "upvote ratio", "comments", "removed", "url"])
    for r in rows:
        w.writerow([r.at.isoformat(), safe_cell(r.title), safe_cell(r.subreddit), r.kind, r.score,
                    f"{r.upvote_ratio:.2f}", r.num_comments, "yes" if r.removed else "no", safe_cell(r.reddit_url)])
    return buf.getvalue().encode("utf-8-sig")
