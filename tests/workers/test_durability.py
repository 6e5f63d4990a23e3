"""Durability on services the test starts itself (not the session's): 1,000 scheduled publish jobs survive a Redis
restart (append-only file on, as `make services`) and each posts once on the Reddit double; a Postgres restart
(scripts/services.sh into a temp dir) during a 10-chunk generation run still ends with the exact count, once each."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from redis import Redis
from rq import SimpleWorker
from rq.registry import ScheduledJobRegistry
from rq.scheduler import RQScheduler
from sqlalchemy import select

from engine.generation import build_plan
from studio import auth, campaigns, datasets
from studio.context import Context
from studio.store import migrate
from studio.store.campaign_models import Variation
from studio.store.publishing_models import PublishItem
from studio.store.session import Store
from tests.conftest import make_settings
from tests.studio.test_publishing_support import connect, make_pub, make_set, reddit, rows  # noqa: F401
from tests.workers.test_publishing import env  # noqa: F401
from tests.workers.test_self_healing import CONFIG, PrivateRedis, spawn_worker, start_run, wait_until
from workers import publishing
from workers import queues as rq_queues

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ROOT / "scripts" / "services.sh"
pytestmark = pytest.mark.slow


def test_a_thousand_scheduled_posts_survive_a_redis_restart_and_each_posts_once(pg_store, reddit, env, tmp_path,  # noqa: F811
                                                                                monkeypatch):
    redis = PrivateRedis(tmp_path / "redis")
    try:
        monkeypatch.setenv("REDIS_URL", redis.url)
        publishing._store_for.cache_clear()
        pub = make_pub(pg_store, reddit, monkeypatch)
        settings = dataclasses.replace(pub.store.settings, redis_url=redis.url)
        monkeypatch.setattr(pub.store, "settings", settings)
        alice = connect(pub, "alice")
        reddit.rate_limits["comment"] = (10**6, 60.0)  # the double's per-user limit; this test is about Redis
        parent = reddit.new_post("carol", {"sr": "python", "kind": "self", "title": "A busy thread"})
        set_id = make_set(pub, rows(1))
        at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=15)  # time to schedule 1,000 jobs on a busy machine
        with pub.store.session_scope(pub.ctx) as s:
            made = [PublishItem(campaign_set_id=set_id, dedupe_key=f"durable-{i}", kind="comment", account_id=alice.id,
                                body=f"Reply {i}", parent_fullname=parent["name"], scheduled_at=at) for i in range(1000)]
            s.add_all(made)
            s.flush()
            ids = [item.id for item in made]
        for item_id in ids:
            publishing.enqueue_item(settings, pub.ws, item_id, 0, at)
        assert dt.datetime.now(dt.UTC) < at, "scheduling took too long to test the scheduled registry"
        conn = Redis.from_url(redis.url)
        q = rq_queues.queue(settings, publishing.QUEUE, connection=conn)
        assert ScheduledJobRegistry(queue=q).count == 1000

        redis.restart()
        assert ScheduledJobRegistry(queue=q).count == 1000, "the scheduled jobs are in the append-only file"
        wait_until(lambda: dt.datetime.now(dt.UTC) > at + dt.timedelta(seconds=1), 30)
        began = dt.datetime.now(dt.UTC)
        scheduler = RQScheduler([q], connection=conn, serializer=q.serializer)
        scheduler.acquire_locks()
        scheduler.enqueue_scheduled_jobs()
        scheduler.release_locks()
        assert q.count == 1000
        helpers = [subprocess.Popen([sys.executable, "-m", "workers.worker", "--burst", "publishing"], cwd=ROOT,
                                    env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL) for _ in range(2)]  # three workers share them
        SimpleWorker([q], connection=conn, serializer=q.serializer).work(burst=True)
        for helper in helpers:
            assert helper.wait(timeout=120) == 0
        print(f"\n1,000 posts after the restart in {(dt.datetime.now(dt.UTC) - began).total_seconds():.1f} s")
        with pub.store.session_scope(pub.ctx) as s:
            states = list(s.scalars(select(PublishItem.state).where(PublishItem.id.in_(ids))))
        assert states == ["posted"] * 1000
        bodies = [c["body"] for c in reddit.comments if c["parent_id"] == parent["name"]]
        assert len(bodies) == len(set(bodies)) == 1000, "each posted exactly once"
    finally:
        redis.stop()
        publishing._store_for.cache_clear()


@pytest.fixture()
def own_services(tmp_path):
    """A Postgres + Redis pair of this test's own, which it may restart."""
    root = Path("/tmp") / f"dotoro-durable-{uuid.uuid4().hex[:8]}"
    subprocess.run([str(SERVICES), "start", str(root)], check=True, capture_output=True)
    values = {}
    for line in (root / "env").read_text().splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        values[key] = value
    yield root, values
    subprocess.run([str(SERVICES), "stop", str(root)], check=False)
    subprocess.run(["rm", "-rf", str(root)], check=False)


def test_a_postgres_restart_mid_run_still_gives_the_exact_count_once(own_services, tmp_path, monkeypatch, shared_data):
    root, services = own_services
    settings = make_settings(tmp_path / "home", DATABASE_URL=services["DATABASE_URL"],
                             MIGRATION_DATABASE_URL=services["MIGRATION_DATABASE_URL"], REDIS_URL=services["REDIS_URL"])
    migrate.upgrade(settings)
    worker_env = {**os.environ, "DATABASE_URL": services["DATABASE_URL"], "DOTORO_HOME": str(settings.home),
           "REDIS_URL": services["REDIS_URL"], "SECRET_KEY": "test-secret", "STRIPE_API_KEY": "", "BACKGROUND_JOBS": "off"}
    for key in ("DATABASE_URL", "DOTORO_HOME", "REDIS_URL", "SECRET_KEY"):
        monkeypatch.setenv(key, worker_env[key])
    store = Store(settings)  # pool_pre_ping: the test's own connections also outlive the restart
    account, ws = auth.sign_up(store, f"d{uuid.uuid4().hex[:8]}@example.com", "Durable", "longenough")
    ctx = Context(user_id=account.id, workspace_id=ws)
    ds = datasets.upload(store, ctx, "products_2k.csv", (shared_data / "products_2k.csv").read_bytes())
    set_id = campaigns.create(store, ctx, "Through a restart", ds.id, CONFIG)
    run_id = start_run(store, settings, ctx, set_id, chunk_rows=200)
    assert campaigns.latest_run(store, ctx, set_id).chunks_total == 10
    log = tmp_path / "worker.log"
    worker = spawn_worker(worker_env, log)
    try:
        assert wait_until(lambda: campaigns.latest_run(store, ctx, set_id).chunks_done >= 2, 60), log.read_text()
        subprocess.run([str(SERVICES), "restart", str(root), "pg"], check=True)
        midway = campaigns.latest_run(store, ctx, set_id)
        assert midway.chunks_done < 10, "the restart should land mid-run"
        assert wait_until(lambda: campaigns.latest_run(store, ctx, set_id).status == "done", 55), \
            log.read_text()[-4000:]
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    with build_plan(datasets.load_table(store, ctx, ds.id), CONFIG) as plan:
        expected = plan.to_arrow().num_rows
    with store.session_scope(ctx) as s:
        keys = s.execute(select(Variation.row_index, Variation.variation_index)
                         .where(Variation.campaign_set_id == set_id)).all()
    info = campaigns.latest_run(store, ctx, set_id)
    assert (info.id, info.rows_done, info.variations) == (run_id, 2000, expected)
    assert len(keys) == len(set(keys)) == expected, "nothing lost, nothing written twice"
    store.dispose()
