"""System upkeep run by the scheduler (workers.periodic): audit retention, runs whose worker died, dead workers.

A worker proves it is alive with a short-lived Redis key (`mark_alive`, refreshed every few seconds by a thread
of the worker process, so also while a long chunk renders). A SIGKILLed worker's key expires within
ALIVE_TTL_S; then its chunks are queued again (`requeue_dead_chunks`) and it leaves RQ's worker list
(`clean_dead_workers`) — no one has to press Resume.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid
from typing import Any

from redis import Redis
from rq import Worker
from rq.job import Job, JobStatus
from rq.registry import DeferredJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from rq.scheduler import RQScheduler
from rq.utils import as_text, utcparse
from sqlalchemy import select

from studio import admin, audit
from studio.billing.accounts import current_plan
from studio.context import Context, WorkspaceId
from studio.store.base import utcnow
from studio.store.campaign_models import GenerationChunk, GenerationRun
from studio.store.session import Store
from workers import bindings
from workers.generation import RETRY, job_store, run_chunk
from workers.queues import QUEUE_NAMES, queue, redis_connection, submit

log = logging.getLogger(__name__)
ALIVE_TTL_S = 10
"""A worker's alive key outlives it by at most this; workers refresh it every ALIVE_TTL_S / 3."""
CLAIM_GRACE = dt.timedelta(seconds=10)
"""A chunk queued or claimed this recently is left alone (its job may be on its way to a worker)."""
MAX_AUTO_ATTEMPTS = 6
"""A chunk claimed this often is not queued again by itself: the run shows as stalled, a person decides."""
_CHUNK_JOB = re.compile(r"^gen-([0-9a-f-]{36})-(\d+)(?:-|$)")


def alive_key(worker_name: str) -> str:
    return f"dotoro:worker-alive:{worker_name}"


def mark_alive(conn: Redis, worker_name: str) -> None:
    conn.set(alive_key(worker_name), "1", ex=ALIVE_TTL_S)


def apply_audit_retention(store: Store | None = None) -> dict[str, int]:
    """Delete audit events older than each workspace's plan keeps; returns deleted rows per workspace."""
    store = store or job_store()
    deleted: dict[str, int] = {}
    for ws in admin.all_workspaces(store):
        ctx = Context.job(ws)
        with store.session_scope(ctx) as s:
            days = current_plan(s, store.settings).audit_days
        n = audit.apply_retention(store, ctx, days)
        if n:
            deleted[str(ws)] = n
    return deleted


def _worker_alive(conn: Redis, name: str | None) -> bool:
    return bool(name) and bool(conn.exists(alive_key(str(name))))


def live_chunk_jobs(store: Store, conn: Redis) -> set[tuple[str, int]]:
    """(run id, chunk index) of every generation job waiting in Redis or running on a live worker."""
    q = queue(store.settings, "generation", connection=conn)
    ids = set(q.get_job_ids())
    ids |= set(ScheduledJobRegistry(queue=q).get_job_ids(cleanup=False))
    ids |= set(DeferredJobRegistry(queue=q).get_job_ids(cleanup=False))
    for job_id in StartedJobRegistry(queue=q).get_job_ids(cleanup=False):
        job = q.fetch_job(job_id)
        if job is not None and _worker_alive(conn, job.worker_name):
            ids.add(job_id)
    live = set()
    for job_id in ids:
        m = _CHUNK_JOB.match(job_id)
        if m:
            live.add((m.group(1), int(m.group(2))))
    return live


def requeue_dead_chunks(store: Store | None = None, *, now: dt.datetime | None = None) -> dict[str, int]:
    """Team mode: queue again every unfinished chunk of an unfinished run that no live worker holds and no
    queue has (its worker was killed, or Redis lost the job); chunks are idempotent, so a chunk queued twice
    is written once. Returns {"requeued": n, "runs": runs touched}."""
    store = store or job_store()
    conn = redis_connection(store.settings)
    live = live_chunk_jobs(store, conn)
    cutoff = (now or utcnow()) - CLAIM_GRACE
    requeued, runs = 0, set()
    for ws in admin.all_workspaces(store):
        with store.session_scope(Context.job(ws)) as s:
            rows = s.execute(
                select(GenerationChunk.run_id, GenerationChunk.index, GenerationChunk.attempts, GenerationChunk.updated_at)
                .join(GenerationRun, GenerationRun.id == GenerationChunk.run_id)
                .where(GenerationRun.status.in_(("queued", "running")),
                       GenerationChunk.status.in_(("queued", "running", "failed")),
                       GenerationChunk.attempts < MAX_AUTO_ATTEMPTS)).all()
        for run_id, index, attempts, updated in rows:
            at = updated if updated is None or updated.tzinfo else updated.replace(tzinfo=dt.UTC)
            if (str(run_id), index) in live or (at is not None and at > cutoff):
                continue
            submit(store.settings, run_chunk, str(ws), str(run_id), index, queue_name="generation",
                   job_id=f"gen-{run_id}-{index}-auto{attempts}-{uuid.uuid4().hex[:6]}", retry=RETRY)
            log.warning("requeued chunk %d of run %s (workspace %s): no live worker held it", index, run_id, ws)
            requeued += 1
            runs.add(run_id)
    return {"requeued": requeued, "runs": len(runs)}


SCHEDULER_SILENT_S = 15
"""RQ's scheduler heartbeats every second; one silent this long died (with its worker, or in a Redis outage)."""


def release_dead_scheduler_locks(conn: Redis, *, now: dt.datetime | None = None) -> list[str]:
    """Queues whose scheduler lock is held by a scheduler that stopped heartbeating: the lock is released so a
    live worker's scheduler takes the queue at its next upkeep (RQ would otherwise wait for the lock to expire,
    then up to 2 minutes more). Scheduled posts go out on time again within about a minute."""
    at = now or utcnow()
    released = []
    for name in QUEUE_NAMES:
        key = RQScheduler.get_locking_key(name)
        holder = conn.get(key)
        if holder is None:
            continue
        beat = conn.hget(f"rq:scheduler:{as_text(holder)}", "last_heartbeat")
        last = utcparse(as_text(beat)).replace(tzinfo=dt.UTC) if beat else None
        if last is None or (at - last).total_seconds() > SCHEDULER_SILENT_S:
            with conn.pipeline() as pipe:  # only if the same holder still has it
                pipe.watch(key)
                if pipe.get(key) == holder:
                    pipe.multi()
                    pipe.delete(key)
                    pipe.execute()
                    released.append(name)
    return released


def clean_dead_workers(store: Store | None = None) -> dict[str, int]:
    """Team mode: workers whose alive key expired leave RQ's registry; the job each was running is marked
    failed (it was abandoned), so the sweeper and `requeue_dead_chunks` take over at once; scheduler locks of
    dead schedulers are released."""
    store = store or job_store()
    conn = redis_connection(store.settings)
    locks = len(release_dead_scheduler_locks(conn))
    removed = abandoned = 0
    born_before = utcnow() - dt.timedelta(seconds=ALIVE_TTL_S)
    for worker in Worker.all(connection=conn):
        birth = worker.birth_date
        if _worker_alive(conn, worker.name) or (birth is not None and birth.replace(tzinfo=dt.UTC) > born_before):
            continue
        for name in QUEUE_NAMES:
            registry = StartedJobRegistry(queue=queue(store.settings, name, connection=conn))
            for job_id, execution_id in registry.get_job_and_execution_ids(cleanup=False):
                try:
                    job = Job.fetch(job_id, connection=conn, serializer=registry.serializer)
                except Exception:  # noqa: BLE001 - a vanished job needs no cleaning
                    job = None
                if job is not None and job.worker_name not in (None, "", worker.name):
                    continue
                conn.zrem(registry.key, f"{job_id}:{execution_id}")
                if job is not None and job.get_status(refresh=True) == JobStatus.STARTED:
                    job.set_status(JobStatus.FAILED)
                    abandoned += 1
        worker.register_death()
        log.warning("worker %s stopped answering: removed from the registry", worker.name)
        removed += 1
    return {"removed": removed, "abandoned": abandoned, "scheduler_locks_released": locks}


def resume_unfinished_runs(store: Store, *, idle_at_most: dt.timedelta) -> dict[str, Any]:
    """Embedded mode, at server start: queue again the unfinished chunks of every run that was progressing up
    to `idle_at_most` ago (its in-memory chunks were lost with the previous server process). A run idle
    longer already shows as stalled on Campaign sets, where a person resumes it."""
    from workers.generation import recover_run

    cutoff = utcnow() - idle_at_most
    resumed: dict[str, Any] = {}
    for ws in admin.all_workspaces(store):
        with store.session_scope(Context.job(ws)) as s:
            runs = s.execute(select(GenerationRun.id, GenerationRun.started_at).where(
                GenerationRun.status.in_(("queued", "running")))).all()
            last = {rid: s.scalar(select(GenerationChunk.updated_at).where(GenerationChunk.run_id == rid)
                                  .order_by(GenerationChunk.updated_at.desc()).limit(1)) or started
                    for rid, started in runs}
        for rid, at in last.items():
            if (at if at.tzinfo else at.replace(tzinfo=dt.UTC)) >= cutoff:
                resumed[str(rid)] = recover_run(store.settings, WorkspaceId(ws), rid)
    return resumed


def main() -> None:
    """`python -m workers.maintenance` (the scheduler runs it daily): apply retention once."""
    bindings.install()  # an entry point: whatever studio code it runs may queue jobs (studio.jobs)
    deleted = apply_audit_retention()
    print(f"audit retention: deleted {sum(deleted.values()):,} event(s) in {len(deleted)} workspace(s)")


if __name__ == "__main__":
    main()
