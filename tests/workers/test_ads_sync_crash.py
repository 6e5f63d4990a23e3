"""SIGKILL a real RQ worker at each step of a Reddit Ads create (before it is sent, after Reddit answered, after
our write); the periodic follow-up resumes the sync and Reddit ends with each entity exactly once (issue 21)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from redis import Redis
from rq import SimpleWorker

from studio.reddit_ads import service
from tests.studio.reddit_ads_support import ads, ads_env, connect, link_ads, make_ads, make_set  # noqa: F401
from workers import ads_sync
from workers import queues as rq_queues

ROOT = Path(__file__).resolve().parents[2]
# A real RQ worker; at the Nth time it reaches `step` it says so and waits there to be killed.
WORKER = """
import sys, time
from redis import Redis
from rq import SimpleWorker
from studio.reddit_ads import sync
from studio.settings import load_settings
from workers import bindings, queues

bindings.install()
step, nth = sys.argv[1], int(sys.argv[2])
seen = {"n": 0}

def hold(at):
    if at == step:
        seen["n"] += 1
        if seen["n"] == nth:
            print("AT", at, flush=True)
            time.sleep(300)

sync.CHECKPOINTS.append(hold)
settings = load_settings()
conn = Redis.from_url(settings.redis_url)
q = queues.queue(settings, "default", connection=conn)
SimpleWorker([q], connection=conn, serializer=q.serializer).work(burst=True)
print("DONE", flush=True)
"""
# step -> how many creates Reddit has made when the worker dies at the 5th create (campaign, 2 groups, post 1, post 2)
STEPS = {"sending": 4, "answered": 5, "recorded": 5}


@pytest.fixture()
def env(pg_settings, services, ads, monkeypatch):  # noqa: F811
    values = {"DATABASE_URL": pg_settings.database_url, "DOTORO_HOME": str(pg_settings.home),
              "REDIS_URL": services["REDIS_URL"], "SECRET_KEY": pg_settings.secret_key,
              "REDDIT_ADS_SYNC_LEASE_SECONDS": "1", **ads_env(ads)}
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    Redis.from_url(services["REDIS_URL"]).flushdb()
    return values


def _work(settings) -> None:
    conn = Redis.from_url(settings.redis_url)
    q = rq_queues.queue(settings, "default", connection=conn)
    SimpleWorker([q], connection=conn, serializer=q.serializer).work(burst=True)


@pytest.mark.parametrize("step", list(STEPS))
def test_sigkill_at_each_step_of_a_create_leaves_no_twin(pg_store, ads, env, monkeypatch, step):  # noqa: F811
    a = make_ads(pg_store, ads, monkeypatch, REDDIT_ADS_SYNC_LEASE_SECONDS="1")
    conn = connect(a)
    set_id = make_set(a, link_ads(4, campaigns=1, groups=2, creatives=2))
    service.request_sync(a.store, a.ctx, set_id, conn.id,
                         enqueue=lambda sid, delay: ads_sync.enqueue_sync(a.store.settings, a.ws, sid, delay))
    proc = subprocess.Popen([sys.executable, "-c", WORKER, step, "5"], cwd=ROOT, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(ROOT)})
    reached = threading.Event()

    def watch() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("AT "):
                reached.set()

    threading.Thread(target=watch, daemon=True).start()
    try:
        assert reached.wait(120), "the worker never reached the step"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    made = len([c for c in ads.writes() if c[0] == "POST"])
    assert made == STEPS[step], step
    assert service.set_state(a.store, a.ctx, set_id).syncs[0].status == "running"  # the worker died mid-sync
    threading.Event().wait(1.2)  # past the lease
    assert service.follow(a.store, a.ws, enqueue=lambda sid, d: ads_sync.enqueue_sync(a.store.settings, a.ws, sid, d)) == 1
    _work(a.store.settings)
    done = service.set_state(a.store, a.ctx, set_id).syncs[0]
    assert done.status == "done", (done.error, done.counts)
    assert [len(ads.of(k)) for k in ("campaign", "ad_group", "post", "ad")] == [1, 2, 2, 4]  # once each
    assert len({ad["name"] for ad in ads.of("ad")}) == 4
