"""`make worker`: an RQ worker with the scheduler, listening on every studio queue; it outlives Redis outages.

    python -m workers.worker                      # every queue, until stopped
    python -m workers.worker --burst generation   # drain one queue, then exit (benchmarks, scripts)
    python -m workers.worker --fork               # each job in a forked child process

Jobs run in the worker's own process by default: its database pool, DuckDB and caches stay warm
from one job to the next. A forked child per job (RQ's default) isolates a crashing job from the
worker but pays ~0.9 s per job to start (a 50k-row chunk renders and writes in ~1 s). Either way
a job killed mid-way loses nothing: chunks are idempotent and the scheduler's run-recovery job
(workers.maintenance) queues them again once the dead worker's alive key has expired.

RQ's worker ends its loop on any Redis error outside the wait for a job ("unhandled exception,
quitting"). Here that only ends one round: the process waits for Redis with backoff and starts a
fresh RQ worker (with a new name; the old one is cleaned from the registry). SIGTERM / SIGINT stop
it as usual (a busy worker finishes its job first). Every worker also runs the periodic jobs' cron
(`workers.periodic.CronThread`, one leader at a time) and keeps its alive key fresh (`AliveThread`).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import threading
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from rq import SimpleWorker, Worker
from rq.serializers import JSONSerializer

from studio import logging_setup
from studio.settings import Settings, load_settings
from workers import bindings
from workers.maintenance import ALIVE_TTL_S, mark_alive
from workers.periodic import BACKOFF_S, CronThread
from workers.queues import QUEUE_NAMES, queue, redis_connection

log = logging.getLogger("workers.worker")
JOB_MODULES = ("workers.generation", "workers.publishing", "workers.maintenance", "workers.periodic", "workers.dispatch")
"""Imported up front, so no job pays for it (the engine, studio and their libraries take ~0.8 s),
including each forked child with --fork."""
MAINTENANCE_S = 60
"""RQ's own upkeep (registries, restarting its scheduler process if it died): every minute, not 10."""


class _StopAware:
    """Remembers that a person (a signal) asked the worker to stop, as opposed to RQ giving up."""

    stop_asked = False

    def request_stop(self, signum: Any, frame: Any) -> None:
        self.stop_asked = True
        super().request_stop(signum, frame)  # type: ignore[misc]


class StudioSimpleWorker(_StopAware, SimpleWorker):
    pass


class StudioForkWorker(_StopAware, Worker):
    pass


class AliveThread(threading.Thread):
    """Refreshes the current RQ worker's alive key every ALIVE_TTL_S / 3, also while a job runs."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(name="dotoro-alive", daemon=True)
        self.settings = settings
        self.worker_name: str | None = None
        self._stop_event = threading.Event()

    def run(self) -> None:
        conn = redis_connection(self.settings)
        while not self._stop_event.is_set():
            if self.worker_name:
                try:
                    mark_alive(conn, self.worker_name)
                except RedisError:
                    pass  # the key expires; once Redis is back the worker starts again under a new name
            self._stop_event.wait(ALIVE_TTL_S / 3)

    def stop(self) -> None:
        self._stop_event.set()


def wait_for_redis(conn: Redis, stop: threading.Event) -> bool:
    """Ping with backoff until Redis answers (True) or a stop is asked (False)."""
    failures = 0
    while not stop.is_set():
        try:
            if conn.ping():
                return True
        except RedisError as exc:
            delay = BACKOFF_S[min(failures, len(BACKOFF_S) - 1)]
            failures += 1
            log.warning("Redis unreachable (%s); trying again in %.0f s", exc, delay)
            stop.wait(delay)
    return False


def _connect_early() -> None:
    """Open the job store's first database connection now, not in the first job: a run's first chunk then
    starts claiming without the connection's set-up and the dialect's first queries (~0.1 s). A database
    not reachable yet only means the first job connects (and reports it)."""
    from workers.generation import job_store

    try:
        with job_store().engine.connect():
            pass
    except Exception as exc:  # noqa: BLE001 — the worker still starts; its jobs meet the cause
        log.warning("could not connect to the database at start: %s", exc)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run an RQ worker for the studio's queues.")
    parser.add_argument("queues", nargs="*", metavar="QUEUE",
                        help=f"queues to listen on: {', '.join(QUEUE_NAMES)} (default: all)")
    parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    parser.add_argument("--fork", action="store_true", help="run each job in a forked child process")
    parser.add_argument("--no-cron", action="store_true", help="never schedule the periodic jobs (another worker does)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.queues) - set(QUEUE_NAMES))
    if unknown:
        parser.error(f"unknown queue {unknown[0]!r}; the queues are {', '.join(QUEUE_NAMES)}")
    for name in JOB_MODULES:
        importlib.import_module(name)
    bindings.install()  # jobs call studio services that queue jobs (studio.jobs); forked children inherit it
    settings = load_settings()
    logging_setup.configure(settings)  # LOG_FORMAT / LOG_LEVEL, secrets masked
    worker_class = StudioForkWorker if args.fork else StudioSimpleWorker
    if args.fork:  # a job's child process ends with its job: nothing rendered ahead would be used
        from workers import chunk_render

        chunk_render.LOOK_AHEAD = False
    else:
        _connect_early()
    stop = threading.Event()
    alive = AliveThread(settings)
    threads: list[CronThread | AliveThread] = [alive]
    if not (args.burst or args.no_cron):
        threads.append(CronThread(settings))  # periodic jobs: see workers.periodic
    for thread in threads:
        thread.start()
    rounds = 0
    try:
        while not stop.is_set():
            conn = redis_connection(settings)
            if rounds and not wait_for_redis(conn, stop):
                break
            rounds += 1
            asked = False
            try:
                worker = worker_class([queue(settings, n, connection=conn) for n in args.queues or QUEUE_NAMES],
                                      connection=conn, serializer=JSONSerializer, maintenance_interval=MAINTENANCE_S)
                alive.worker_name = worker.name
                try:
                    worker.work(with_scheduler=not args.burst, burst=args.burst)
                finally:
                    asked = worker.stop_asked
            except RedisError as exc:  # RQ's own start-up and teardown write to Redis too
                log.warning("worker round ended on a Redis error: %s", exc)
            if args.burst or asked:
                break
            # RQ gave up (Redis went away mid-job or between jobs): wait for it and start again, unless stopped
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: stop.set())
            log.warning("worker stopped on an error; restarting once Redis answers")
            stop.wait(1.0)
    finally:
        for thread in threads:
            thread.stop()


if __name__ == "__main__":
    main()
