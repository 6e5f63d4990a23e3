"""Queue wiring: RQ on REDIS_URL (team mode) or the same jobs run in-process (embedded mode)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer

from studio.settings import Settings

QUEUE_NAMES = ("default", "generation", "publishing")


def redis_connection(settings: Settings) -> Redis:
    if not settings.redis_url:
        raise RuntimeError("REDIS_URL is not set: the team mode needs Redis (embedded mode runs jobs in-process).")
    return Redis.from_url(settings.redis_url)


def queue(settings: Settings, name: str = "default", *, connection: Redis | None = None) -> Queue:
    """An RQ queue whose jobs use the JSON serializer (jobs take ids, never objects)."""
    return Queue(name, connection=connection or redis_connection(settings), serializer=JSONSerializer)


@dataclass(frozen=True)
class Enqueued:
    job_id: str
    in_process: bool


def submit(settings: Settings, fn: Callable[..., Any], *args: Any, queue_name: str = "default",
           job_id: str | None = None) -> Enqueued:
    """Run `fn(*args)` on the worker pool, or right here when there is no Redis (embedded)."""
    if not settings.redis_url:
        fn(*args)
        return Enqueued(job_id or "in-process", True)
    job = queue(settings, queue_name).enqueue(fn, *args, job_id=job_id)
    return Enqueued(job.id, False)
