"""Embedded mode (no REDIS_URL): the studio server does the periodic work itself, in one daemon thread.

    publishing sweep   every 30 s      due posts of every workspace go out; stuck ones are reconciled
    usage metering     every 10 min    unreported usage → Stripe Billing Meters (when billing is on)
    audit retention    daily           events older than the workspace's plan keeps are deleted

Team mode has a worker pool for this (`workers.publishing`, `workers.periodic`). Here the loop is
started once per server process (`studio.ui.resources.background_work`), so scheduled posts go out
whichever page is open, or none. Publishing is safe to run concurrently (a page's own sweep, a
second server on the same store): every item is locked and moved through its states once.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from studio import admin
from studio.context import Context
from studio.publishing import queue
from studio.store.session import Store
from workers.periodic import SCHEDULES

log = logging.getLogger(__name__)
SWEEP_SECONDS = 30


def sweep(store: Store) -> int:
    """Publish what is due in every workspace; returns how many items were handled."""
    handled = 0
    for ws in admin.all_workspaces(store):
        try:
            handled += queue.run_due(store, Context.job(ws))
        except Exception:  # noqa: BLE001 - one workspace's failure must not stop the others' posts
            log.exception("embedded publishing sweep failed for workspace %s", ws)
    return handled


class EmbeddedLoop(threading.Thread):
    """A daemon thread: the publishing sweep every SWEEP_SECONDS, the system schedules in their slots."""

    def __init__(self, store: Store, *, every_s: float = SWEEP_SECONDS) -> None:
        super().__init__(name="dotoro-embedded-jobs", daemon=True)
        self.store = store
        self.every_s = every_s
        self._stop_event = threading.Event()
        self._slots: dict[str, int] = {}

    def run_once(self, now: float | None = None) -> dict[str, Any]:
        """One pass: the sweep, then every schedule whose slot has not run in this process yet."""
        at = time.time() if now is None else now
        done: dict[str, Any] = {"publishing": sweep(self.store)}
        for schedule in SCHEDULES:
            slot = int(at // schedule.every_s)
            if self._slots.get(schedule.name) == slot:
                continue
            self._slots[schedule.name] = slot
            try:
                done[schedule.name] = schedule.job()
            except Exception:  # noqa: BLE001 - retried in the next slot
                log.exception("embedded periodic job %s failed", schedule.name)
        return done

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                self.run_once()
            except Exception:  # noqa: BLE001 - the store may be busy (SQLite): try again next time
                log.exception("embedded jobs: pass failed; retrying in %s s", self.every_s)
            self._stop_event.wait(self.every_s)

    def stop(self) -> None:
        self._stop_event.set()
