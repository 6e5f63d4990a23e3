"""`make worker`: an RQ worker with the scheduler, listening on every studio queue."""

from __future__ import annotations

from rq import Worker
from rq.serializers import JSONSerializer

from studio.settings import load_settings
from workers.queues import QUEUE_NAMES, queue, redis_connection


def main() -> None:
    settings = load_settings()
    conn = redis_connection(settings)
    queues = [queue(settings, name, connection=conn) for name in QUEUE_NAMES]
    Worker(queues, connection=conn, serializer=JSONSerializer).work(with_scheduler=True)


if __name__ == "__main__":
    main()
