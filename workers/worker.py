"""`make worker`: an RQ worker with the scheduler, listening on every studio queue.

    python -m workers.worker                      # every queue, until stopped
    python -m workers.worker --burst generation   # drain one queue, then exit (benchmarks, scripts)
    python -m workers.worker --fork               # each job in a forked child process

Jobs run in the worker's own process by default: its database pool, DuckDB and caches stay warm
from one job to the next. A forked child per job (RQ's default) isolates a crashing job from the
worker but pays ~0.9 s per job to start (a 50k-row chunk renders and writes in ~1 s). Either way
a job killed mid-way loses nothing: chunks are idempotent and `recover_run` re-enqueues them.
"""

from __future__ import annotations

import argparse
import importlib

from rq import SimpleWorker, Worker
from rq.serializers import JSONSerializer

from studio.settings import load_settings
from workers.periodic import Ticker
from workers.queues import QUEUE_NAMES, queue, redis_connection

JOB_MODULES = ("workers.generation", "workers.publishing", "workers.maintenance", "workers.periodic")
"""Imported up front, so no job pays for it (the engine, studio and their libraries take ~0.8 s),
including each forked child with --fork."""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run an RQ worker for the studio's queues.")
    parser.add_argument("queues", nargs="*", metavar="QUEUE",
                        help=f"queues to listen on: {', '.join(QUEUE_NAMES)} (default: all)")
    parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    parser.add_argument("--fork", action="store_true", help="run each job in a forked child process")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.queues) - set(QUEUE_NAMES))
    if unknown:
        parser.error(f"unknown queue {unknown[0]!r}; the queues are {', '.join(QUEUE_NAMES)}")
    for name in JOB_MODULES:
        importlib.import_module(name)
    settings = load_settings()
    conn = redis_connection(settings)
    queues = [queue(settings, name, connection=conn) for name in args.queues or QUEUE_NAMES]
    worker_class = Worker if args.fork else SimpleWorker
    ticker = None if args.burst else Ticker(settings)  # periodic jobs (metering, retention): see workers.periodic
    if ticker is not None:
        ticker.start()
    try:
        worker_class(queues, connection=conn, serializer=JSONSerializer).work(with_scheduler=not args.burst,
                                                                              burst=args.burst)
    finally:
        if ticker is not None:
            ticker.stop()


if __name__ == "__main__":
    main()
