"""Periodic system jobs, enqueued by the workers themselves: no cron to set up.

Every worker started without --burst runs a ticker thread (`Ticker`); at each tick it offers each
schedule's job for the current time slot, and a Redis key set with NX lets exactly one offer per
slot through, however many workers tick. The jobs then run on the default queue like any other.

    usage metering   every 10 minutes   unreported usage → Stripe Billing Meters (when billing is on)
    audit retention  daily              events older than the workspace's plan keeps are deleted
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis import Redis

from studio.settings import Settings
from workers.queues import redis_connection, submit

log = logging.getLogger(__name__)
TICK_SECONDS = 30


def report_usage() -> dict[str, Any]:
    """Job: every billed workspace's unreported usage to Stripe (a no-op while billing is off)."""
    from studio.billing.meter import report_all
    from studio.billing.plans import billing_enabled
    from workers.generation import job_store

    store = job_store()
    if not billing_enabled(store.settings):
        return {"skipped": "billing is off"}
    r = report_all(store)
    return {"sent": r.sent, "pending": r.pending, "error": r.error}


def audit_retention() -> dict[str, Any]:
    """Job: audit events past each workspace's plan retention are deleted."""
    from workers.maintenance import apply_audit_retention

    deleted = apply_audit_retention()
    return {"deleted": sum(deleted.values()), "workspaces": len(deleted)}


@dataclass(frozen=True)
class Schedule:
    name: str
    every_s: int
    job: Callable[[], dict[str, Any]]


SCHEDULES = (Schedule("usage-meter", 600, report_usage), Schedule("audit-retention", 86_400, audit_retention))


def tick(settings: Settings, *, now: float | None = None, connection: Redis | None = None) -> list[str]:
    """Offer every schedule's job for the current slot; returns the job ids this call enqueued."""
    conn = connection or redis_connection(settings)
    at = time.time() if now is None else now
    enqueued = []
    for schedule in SCHEDULES:
        slot = int(at // schedule.every_s)
        job_id = f"periodic-{schedule.name}-{slot}"
        if conn.set(f"dotoro:periodic:{job_id}", "1", nx=True, ex=2 * schedule.every_s):
            submit(settings, schedule.job, queue_name="default", job_id=job_id)
            enqueued.append(job_id)
    return enqueued


class Ticker(threading.Thread):
    """A daemon thread calling `tick` every TICK_SECONDS until `stop()`."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(name="dotoro-periodic", daemon=True)
        self.settings = settings
        self._stop_event = threading.Event()

    def run(self) -> None:
        conn = redis_connection(self.settings)
        while not self._stop_event.is_set():
            try:
                for job_id in tick(self.settings, connection=conn):
                    log.info("enqueued %s", job_id)
            except Exception:  # noqa: BLE001 - a Redis hiccup must not end the ticker
                log.exception("periodic jobs: tick failed; retrying in %s s", TICK_SECONDS)
            self._stop_event.wait(TICK_SECONDS)

    def stop(self) -> None:
        self._stop_event.set()
