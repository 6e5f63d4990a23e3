"""Team mode: an emitted event is fanned out and delivered by RQ workers (real Redis, real Postgres)."""

from __future__ import annotations

import uuid

import pytest
from redis import Redis
from rq import SimpleWorker
from rq.serializers import JSONSerializer

from studio import auth, deliveries, events, notifications, webhooks
from studio.context import Context
from studio.store.session import Store
from tests.http_receiver import receiver
from workers import queues


@pytest.fixture()
def team_store(pg_settings, services, monkeypatch):
    """Jobs read their settings from the environment, like a worker process does."""
    env = {"DATABASE_URL": pg_settings.database_url, "DOTORO_HOME": str(pg_settings.home),
           "REDIS_URL": services["REDIS_URL"], "SECRET_KEY": "test-secret", "WEBHOOK_ALLOW_PRIVATE": "on",
           "WEBHOOK_RETRY_BASE_SECONDS": "0"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    Redis.from_url(services["REDIS_URL"]).flushdb()
    import dataclasses

    store = Store(dataclasses.replace(pg_settings, extra={**pg_settings.extra, "WEBHOOK_ALLOW_PRIVATE": "on",
                                                          "WEBHOOK_RETRY_BASE_SECONDS": "0"}))
    yield store
    store.dispose()


def _work(store: Store) -> None:
    conn = Redis.from_url(store.settings.redis_url)
    SimpleWorker([queues.queue(store.settings, "default", connection=conn)], connection=conn,
                 serializer=JSONSerializer).work(burst=True)


def test_the_worker_pool_dispatches_and_delivers_an_event(team_store):
    account, ws = auth.sign_up(team_store, f"t{uuid.uuid4().hex[:8]}@example.com", "Tia", "longenough")
    ctx = Context(user_id=account.id, workspace_id=ws)
    with receiver([503, 200]) as rec:
        webhooks.create_endpoint(team_store, ctx, rec.url, ["generation.completed"])
        with team_store.session_scope(ctx) as s:
            events.emit(s, "generation.completed", {"set_name": "Team run", "variations": 7})
        _work(team_store)  # the nudge's dispatch job, then the delivery job it queued (503)
        assert notifications.unread_count(team_store, ctx) == 1 and len(rec.requests) == 1
        from workers.dispatch import sweep_workspace

        sweep_workspace(team_store, ws)  # the periodic entry: the retry is due at once in this test
        _work(team_store)
    assert len(rec.requests) == 2
    log = webhooks.delivery_log(team_store, ctx)
    assert [(d.state, d.attempts, d.last_status) for d in log] == [("succeeded", 2, 200)]
    assert deliveries.due(team_store, ws) == []
