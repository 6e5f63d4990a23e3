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


def test_workers_enqueue_periodic_jobs_once_per_interval_and_run_them(pg_settings, services, monkeypatch):
    from redis import Redis
    from rq import SimpleWorker
    from rq.cron import get_cron_job_ids

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

    # two workers' cron threads: one leads (a Redis lock), so each periodic job is enqueued once per interval
    first, second = periodic.CronThread(settings), periodic.CronThread(settings)
    assert first._lead(conn) and not second._lead(conn)
    cron = periodic.StudioCron(settings, conn)
    assert sorted(j.name for j in cron.enqueue_jobs()) == sorted(p.name for p in periodic.PERIODIC)
    assert cron.enqueue_jobs() == [], "nothing is due again at once"
    successor = periodic.StudioCron(settings, conn)  # the leader died: the next one reads RQ's cron history
    successor.restore_times()
    assert successor.enqueue_jobs() == [], "a new leader keeps the intervals instead of running everything again"
    got = {name: get_cron_job_ids(name, conn) for name in ("audit-retention", "usage-meter")}
    assert all(len(ids) == 1 for ids in got.values())
    q = queues.queue(settings, "default", connection=conn)
    for job in periodic.PERIODIC:  # the others would walk every workspace earlier tests left in the shared database
        if job.name not in got:
            for job_id in get_cron_job_ids(job.name, conn):
                q.remove(job_id)
    SimpleWorker([q], connection=conn, serializer=q.serializer).work(burst=True)
    results = {name: q.fetch_job(ids[0]).return_value() for name, ids in got.items()}
    assert results["audit-retention"]["deleted"] >= 1
    metered = results["usage-meter"]
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
    from rq.cron import get_cron_job_ids

    from workers import queues

    conn = Redis.from_url(services["REDIS_URL"])
    conn.flushdb()
    env = {**os.environ, "DATABASE_URL": pg_settings.database_url, "DOTORO_HOME": str(pg_settings.home),
           "SECRET_KEY": "test-secret", "REDIS_URL": services["REDIS_URL"], "STRIPE_API_KEY": "",
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    worker = subprocess.Popen([sys.executable, "-m", "workers.worker", "default"], env=env, cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        q = queues.queue(generation.load_settings({"REDIS_URL": services["REDIS_URL"]}, dotenv=None), "default",
                         connection=conn)
        deadline, job = time.time() + 60, None
        while time.time() < deadline:
            ids = get_cron_job_ids("usage-meter", conn)
            job = q.fetch_job(ids[0]) if ids else None
            if job is not None and job.get_status(refresh=True) == "finished":
                break
            time.sleep(0.2)
        assert job is not None and job.return_value() == {"skipped": "billing is off"}
    finally:
        worker.terminate()
        worker.wait(timeout=30)
