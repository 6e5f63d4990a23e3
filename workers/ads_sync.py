"""Reddit Ads jobs: sync a set (resumable; a rate-limit pause re-enqueues it for later) and pull daily metrics."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select

from studio.context import Context, WorkspaceId
from studio.logging_setup import logged_job
from studio.reddit_ads import performance, service
from studio.settings import Settings
from studio.store.ads_models import AdsConnection
from studio.store.base import utcnow
from studio.store.session import Store
from workers.publishing import job_store  # keyed by the settings too: a changed Reddit address is a new store
from workers.queues import queue, submit

QUEUE = "default"


def enqueue_sync(settings: Settings, ws: WorkspaceId | uuid.UUID, sync_id: uuid.UUID, delay: float = 0.0) -> None:
    """A job for the sync, now or after `delay` seconds (Reddit asked to wait). Every call gets its own job id:
    a sync that is already running or finished makes a second job return at once (run_sync checks its row
    under a lock), and a job whose worker died must not block the one that resumes it."""
    job_id = f"ads-sync-{sync_id}-{uuid.uuid4().hex[:8]}"
    if delay > 0 and settings.redis_url:
        queue(settings, QUEUE).enqueue_at(utcnow() + dt.timedelta(seconds=delay), sync_job, str(ws), str(sync_id),
                                          job_id=job_id)
        return
    submit(settings, sync_job, str(ws), str(sync_id), queue_name=QUEUE, job_id=job_id)


@logged_job("reddit_ads.sync")
def sync_job(workspace_id: str, sync_id: str) -> str:
    store = job_store()
    ws = WorkspaceId(uuid.UUID(workspace_id))
    return service.run_sync(store, ws, uuid.UUID(sync_id),
                            enqueue=lambda sid, delay: enqueue_sync(store.settings, ws, sid, delay))


def follow_workspace(store: Store, ws: WorkspaceId) -> int:
    return service.follow(store, ws, enqueue=lambda sid, delay: enqueue_sync(store.settings, ws, sid, delay))


def metrics_workspace(store: Store, ws: WorkspaceId) -> int:
    with store.session_scope(Context.job(ws)) as s:
        ids = list(s.scalars(select(AdsConnection.id).where(AdsConnection.status == "active",
                                                            AdsConnection.ad_account_id != "")))
    return sum(performance.pull_metrics(store, ws, cid) for cid in ids)


@logged_job("reddit_ads.metrics")
def metrics_job(workspace_id: str) -> int:
    """Every active connection of the workspace: the last 7 days of per-ad figures."""
    return metrics_workspace(job_store(), WorkspaceId(uuid.UUID(workspace_id)))
