"""Audit retention by plan, on the real Postgres: Free/Starter 90 days, Pro a year, billing off forever."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import func, select, update

from studio import auth
from studio.billing.accounts import set_override
from studio.context import Context
from studio.store.models import AuditEvent
from studio.store.session import Store
from workers import generation, maintenance


def _old_event(store, ws, days):
    with store.session_scope(Context.job(ws)) as s:
        s.execute(update(AuditEvent).where(AuditEvent.action == "workspace.create")
                  .values(at=dt.datetime.now(dt.UTC) - dt.timedelta(days=days)))


def _count(store, ws):
    with store.session_scope(Context.job(ws)) as s:
        return s.scalar(select(func.count()).select_from(AuditEvent))


def test_retention_follows_the_plan(pg_settings, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", pg_settings.database_url)
    monkeypatch.setenv("DOTORO_HOME", str(pg_settings.home))
    monkeypatch.setenv("SECRET_KEY", "test-secret")
    monkeypatch.setenv("STRIPE_API_KEY", "sk_test_retention")
    generation._store_for.cache_clear()
    store = Store(generation.load_settings())
    free = auth.sign_up(store, f"f{uuid.uuid4().hex[:6]}@example.com", "Free", "longenough")[1]
    pro = auth.sign_up(store, f"p{uuid.uuid4().hex[:6]}@example.com", "Pro", "longenough")[1]
    with store.session_scope(Context.job(pro)) as s:
        set_override(s, "pro", "test", None)
    for ws in (free, pro):
        _old_event(store, ws, 100)
    before = {ws: _count(store, ws) for ws in (free, pro)}
    deleted = maintenance.apply_audit_retention()
    assert deleted.get(str(free)) == 1 and str(pro) not in deleted
    assert _count(store, free) == before[free] - 1 and _count(store, pro) == before[pro]
    monkeypatch.delenv("STRIPE_API_KEY")  # billing off: a self-hosted studio keeps everything
    generation._store_for.cache_clear()
    _old_event(store, pro, 1000)
    assert str(pro) not in maintenance.apply_audit_retention()
    generation._store_for.cache_clear()
    store.dispose()
