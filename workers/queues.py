"""Queue wiring: RQ on REDIS_URL (team mode) or the same jobs run in-process (embedded mode)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis import Redis
from rq import Queue, Retry
from rq.serializers import JSONSerializer

from studio import jobs
from studio.jobs import redis_connection
from studio.settings import Settings

QUEUE_NAMES = ("default", "generation", "publishing")


def queue(settings: Settings, name: str = "default", *, connection: Redis | None = None) -> Queue:
    """An RQ queue whose jobs use the JSON serializer (jobs take ids, never objects)."""
    return Queue(name, connection=connection or redis_connection(settings), serializer=JSONSerializer)


@dataclass(frozen=True)
class Enqueued:
    job_id: str
    in_process: bool


def submit(settings: Settings, fn: Callable[..., Any], *args: Any, queue_name: str = "default",
           job_id: str | None = None, retry: Retry | None = None) -> Enqueued:
    """Run `fn(*args)` on the worker pool, or in this process when there is no Redis (embedded)."""
    if not settings.redis_url:  # the server's job thread (studio.jobs), or inline when it has none
        jobs.run_in_process(fn, tuple(args), job_id)
        return Enqueued(job_id or "in-process", True)
    q = queue(settings, queue_name)
    if job_id is not None:
        existing = q.fetch_job(job_id)
        if existing is not None and existing.get_status(refresh=True) in ("queued", "started", "scheduled", "deferred"):
            return Enqueued(job_id, False)  # a double click never enqueues twice
    job = q.enqueue(fn, *args, job_id=job_id, retry=retry)
    return Enqueued(job.id, False)
