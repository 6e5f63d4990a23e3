"""Team mode: the periodic feed sweep enqueues one RQ job per due URL data set and a real worker runs it."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from redis import Redis
from rq import SimpleWorker
from sqlalchemy import select

from studio import auth, datasets, feeds
from studio.context import Context
from studio.store.base import utcnow
from studio.store.feed_models import FeedSource
from studio.store.session import Store
from tests.feed_server import FeedServer, Route
from workers import feeds as feed_jobs
from workers import queues
from workers.periodic import BY_NAME


@pytest.fixture()
def env(pg_settings, services, monkeypatch):
    """Jobs read their settings from the environment, like a worker process does."""
    monkeypatch.setenv("DATABASE_URL", pg_settings.database_url)
    monkeypatch.setenv("DOTORO_HOME", str(pg_settings.home))
    monkeypatch.setenv("REDIS_URL", services["REDIS_URL"])
    monkeypatch.setenv("SECRET_KEY", "test-secret")
    monkeypatch.setenv("FEED_ALLOWED_NETWORKS", "127.0.0.1")
    return pg_settings


@pytest.fixture()
def server():
    s = FeedServer().start()
    yield s
    s.stop()


def test_due_feeds_are_fetched_by_a_worker_once(env, server):
    from studio.settings import load_settings

    store = Store(load_settings(dotenv=None), pool_size=2)
    try:
        account, ws = auth.sign_up(store, f"w{uuid.uuid4().hex[:8]}@example.com", "Wes Worker", "correct horse")
        ctx = Context(user_id=account.id, workspace_id=ws)
        server.routes["/f.csv"] = Route(b"sku,name\nA,x\n", etag=False)
        ds_id = feeds.create_from_url(store, ctx, server.url("/f.csv"), interval_minutes=15).dataset_id
        server.routes["/f.csv"] = Route(b"sku,name\nA,x\nB,y\n", etag=False)
        with store.session_scope(ctx) as s:
            s.scalar(select(FeedSource).where(FeedSource.dataset_id == ds_id)).next_fetch_at = \
                utcnow() - dt.timedelta(seconds=1)
        assert BY_NAME["feed-sweep"].run(store)["handed"] >= 1
        BY_NAME["feed-sweep"].run(store)  # a second sweep (another leader, a rerun) hands out nothing again
        q = queues.queue(env)
        assert q.job_ids.count(feed_jobs.job_id(ds_id)) == 1
        with store.session_scope(ctx) as s:
            assert s.scalar(select(FeedSource.queued_at).where(FeedSource.dataset_id == ds_id)) is not None
        conn = Redis.from_url(env.redis_url)
        SimpleWorker([q], connection=conn, serializer=q.serializer).work(burst=True)
        assert datasets.get_dataset(store, ctx, ds_id).summary.version == 2
        status = feeds.feed_status(store, ctx, ds_id)
        assert [f.trigger for f in status.fetches] == ["schedule", "create"]
        assert status.next_fetch_at is not None and status.next_fetch_at > utcnow() + dt.timedelta(minutes=14)
    finally:
        store.dispose()
