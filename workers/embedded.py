"""Embedded mode (no REDIS_URL): the studio server does the periodic work itself, in one daemon thread.

    publishing sweep   every 30 s      due posts of every workspace go out; stuck ones are reconciled
    usage metering     every 10 min    unreported usage → Stripe Billing Meters (when billing is on)
    audit retention    daily           events older than the workspace's plan keeps are deleted

Team mode has a worker pool for this (`workers.publishing`, `workers.periodic`). Here the loop is
started once per server process (`studio.ui.resources.background_work`), so scheduled posts go out
whichever page is open, or none. Publishing is safe to run concurrently (a page's own sweep, a
second server on the same store): every item is locked and moved through its states once.

The loop also starts the embedded worker (`EmbeddedWorkers`): the jobs RQ runs in team mode — a
generation run's chunks — run on its own thread, handed over through `studio.jobs`. A click that
starts a run returns at once; the Campaign sets page follows the run's progress in the store, and
cancel / resume work as in team mode (a chunk checks the run's status; resume queues the unfinished
chunks again). One thread: SQLite takes one writer at a time, and DuckDB already uses every core.
"""

from __future__ import annotations

import logging
import queue as queues
import threading
import time
from collections.abc import Callable
from typing import Any

from studio import admin, jobs
from studio.context import Context
from studio.publishing import queue
from studio.store.session import Store
from workers.periodic import SCHEDULES

log = logging.getLogger(__name__)
SWEEP_SECONDS = 30
JOB_THREADS = 1
RETRY_DELAYS_S = (2.0, 10.0, 30.0)  # as RQ's Retry for generation jobs in team mode


class EmbeddedWorkers:
    """Job functions (the ones RQ runs in team mode) on daemon threads of the server, in the order given.

    Install it with `start()` (studio.jobs routes in-process jobs here) and remove it with `stop()`.
    A job that raises is tried again after RETRY_DELAYS_S (on the same thread); jobs are idempotent,
    so a retry changes nothing twice. Jobs waiting when the server stops are lost; the run then shows
    as stalled and Resume queues its unfinished chunks again.
    """

    def __init__(self, threads: int = JOB_THREADS) -> None:
        self._queue: queues.Queue[tuple[Callable[..., Any], tuple[Any, ...], str | None] | None] = queues.Queue()
        self._stopping = threading.Event()
        self._waiting: set[str] = set()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._work, name=f"dotoro-embedded-worker-{i}", daemon=True)
                         for i in range(max(1, threads))]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()
        jobs.install(self)

    def stop(self, timeout: float | None = None) -> None:
        """No new jobs; the threads end after the job they are running (waiting ones are dropped)."""
        jobs.uninstall(self)
        self._stopping.set()
        with self._queue.mutex:
            self._queue.unfinished_tasks -= len(self._queue.queue)
            self._queue.queue.clear()
        with self._lock:
            self._waiting.clear()
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout)

    def submit(self, fn: Callable[..., Any], args: tuple[Any, ...], job_id: str | None) -> bool:
        with self._lock:
            if job_id is not None:
                if job_id in self._waiting:
                    return False  # a double click never queues the same job twice
                self._waiting.add(job_id)
            self._queue.put((fn, args, job_id))
        return True

    def pending(self) -> int:
        """Jobs queued or running."""
        return self._queue.unfinished_tasks

    def wait(self, timeout: float) -> bool:
        """Block until no job is queued or running (or `timeout` passed); True when idle."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)
        return not self._queue.unfinished_tasks

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                self._queue.task_done()
                return
            fn, args, job_id = item
            try:
                self._attempt(fn, args, job_id)
            finally:
                if job_id is not None:
                    with self._lock:
                        self._waiting.discard(job_id)
                self._queue.task_done()

    def _attempt(self, fn: Callable[..., Any], args: tuple[Any, ...], job_id: str | None) -> None:
        name = job_id or getattr(fn, "__name__", repr(fn))
        for attempt, delay in enumerate((*RETRY_DELAYS_S, None), start=1):
            try:
                fn(*args)
                return
            except Exception:  # noqa: BLE001 - a job's failure must not end the worker thread
                log.exception("embedded job %s failed (attempt %d)%s", name, attempt, "" if delay is None else "; trying again")
            if delay is None or self._stopping.wait(delay):
                return


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
    """A daemon thread: the publishing sweep every SWEEP_SECONDS, the system schedules in their slots;
    started, it also starts the embedded worker (`self.workers`)."""

    def __init__(self, store: Store, *, every_s: float = SWEEP_SECONDS) -> None:
        super().__init__(name="dotoro-embedded-jobs", daemon=True)
        self.store = store
        self.every_s = every_s
        self._stop_event = threading.Event()
        self._slots: dict[str, int] = {}
        self.workers = EmbeddedWorkers()

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

    def start(self) -> None:
        """The loop's thread, and the worker thread that runs generation chunks (see the module's note)."""
        self.workers.start()
        super().start()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                self.run_once()
            except Exception:  # noqa: BLE001 - the store may be busy (SQLite): try again next time
                log.exception("embedded jobs: pass failed; retrying in %s s", self.every_s)
            self._stop_event.wait(self.every_s)

    def stop(self) -> None:
        self._stop_event.set()
        self.workers.stop(timeout=0)
