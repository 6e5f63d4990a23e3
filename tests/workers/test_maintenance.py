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


def test_workers_enqueue_periodic_jobs_once_per_slot_and_run_them(pg_settings, services, monkeypatch):
    import threading

    from redis import Redis
    from rq import SimpleWorker

    from workers import periodic, queues

    monkeypatch.setenv("DATABASE_URL", pg_settings.database_url)
    monkeypatch.setenv("DOTORO_HOME", str(pg_settings.home))
    monkeypatch.setenv("SECRET_KEY", "test-secret")
    monkeypatch.setenv("REDIS_URL", services["REDIS_URL"])
    from tests.stripe_double import StripeDouble

    double = StripeDouble()
    monkeypatch.setenv("STRIPE_API_KEY", double.api_key)
    monkeypatch.setenv("STRIPE_API_BASE", double.base_url)
    generation._store_for.cache_clear()
    settings = generation.load_settings()
    conn = Redis.from_url(services["REDIS_URL"])
    conn.flushdb()
    store = Store(settings)
    ws = auth.sign_up(store, f"t{uuid.uuid4().hex[:6]}@example.com", "Ticker", "longenough")[1]
    _old_event(store, ws, 100)
    before = _count(store, ws)
    from studio import admin  # the jobs run in this process (SimpleWorker): meter only this test's workspace

    monkeypatch.setattr(admin, "billed_workspaces", lambda _store: [ws])

    day = 86_400 * 20_000
    got: list[list[str]] = []
    ticking = [threading.Thread(target=lambda: got.append(periodic.tick(settings, now=day + 5))) for _ in range(4)]
    for t in ticking:  # four workers tick at once: each job is enqueued once
        t.start()
    for t in ticking:
        t.join()
    assert sorted(j for ids in got for j in ids) == [f"periodic-audit-retention-{day // 86_400}",
                                                     f"periodic-usage-meter-{day // 600}"]
    assert periodic.tick(settings, now=day + 300) == []                      # same slots: nothing new
    assert periodic.tick(settings, now=day + 600) == [f"periodic-usage-meter-{day // 600 + 1}"]

    q = queues.queue(settings, "default", connection=conn)
    SimpleWorker([q], connection=conn, serializer=q.serializer).work(burst=True)
    results = {j.id: j.return_value() for j in (q.fetch_job(i) for ids in got for i in ids)}
    assert results[f"periodic-audit-retention-{day // 86_400}"]["deleted"] >= 1
    metered = results[f"periodic-usage-meter-{day // 600}"]
    assert metered["error"] is None and metered["pending"] == 0, metered
    double.close()
    assert _count(store, ws) == before - 1  # the Free plan keeps 90 days
    generation._store_for.cache_clear()
    store.dispose()


def test_a_running_worker_enqueues_and_runs_the_periodic_jobs_itself(pg_settings, services, tmp_path):
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    from redis import Redis

    from workers import queues

    conn = Redis.from_url(services["REDIS_URL"])
    conn.flushdb()
    env = {**os.environ, "DATABASE_URL": pg_settings.database_url, "DOTORO_HOME": str(pg_settings.home),
           "SECRET_KEY": "test-secret", "REDIS_URL": services["REDIS_URL"], "STRIPE_API_KEY": "",
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    worker = subprocess.Popen([sys.executable, "-m", "workers.worker", "default"], env=env, cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        slot = int(time.time() // 600)
        q = queues.queue(generation.load_settings({"REDIS_URL": services["REDIS_URL"]}, dotenv=None), "default",
                         connection=conn)
        deadline, job = time.time() + 60, None
        while time.time() < deadline:
            job = q.fetch_job(f"periodic-usage-meter-{slot}") or q.fetch_job(f"periodic-usage-meter-{slot + 1}")
            if job is not None and job.get_status(refresh=True) == "finished":
                break
            time.sleep(0.2)
        assert job is not None and job.return_value() == {"skipped": "billing is off"}
    finally:
        worker.terminate()
        worker.wait(timeout=30)
