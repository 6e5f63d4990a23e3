"""The account's and the subreddit's limits, kept again at send time, against what was actually sent.

The planner spaces items out, but items can still fall due together: a worker pool that was down
for an hour, the sweeper reviving jobs, several "publish now" clicks. Before a thread is claimed,
the times its account (and its subreddit) really posted are read under a lock on the account row,
so two workers cannot both decide the account is free.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, or_, select

from studio.publishing import accounts, planner
from studio.publishing.outbox import aware
from studio.store.publishing_models import PublishItem, RedditAccount
from studio.store.session import TenantSession

SENT = ("posted", "submitting", "unknown")


def not_before(s: TenantSession, item: PublishItem, now: dt.datetime) -> tuple[dt.datetime, str] | None:
    """(the earliest time this thread keeps every limit, why) when that is later than now; None: send now."""
    if item.kind != "thread" or item.account_id is None:
        return None
    account = s.scalar(select(RedditAccount).where(RedditAccount.id == item.account_id).with_for_update())
    if account is None:
        return None
    rows = s.execute(select(PublishItem.account_id, PublishItem.subreddit, PublishItem.posted_at,
                            PublishItem.submitting_at)
                     .where(PublishItem.kind == "thread", PublishItem.state.in_(SENT), PublishItem.id != item.id,
                            or_(PublishItem.account_id == item.account_id,
                                func.lower(PublishItem.subreddit) == item.subreddit.lower()))).all()
    mine, sub = [], []
    for account_id, subreddit, posted, submitting in rows:
        when = aware(posted or submitting)
        if when is None:
            continue
        if account_id == item.account_id:
            mine.append(when)
        if subreddit.lower() == item.subreddit.lower():
            sub.append(when)
    limits = planner.LOW_KARMA_LIMITS if accounts.info(account, now).low_karma else planner.DEFAULT_LIMITS
    at = planner.earliest(sorted(mine), sorted(sub), limits, now, planner.Preferences(now), 0)
    if at is None or at <= now:
        return None
    why = planner.conflicts(now, mine, sub, limits) or "a limit would be broken"
    return at, f"Not yet: {why}; it goes out at {at:%H:%M} UTC instead."
