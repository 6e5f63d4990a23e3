"""Self-healing workers on real services: a worker SIGKILLed mid-chunk and a Redis restart mid-run, and the runs
finish by themselves (no Resume pressed) with the exact count; the dead worker leaves RQ's registry."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from redis import Redis
from rq import Worker
from sqlalchemy import func, select

from engine.generation import build_plan
from studio import auth, campaigns, datasets
from studio.context import Context
from studio.store import migrate
from studio.store.campaign_models import GenerationChunk, Variation
from studio.store.session import Store
from tests.conftest import fresh_pg_database, make_settings
from workers import generation

ROOT = Path(__file__).resolve().parents[2]
CONFIG = {"platform": "reddit", "format": "thread",
          "templates": {"subreddit": "{{ category }}", "title": "{{ product_name }} in {{ city | default('town') }}",
                        "body": "{{ description }} for ${{ price }}"}}
pytestmark = pytest.mark.slow


class PrivateRedis:
    """A redis-server of the test's own, with the append-only file on (as `make services`), that it can restart."""

    def __init__(self, root: Path) -> None:
        self.dir = root
        root.mkdir(parents=True, exist_ok=True)
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir), "--save", "",
             "--appendonly", "yes", "--appendfsync", "everysec"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(400):
            try:
                if Redis.from_url(self.url).ping():
                    return
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.025)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: Redis fsyncs the append-only file and exits
            self.proc.wait(timeout=30)

    def restart(self, down_s: float = 0.0) -> None:
        self.stop()
        time.sleep(down_s)
        self.start()


def spawn_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`make worker`: every queue, the scheduler and the periodic jobs, until stopped."""
    return subprocess.Popen([sys.executable, "-m", "workers.worker"], cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT)},
                            stdout=log.open("ab"), stderr=subprocess.STDOUT)


@pytest.fixture()
def team(services, tmp_path, monkeypatch, shared_data):
    """A database of its own (the periodic jobs loop over every workspace), a Redis of its own, one workspace."""
    redis = PrivateRedis(tmp_path / "redis")
    owner, app = fresh_pg_database(services, f"heal_{uuid.uuid4().hex[:8]}")
    settings = make_settings(tmp_path / "home", DATABASE_URL=app, MIGRATION_DATABASE_URL=owner, REDIS_URL=redis.url)
    migrate.upgrade(settings)
    env = {**os.environ, "DATABASE_URL": app, "DOTORO_HOME": str(settings.home), "REDIS_URL": redis.url,
           "SECRET_KEY": "test-secret", "STRIPE_API_KEY": "", "BACKGROUND_JOBS": "off"}
    for key in ("DATABASE_URL", "DOTORO_HOME", "REDIS_URL", "SECRET_KEY"):
        monkeypatch.setenv(key, env[key])
    store = Store(settings)
    account, ws = auth.sign_up(store, f"h{uuid.uuid4().hex[:8]}@example.com", "Heal Tester", "longenough")
    ctx = Context(user_id=account.id, workspace_id=ws)
    ds = datasets.upload(store, ctx, "products_2k.csv", (shared_data / "products_2k.csv").read_bytes())
    yield store, settings, ctx, ds, redis, env
    store.dispose()
    redis.stop()


def start_run(store, settings, ctx, set_id, chunk_rows):
    run_id = campaigns.start_run(store, ctx, set_id, chunk_rows=chunk_rows)
    generation.enqueue_run(settings, ctx.workspace_id, run_id, campaigns.latest_run(store, ctx, set_id).chunks_total)
    return run_id


def stored_keys(store, ctx, set_id):
    with store.session_scope(ctx) as s:
        return s.execute(select(Variation.row_index, Variation.variation_index)
                         .where(Variation.campaign_set_id == set_id)).all()


def wait_until(predicate, timeout_s: float, every: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return predicate()


def test_a_killed_worker_and_a_redis_restart_need_no_resume(team, tmp_path):
    store, settings, ctx, ds, redis, env = team
    # 3 × 40 chunks: enough work that a respawned victim (when a kill landed between chunks) finds some left
    sets = [campaigns.create(store, ctx, f"Healing {i}", ds.id, CONFIG) for i in range(3)]
    runs = [start_run(store, settings, ctx, set_id, chunk_rows=50) for set_id in sets]
    log = tmp_path / "workers.log"
    workers = [spawn_worker(env, log) for _ in range(2)]
    try:
        conn = Redis.from_url(redis.url)
        held: list[tuple[uuid.UUID, int]] = []

        def victim_busy() -> bool:  # the chunk the first worker is rendering right now, from RQ's worker list
            for w in Worker.all(connection=conn):
                job_id = w.pid == workers[0].pid and w.get_current_job_id()
                m = re.match(r"gen-([0-9a-f-]{36})-(\d+)", job_id or "")
                if m:
                    held[:] = [(uuid.UUID(m.group(1)), int(m.group(2)))]
                    return True
            return False

        assert wait_until(lambda: campaigns.latest_run(store, ctx, sets[0]).chunks_done >= 1, 60), log.read_text()

        def chunk_status() -> str:
            (run_id, index), = held
            with store.session_scope(ctx) as s:
                return s.scalar(select(GenerationChunk.status).where(GenerationChunk.run_id == run_id,
                                                                     GenerationChunk.index == index))

        for _attempt in range(4):  # a chunk can finish between seeing it in RQ's list and the signal: aim again
            # a 50-row chunk takes tens of milliseconds: look often, or the queue drains between looks
            assert wait_until(victim_busy, 30, every=0.01), log.read_text()[-4000:]
            workers[0].send_signal(signal.SIGKILL)  # mid-chunk
            workers[0].wait()
            killed_at = time.monotonic()
            if chunk_status() != "done":
                break
            workers[0] = spawn_worker(env, log)
        assert chunk_status() != "done", "the kill should land mid-chunk"
        redis.restart(down_s=1.0)  # mid-run: the surviving worker is busy or waiting on Redis
        assert workers[1].poll() is None, "the worker outlived the Redis restart"
        assert wait_until(lambda: chunk_status() == "done", 50), log.read_text()[-4000:]
        healed_s = time.monotonic() - killed_at
        assert wait_until(lambda: all(campaigns.latest_run(store, ctx, s).status == "done" for s in sets), 50), \
            log.read_text()[-4000:]
        assert workers[1].poll() is None
        assert wait_until(lambda: len(Worker.all(connection=conn)) == 1, 45), \
            f"dead workers stay listed: {[w.name for w in Worker.all(connection=conn)]}"
    finally:
        for w in workers:
            if w.poll() is None:
                w.terminate()
                w.wait(timeout=60)
    print(f"\nthe chunk the SIGKILLed worker was rendering was done {healed_s:.1f} s after the kill "
          "(Redis restarted meanwhile)")
    with build_plan(datasets.load_table(store, ctx, ds.id), CONFIG) as plan:
        expected = plan.to_arrow().num_rows
    for set_id, run_id in zip(sets, runs, strict=True):
        keys = stored_keys(store, ctx, set_id)
        assert len(keys) == len(set(keys)) == expected, "nothing lost, nothing written twice"
        info = campaigns.latest_run(store, ctx, set_id)
        assert (info.id, info.variations, info.rows_done) == (run_id, expected, 2000)
    with store.session_scope(ctx) as s:
        assert s.scalar(select(func.count()).select_from(GenerationChunk).where(GenerationChunk.status != "done")) == 0


def test_a_dead_schedulers_lock_is_released_and_a_live_ones_kept(tmp_path):
    """RQ keeps a dead scheduler's lock until it expires, then waits up to 2 minutes more: scheduled posts would
    go out late. Upkeep releases locks whose holder stopped heartbeating, and only those."""
    from rq.scheduler import RQScheduler
    from rq.utils import utcformat

    from studio.store.base import utcnow
    from workers.maintenance import release_dead_scheduler_locks

    redis = PrivateRedis(tmp_path / "redis")
    try:
        conn = Redis.from_url(redis.url)
        conn.set(RQScheduler.get_locking_key("publishing"), "gone", ex=60)  # its process was SIGKILLed
        conn.hset("rq:scheduler:gone", "last_heartbeat", utcformat(utcnow() - dt.timedelta(seconds=40)))
        conn.set(RQScheduler.get_locking_key("generation"), "alive", ex=60)
        conn.hset("rq:scheduler:alive", "last_heartbeat", utcformat(utcnow()))
        conn.set(RQScheduler.get_locking_key("default"), "never-born", ex=60)
        assert sorted(release_dead_scheduler_locks(conn)) == ["default", "publishing"]
        assert conn.get(RQScheduler.get_locking_key("generation")) == b"alive"
        assert conn.get(RQScheduler.get_locking_key("publishing")) is None
    finally:
        redis.stop()
