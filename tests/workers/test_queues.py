"""Queue wiring against the real Redis: a job enqueued by id runs on an RQ worker with JSON serialization."""

from __future__ import annotations

from redis import Redis
from rq import SimpleWorker

from tests.conftest import make_settings
from workers import queues


def record_to_redis(url: str, key: str, value: str) -> None:
    Redis.from_url(url).set(key, value)


def test_submit_runs_on_the_rq_pool(services, tmp_path):
    settings = make_settings(tmp_path, REDIS_URL=services["REDIS_URL"])
    done = queues.submit(settings, record_to_redis, services["REDIS_URL"], "k1", "hello")
    assert not done.in_process
    conn = Redis.from_url(services["REDIS_URL"])
    assert conn.get("k1") is None  # not yet: a worker must pick it up
    q = queues.queue(settings, connection=conn)
    SimpleWorker([q], connection=conn, serializer=q.serializer).work(burst=True)
    assert conn.get("k1") == b"hello"


def test_embedded_mode_runs_in_process(services, tmp_path):
    settings = make_settings(tmp_path)
    done = queues.submit(settings, record_to_redis, services["REDIS_URL"], "k2", "now")
    assert done.in_process
    assert Redis.from_url(services["REDIS_URL"]).get("k2") == b"now"


def test_the_readme_lists_every_periodic_job_with_its_interval():
    """Docs and code agree: the README's table of periodic jobs is PERIODIC, name by name, interval by interval."""
    import re
    from pathlib import Path

    from workers.periodic import PERIODIC

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    units = {"s": 1, "min": 60}
    words = {"hourly": 3600, "daily": 86_400}
    table = {}
    for name, every in re.findall(r"^\| ([a-z-]+) \| ([^|]+) \|", readme, flags=re.M):
        every = every.strip()
        m = re.fullmatch(r"(\d+) (s|min)", every)
        table[name] = int(m.group(1)) * units[m.group(2)] if m else words.get(every)
    assert {p.name: p.every_s for p in PERIODIC}.items() <= table.items()
