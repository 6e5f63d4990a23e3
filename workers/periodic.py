"""The studio's periodic work, in one list (`PERIODIC`) that both modes run.

    publish-sweep     every 30 s   due posts go out (embedded); dead or lost publish jobs get a fresh one (team)
    events-dispatch   every 10 s   events fan out to notifications, e-mail, Slack, webhooks; due retries are sent
    run-recovery      every 15 s   team: chunks of runs whose worker died are queued again (workers.maintenance)
    worker-cleanup    every 15 s   team: dead workers leave RQ's registry; dead schedulers' locks are released
    usage-meter       every 10 min unreported usage → Stripe Billing Meters (when billing is on)
    metrics-sync      hourly       reads of every posted item (score, comments)
    feed-sweep        every 60 s   URL data sets whose schedule is due get one fetch job each (workers.feeds)
    ads-follow        every 60 s   synced Reddit Ads sets whose variations changed sync again; lost syncs resume
    ads-metrics       hourly       Reddit Ads per-ad daily figures (impressions, clicks, spend) of every connection
    token-refresh     daily        every active Reddit account's token is refreshed; revoked → reconnect needed
    audit-retention   daily        events older than the workspace's plan keeps are deleted
    events-retention  daily        notifications, events and delivery logs older than 90 days are deleted

Each job loops over the workspaces that need it: nothing is started per workspace, nothing re-schedules
itself. Team mode: RQ's cron (`rq.cron.CronScheduler`) enqueues them on the default queue; every
`make worker` runs a `CronThread`, and a Redis lock lets one of them (the leader) schedule at a time, so
two workers never double the jobs and a dead leader is replaced within LEADER_TTL_S. Embedded mode: the
server's loop (`workers.embedded.EmbeddedLoop`) runs the same entries in-process.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, cron_job_registry
from rq.cron import CronJob, CronScheduler
from rq.job import Job
from rq.serializers import JSONSerializer

from studio import admin
from studio.context import Context, WorkspaceId
from studio.logging_setup import logged_job
from studio.settings import Settings
from studio.store.session import Store
from workers.queues import redis_connection

log = logging.getLogger(__name__)
LEADER_KEY = "dotoro:cron:leader"
LEADER_TTL_S = 15
BACKOFF_S = (1.0, 2.0, 5.0, 10.0)


def _each_workspace(store: Store, name: str, fn: Callable[[WorkspaceId], int]) -> dict[str, Any]:
    """Run `fn` for every workspace; one workspace's failure is logged and does not stop the others."""
    total, failed = 0, 0
    for ws in admin.all_workspaces(store):
        try:
            total += fn(ws)
        except Exception:  # noqa: BLE001 - the next run tries this workspace again
            failed += 1
            log.exception("periodic %s failed for workspace %s", name, ws)
    return {"done": total, "failed_workspaces": failed}


def publish_sweep(store: Store) -> dict[str, Any]:
    if store.settings.redis_url:
        from workers.publishing import sweep_workspace

        return _each_workspace(store, "publish-sweep", lambda ws: sweep_workspace(store, ws))
    from studio.publishing import queue

    return _each_workspace(store, "publish-sweep", lambda ws: queue.run_due(store, Context.job(ws)))


def metrics_sync(store: Store) -> dict[str, Any]:
    from studio.publishing import metrics

    return _each_workspace(store, "metrics-sync", lambda ws: metrics.sync(store, ws))


def token_refresh(store: Store) -> dict[str, Any]:
    from workers.publishing import refresh_workspace_tokens

    return _each_workspace(store, "token-refresh", lambda ws: sum(refresh_workspace_tokens(store, ws).values()))


def usage_meter(store: Store) -> dict[str, Any]:
    """Every billed workspace's unreported usage to Stripe (a no-op while billing is off)."""
    from studio.billing.meter import report_all
    from studio.billing.plans import billing_enabled

    if not billing_enabled(store.settings):
        return {"skipped": "billing is off"}
    r = report_all(store)
    return {"sent": r.sent, "pending": r.pending, "error": r.error}


def events_dispatch(store: Store) -> dict[str, Any]:
    """New events fanned out and due deliveries (retries, a dead worker's) queued (workers.dispatch)."""
    from workers.dispatch import sweep_workspace

    return _each_workspace(store, "events-dispatch", lambda ws: sweep_workspace(store, ws))


def feed_sweep(store: Store) -> dict[str, Any]:
    from workers.feeds import sweep

    return sweep(store)


def ads_follow(store: Store) -> dict[str, Any]:
    from workers.ads_sync import follow_workspace

    return _each_workspace(store, "ads-follow", lambda ws: follow_workspace(store, ws))


def ads_metrics(store: Store) -> dict[str, Any]:
    from workers.ads_sync import metrics_workspace

    return _each_workspace(store, "ads-metrics", lambda ws: metrics_workspace(store, ws))


def events_retention(store: Store) -> dict[str, Any]:
    """Events older than 90 days go, with their notifications and delivery logs (studio.notifications.prune)."""
    from studio.notifications import prune

    return _each_workspace(store, "events-retention", lambda ws: prune(store, ws))


def audit_retention(store: Store) -> dict[str, Any]:
    from workers.maintenance import apply_audit_retention

    deleted = apply_audit_retention(store)
    return {"deleted": sum(deleted.values()), "workspaces": len(deleted)}


def run_recovery(store: Store) -> dict[str, Any]:
    from workers.maintenance import requeue_dead_chunks

    return requeue_dead_chunks(store)


def worker_cleanup(store: Store) -> dict[str, Any]:
    from workers.maintenance import clean_dead_workers

    return clean_dead_workers(store)


@dataclass(frozen=True)
class Periodic:
    name: str
    every_s: int
    run: Callable[[Store], dict[str, Any]]
    team_only: bool = False
    timeout_s: int = 600

    def applies(self, settings: Settings) -> bool:
        return bool(settings.redis_url) or not self.team_only


PERIODIC: tuple[Periodic, ...] = (
    Periodic("publish-sweep", 30, publish_sweep),
    Periodic("events-dispatch", 10, events_dispatch),
    Periodic("run-recovery", 15, run_recovery, team_only=True),
    Periodic("worker-cleanup", 15, worker_cleanup, team_only=True),
    Periodic("usage-meter", 600, usage_meter),
    Periodic("feed-sweep", 60, feed_sweep),
    Periodic("metrics-sync", 3600, metrics_sync, timeout_s=3000),
    Periodic("ads-follow", 60, ads_follow),
    Periodic("ads-metrics", 3600, ads_metrics, timeout_s=3000),
    Periodic("token-refresh", 86_400, token_refresh, timeout_s=3000),
    Periodic("audit-retention", 86_400, audit_retention, timeout_s=3000),
    Periodic("events-retention", 86_400, events_retention, timeout_s=3000),
)
BY_NAME = {p.name: p for p in PERIODIC}


@logged_job("periodic")
def run_periodic(name: str) -> dict[str, Any]:
    """The RQ job the cron enqueues: one entry of PERIODIC, on the worker's store."""
    from workers.generation import job_store

    began = time.perf_counter()
    result = BY_NAME[name].run(job_store())
    log.info("periodic %s: %s in %.2f s", name, result, time.perf_counter() - began)
    return result


class JsonCronJob(CronJob):
    """rq's CronJob, enqueueing with the JSON serializer our workers read (rq's own uses pickle)."""

    def enqueue(self, connection: Redis) -> Job:
        assert self.func is not None
        q = Queue(self.queue_name, connection=connection, serializer=JSONSerializer)
        with connection.pipeline() as pipe:
            job = q.enqueue(self.func, args=self.args, kwargs=self.kwargs, **self.job_options, pipeline=pipe)
            assert job.enqueued_at is not None
            pipe.zadd(self.job_history_key, {job.id: job.enqueued_at.timestamp()})
            pipe.zremrangebyrank(self.job_history_key, 0, -101)
            cron_job_registry.add(self.name, pipe, enqueue_timestamp=job.enqueued_at.timestamp())
            pipe.execute()
        return job


class StudioCron(CronScheduler):
    """RQ's cron scheduler holding the PERIODIC entries that apply to these settings."""

    def __init__(self, settings: Settings, connection: Redis) -> None:
        super().__init__(connection=connection, name=f"dotoro-{uuid.uuid4().hex[:8]}")
        for p in PERIODIC:
            if p.applies(settings):
                self._cron_jobs.append(JsonCronJob(queue_name="default", func=run_periodic, args=(p.name,),
                                                   interval=p.every_s, job_timeout=p.timeout_s, name=p.name,
                                                   result_ttl=max(600, 2 * p.every_s), failure_ttl=86_400))


    def restore_times(self) -> None:
        """Each job's last enqueue time from RQ's cron history (kept a year, in Redis): a new leader, or a
        restarted worker, keeps the intervals instead of running every job at once."""
        for job in self._cron_jobs:
            newest = self.connection.zrange(job.job_history_key, 0, 0, desc=True, withscores=True)
            if newest:
                job.set_enqueue_time(dt.datetime.fromtimestamp(float(newest[0][1]), dt.UTC))


class CronThread(threading.Thread):
    """In each worker: while this process holds the leader lock, RQ's cron enqueues the periodic jobs.

    A Redis outage does not end it: it waits with backoff and carries on (the lock and the scheduler's
    registry entry are written again)."""

    def __init__(self, settings: Settings, *, tick_s: float = 1.0) -> None:
        super().__init__(name="dotoro-cron", daemon=True)
        self.settings = settings
        self.tick_s = tick_s
        self.owner = uuid.uuid4().hex
        self._stop_event = threading.Event()
        self.leading = False

    def _lead(self, conn: Redis) -> bool:
        if conn.get(LEADER_KEY) == self.owner.encode():
            conn.expire(LEADER_KEY, LEADER_TTL_S)
            return True
        return bool(conn.set(LEADER_KEY, self.owner, nx=True, ex=LEADER_TTL_S))

    def run(self) -> None:
        conn = redis_connection(self.settings)
        cron = StudioCron(self.settings, conn)
        failures = 0
        while not self._stop_event.is_set():
            try:
                was_leading, self.leading = self.leading, self._lead(conn)
                if self.leading and not was_leading:
                    cron.restore_times()
                if self.leading:
                    enqueued = cron.enqueue_jobs()
                    for job in enqueued:
                        log.info("cron: enqueued %s", job.name)
                    if enqueued:
                        cron.save()  # what rq's own cron loop does: the job times, for `rq cron` monitoring
                    cron.heartbeat()
                failures = 0
                wait = self.tick_s
            except RedisError as exc:
                wait = BACKOFF_S[min(failures, len(BACKOFF_S) - 1)]
                failures += 1
                log.warning("cron: Redis unreachable (%s); trying again in %.0f s", exc, wait)
            except Exception:  # noqa: BLE001 - a bug in one tick must not end the scheduling for good
                wait = BACKOFF_S[min(failures, len(BACKOFF_S) - 1)]
                failures += 1
                log.exception("cron: tick failed; trying again in %.0f s", wait)
            self._stop_event.wait(wait)
        try:
            if conn.get(LEADER_KEY) == self.owner.encode():
                conn.delete(LEADER_KEY)
                cron.register_death()
        except Exception:  # noqa: BLE001 - stopping anyway; the lock expires by itself
            pass

    def stop(self) -> None:
        self._stop_event.set()


def due(last_run: dict[str, float], settings: Settings, now: float) -> list[Periodic]:
    """Embedded mode: the entries that apply and whose interval passed since `last_run` (never run: due)."""
    return [p for p in PERIODIC if p.applies(settings)
            and now - last_run.get(p.name, -float("inf")) >= p.every_s]
