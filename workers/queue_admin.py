"""The operator page's view of the team mode's queues (studio.jobs.QueueAdmin), over RQ."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from rq import Queue, Worker

from studio.jobs import JobInfo, QueueInfo, WorkerInfo
from studio.settings import Settings
from workers.queues import QUEUE_NAMES, queue, redis_connection


class RQQueueAdmin:
    """studio.jobs.QueueAdmin on the queues of REDIS_URL (one connection for the whole look)."""

    def __init__(self, settings: Settings) -> None:
        self._conn = redis_connection(settings)
        self._queues = {name: queue(settings, name, connection=self._conn) for name in QUEUE_NAMES}

    def names(self) -> tuple[str, ...]:
        return QUEUE_NAMES

    def queues(self) -> tuple[QueueInfo, ...]:
        return tuple(QueueInfo(q.name, q.count, q.started_job_registry.count, q.failed_job_registry.count,
                               q.scheduled_job_registry.count, q.deferred_job_registry.count)
                     for q in self._queues.values())

    def workers(self) -> tuple[WorkerInfo, ...]:
        serializer = next(iter(self._queues.values())).serializer
        return tuple(WorkerInfo(w.name, w.get_state(), tuple(w.queue_names()), w.get_current_job_id(), w.last_heartbeat)
                     for w in Worker.all(connection=self._conn, serializer=serializer))

    def jobs(self, status: Literal["failed", "scheduled"], limit: int) -> tuple[JobInfo, ...]:
        found: list[JobInfo | None] = []
        for q in self._queues.values():
            if status == "failed":
                found += [_job_info(q, job_id, "failed")
                          for job_id in q.failed_job_registry.get_job_ids(0, limit - 1, desc=True)]
            else:
                sched = q.scheduled_job_registry
                found += [_job_info(q, job_id, "scheduled", when=sched.get_scheduled_time(job_id))
                          for job_id in sched.get_job_ids(0, limit - 1)]
        return tuple(j for j in found if j)

    def retry(self, queue: str, job_id: str) -> bool:
        q = self._queues[queue]
        if job_id not in q.failed_job_registry.get_job_ids():
            return False
        q.failed_job_registry.requeue(job_id)
        return True

    def delete(self, queue: str, job_id: str) -> bool:
        q = self._queues[queue]
        job = q.fetch_job(job_id)
        if job is None:
            return False
        for registry in (q.failed_job_registry, q.scheduled_job_registry):
            registry.remove(job_id)
        job.delete()
        return True


def _job_info(q: Queue, job_id: str, status: str, when: dt.datetime | None = None) -> JobInfo | None:
    job = q.fetch_job(job_id)
    if job is None:
        return None
    error = ""
    if status == "failed":
        result = job.latest_result()
        lines = ((result.exc_string if result else None) or "").strip().splitlines()
        error = lines[-1][:300] if lines else ""
    return JobInfo(job.id, q.name, job.func_name or "?", status, when or job.ended_at or job.enqueued_at, error)
