"""Publishing jobs: publish one outbox item, sweep abandoned items, sync metrics, refresh tokens.

Every job takes ids, opens its own store and is safe to run twice. Item jobs are scheduled with
`enqueue_at` under the deterministic id `publish-<item>-<generation>` and `unique=True`, so
repeated clicks never enqueue twice; a newer generation supersedes an older job. The sweeper, metrics
and token refresh run for every workspace from the one periodic list (workers.periodic).
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import uuid

from prawcore.exceptions import PrawcoreException
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job
from sqlalchemy import select

from studio.context import Context, WorkspaceId
from studio.logging_setup import logged_job
from studio.publishing import accounts, execute, outbox
from studio.publishing import queue as publish_queue
from studio.settings import Settings, load_settings
from studio.store.base import utcnow
from studio.store.publishing_models import RedditAccount
from studio.store.session import Store
from workers.queues import queue, redis_connection

QUEUE = "publishing"
STARTED_GRACE = dt.timedelta(seconds=60)
KEEP = {"result_ttl": 86_400, "failure_ttl": 7 * 86_400}


@functools.lru_cache(maxsize=4)
def _store_for(pid: int, database_url: str, extra: tuple[tuple[str, str], ...]) -> Store:
    """One engine per worker process (RQ forks: a child never reuses its parent's pool)."""
    return Store(load_settings())


def job_store() -> Store:
    settings = load_settings()
    return _store_for(os.getpid(), settings.database_url, tuple(sorted(settings.extra.items())))


def _at(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def enqueue_item(settings: Settings, ws: WorkspaceId | uuid.UUID, item_id: uuid.UUID, gen: int,
                 at: dt.datetime) -> None:
    """Schedule the item's job for `at` (now if past); a job with the same id already there is kept."""
    if not settings.redis_url:
        return
    q = queue(settings, QUEUE)
    args = (str(ws), str(item_id), gen)
    jid = outbox.job_id(item_id, gen)
    try:
        if _at(at) <= utcnow():
            q.enqueue(publish_item, *args, job_id=jid, unique=True, **KEEP)
        else:
            q.enqueue_at(_at(at), publish_item, *args, job_id=jid, unique=True, **KEEP)
    except DuplicateJobError:
        pass


@logged_job("publish.item")
def publish_item(workspace_id: str, item_id: str, gen: int) -> str:
    """The RQ job: see studio.publishing.execute.publish."""
    store = job_store()
    ws = WorkspaceId(uuid.UUID(workspace_id))
    return execute.publish(store, ws, uuid.UUID(item_id), int(gen),
                           enqueue=lambda i, g, at: enqueue_item(store.settings, ws, i, g, at))


def _job_alive(settings: Settings, item_id: uuid.UUID, gen: int, now: dt.datetime) -> bool:
    """Waiting jobs are alive; a started one only briefly (it claims its item at once, so a long "started"
    with the item still waiting means its worker died)."""
    conn = redis_connection(settings)
    try:
        job = Job.fetch(outbox.job_id(item_id, gen), connection=conn, serializer=queue(settings, QUEUE).serializer)
    except NoSuchJobError:
        return False
    status = job.get_status(refresh=True)
    if status in ("queued", "scheduled", "deferred"):
        return True
    started = job.started_at
    if status == "started" and started is not None:
        return now - _at(started) < STARTED_GRACE
    return False


def sweep_workspace(store: Store, ws: WorkspaceId, *, now: dt.datetime | None = None) -> int:
    """Give a fresh job to every item whose job died, vanished or overran its lease; returns how many."""
    settings, ctx = store.settings, Context.job(ws)
    now = now or utcnow()
    revived = 0
    for item_id, gen, state in publish_queue.due(store, ctx, now=now):
        if state != "submitting" and _job_alive(settings, item_id, gen, now):
            continue
        new_gen = publish_queue.revive(store, ctx, item_id, gen)
        if new_gen is not None:
            enqueue_item(settings, ws, item_id, new_gen, utcnow())
            revived += 1
    return revived


def refresh_workspace_tokens(store: Store, ws: WorkspaceId) -> dict[str, int]:
    """Refresh every active account's token (saving a rotated one); a revoked grant marks 'reconnect needed'."""
    ctx = Context.job(ws)
    with store.session_scope(ctx) as s:
        ids = list(s.scalars(select(RedditAccount.id).where(RedditAccount.status == "active")))
    counts = {"ok": 0, "reconnect": 0, "unreachable": 0}
    for account_id in ids:
        try:
            result = accounts.validate(store, ctx, account_id)
        except (PrawcoreException, Exception):
            counts["unreachable"] += 1
            continue
        counts["ok" if result.usable else "reconnect"] += 1
    return counts
