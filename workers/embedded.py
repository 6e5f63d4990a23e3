"""Embedded mode (no REDIS_URL): the studio server does the periodic work itself, in one daemon thread.

It runs the same list as the team mode's scheduler, `workers.periodic.PERIODIC` (publishing sweep every
30 s, usage metering, metrics, token refresh, audit retention; the entries about RQ workers apply to the
team mode only). The loop is started once per server process (`studio.ui.resources.background_work`),
so scheduled posts go out whichever page is open, or none. Publishing is safe to run concurrently (a page's own sweep, a
second server on the same store): every item is locked and moved through its states once.

The loop also starts the embedded worker (`EmbeddedWorkers`): the jobs RQ runs in team mode — a
generation run's chunks — run on its own thread, handed over through `studio.jobs`. A click that
starts a run returns at once; the Campaign sets page follows the run's progress in the store, and
cancel / resume work as in team mode (a chunk checks the run's status; resume queues the unfinished
chunks again). Chunks waiting in memory are lost when the server stops: when the loop starts it queues
again the unfinished chunks of every run that was progressing up to STALL_AFTER before
(`workers.maintenance.resume_unfinished_runs`); a run idle longer shows as stalled, with Resume. One thread: SQLite takes one writer at a time, and DuckDB already uses every core.
"""

from __future__ import annotations

import logging
import queue as queues
import threading
import time
from collections.abc import Callable
from typing import Any

from studio import jobs
from studio.logging_setup import logged_job
from studio.store.session import Store
from workers import bindings
from workers.periodic import PERIODIC

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


class EmbeddedLoop(threading.Thread):
    """A daemon thread running the PERIODIC entries (those at most `every_s` apart on every pass, the others
    once their interval passed); started, it also starts the embedded worker (`self.workers`)."""

    def __init__(self, store: Store, *, every_s: float = SWEEP_SECONDS) -> None:
        super().__init__(name="dotoro-embedded-jobs", daemon=True)
        self.store = store
        self.every_s = every_s
        self._stop_event = threading.Event()
        self._last: dict[str, float] = {}
        self.workers = EmbeddedWorkers()

    def run_once(self, now: float | None = None) -> dict[str, Any]:
        """One pass: every entry that is due (never run in this process, or its interval passed)."""
        at = time.time() if now is None else now
        done: dict[str, Any] = {}
        for entry in PERIODIC:
            if not entry.applies(self.store.settings):
                continue
            last = self._last.get(entry.name)
            if last is not None and entry.every_s > self.every_s and at - last < entry.every_s:
                continue
            self._last[entry.name] = at
            try:
                done[entry.name] = logged_job(f"periodic:{entry.name}")(entry.run)(self.store)
            except Exception:  # noqa: BLE001 - tried again at its next interval
                log.exception("embedded periodic job %s failed", entry.name)
        return done

    def resume_unfinished(self) -> dict[str, Any]:
        """Runs the previous server process left unfinished, queued again (see the module's note)."""
        from studio.campaigns import STALL_AFTER
        from workers.maintenance import resume_unfinished_runs

        resumed = resume_unfinished_runs(self.store, idle_at_most=STALL_AFTER)
        if resumed:
            log.info("resumed %d unfinished run(s) at start: %s", len(resumed), resumed)
        return resumed

    def start(self) -> None:
        """The loop's thread, and the worker thread that runs generation chunks (see the module's note)."""
        bindings.install()  # its jobs call studio services that queue more (studio.jobs)
        self.workers.start()
        super().start()

    def run(self) -> None:
        try:
            self.resume_unfinished()
        except Exception:  # noqa: BLE001 - the runs stay resumable by hand
            log.exception("embedded jobs: resuming unfinished runs failed")
        while not self._stop_event.is_set():
            try:
                self.run_once()
            except Exception:  # noqa: BLE001 - the store may be busy (SQLite): try again next time
                log.exception("embedded jobs: pass failed; retrying in %s s", self.every_s)
            self._stop_event.wait(self.every_s)

    def stop(self) -> None:
        self._stop_event.set()
        self.workers.stop(timeout=0)
