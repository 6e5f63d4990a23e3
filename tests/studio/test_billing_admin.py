"""Operators: every workspace with plan and usage, audited plan overrides, queue health; nobody else."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Iterator

import pytest
from redis import Redis
from rq import SimpleWorker
from sqlalchemy import select, text

from studio import admin, auth
from studio.billing import Metric, check_allowance, record_usage
from studio.context import UserId
from studio.errors import NotFound, PermissionDenied, ValidationFailed
from studio.settings import Settings
from studio.store import migrate
from studio.store.models import AuditEvent, OperatorAction
from studio.store.session import Store
from tests.conftest import make_settings
from tests.studio import test_billing
from tests.studio.test_billing import owner, with_stripe

double = test_billing.double  # the shared Stripe double
OPERATOR = "ops@dotoro.test"


def _operator_store(settings: Settings, double, **kw) -> Store:
    return Store(with_stripe(settings, double, OPERATOR_EMAILS=f" {OPERATOR.upper()} , other@dotoro.test"), **kw)


@pytest.fixture(scope="module")
def pg_ops(pg_settings: Settings, double) -> Iterator[Store]:
    store = _operator_store(pg_settings, double, pool_size=3)
    yield store
    store.dispose()


@pytest.fixture(scope="module")
def sqlite_ops(tmp_path_factory: pytest.TempPathFactory, double) -> Iterator[Store]:
    settings = make_settings(tmp_path_factory.mktemp("ops"))
    migrate.upgrade(settings)
    store = _operator_store(settings, double)
    yield store
    store.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def ops_store(request: pytest.FixtureRequest) -> Store:
    return request.getfixturevalue("sqlite_ops" if request.param == "sqlite" else "pg_ops")


def operator(store: Store) -> UserId:
    """The operator's account (created once per database)."""
    try:
        account, _ = auth.sign_up(store, OPERATOR, "Otto Operator", "correct horse")
        return account.id
    except ValidationFailed:
        return auth.authenticate(store, OPERATOR, "correct horse").id


def test_only_operators_get_in(ops_store):
    someone = owner(ops_store)
    for attempt in (lambda: admin.list_workspaces(ops_store, someone.user_id),
                    lambda: admin.override_plan(ops_store, someone.user_id, someone.workspace_id, "pro", "free upgrade"),
                    lambda: admin.queue_health(ops_store, someone.user_id),
                    lambda: admin.retry_job(ops_store, someone.user_id, "default", "x"),
                    lambda: admin.list_workspaces(ops_store, None)):
        with pytest.raises(PermissionDenied, match="operators"):
            attempt()
    assert not admin.is_operator(ops_store, someone.user_id)
    assert admin.is_operator(ops_store, operator(ops_store))


def test_operators_see_every_workspace_with_plan_and_usage(ops_store):
    a, b = owner(ops_store), owner(ops_store)
    with ops_store.session_scope(a) as s:
        record_usage(s, Metric.VARIATIONS, 42, "run-a")
    with ops_store.session_scope(b) as s:
        record_usage(s, Metric.PUBLISHES, 3, "pub-b")
    op = operator(ops_store)
    rows = {r.id: r for r in admin.list_workspaces(ops_store, op)}
    assert {a.workspace_id, b.workspace_id} <= set(rows)
    ra, rb = rows[a.workspace_id], rows[b.workspace_id]
    assert (ra.plan, ra.status, ra.members, ra.usage[Metric.VARIATIONS], ra.limits[Metric.VARIATIONS]) == \
        ("Free", "no subscription", 1, 42, 100)
    assert rb.usage[Metric.PUBLISHES] == 3 and len(rb.owners) == 1
    assert [x.action for x in admin.recent_actions(ops_store, op)][:1] == ["admin.list_workspaces"]


def test_a_plan_override_needs_a_reason_and_is_audited(ops_store):
    ctx = owner(ops_store)
    op = operator(ops_store)
    with pytest.raises(ValidationFailed, match="reason"):
        admin.override_plan(ops_store, op, ctx.workspace_id, "pro", "  ")
    with pytest.raises(ValidationFailed, match="Unknown plan"):
        admin.override_plan(ops_store, op, ctx.workspace_id, "platinum", "why not")
    with pytest.raises(NotFound):
        admin.override_plan(ops_store, op, uuid.uuid4(), "pro", "ghost")  # type: ignore[arg-type]
    assert admin.override_plan(ops_store, op, ctx.workspace_id, "pro", "Agency pilot, see ticket 42") == "Pro"
    assert check_allowance(ops_store, ctx, Metric.VARIATIONS, 5000).limit == 5000
    with ops_store.session_scope(ctx) as s:  # the workspace's own trail shows who, what and why
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "billing.override"))
        assert event.actor_id == op and "Agency pilot, see ticket 42" in event.summary and "Free → Pro" in event.summary
    assert admin.override_plan(ops_store, op, ctx.workspace_id, None, "pilot over") == "Free"
    assert check_allowance(ops_store, ctx, Metric.VARIATIONS, 1).limit == 100


def test_the_operator_policy_is_read_only_and_off_unless_admin_turns_it_on(pg_ops):
    a, b = owner(pg_ops), owner(pg_ops)
    with pg_ops.session_scope(b) as s:
        record_usage(s, Metric.VARIATIONS, 5, "b-run")
    with pg_ops.engine.begin() as c:
        c.execute(text("select set_config('app.workspace_id', :w, true)"), {"w": str(a.workspace_id)})
        assert c.execute(text("select count(*) from usage_events where workspace_id = :b"), {"b": b.workspace_id}).scalar() == 0
        c.execute(text("select set_config('app.operator', 'on', true)"))
        assert c.execute(text("select count(*) from usage_events where workspace_id = :b"), {"b": b.workspace_id}).scalar() == 1
        assert c.execute(text("update usage_events set amount = 0 where workspace_id = :b"), {"b": b.workspace_id}).rowcount == 0
        assert c.execute(text("delete from workspaces where id = :b"), {"b": b.workspace_id}).rowcount == 0
        assert c.execute(text("select count(*) from audit_events where workspace_id = :b"), {"b": b.workspace_id}).scalar() == 0
    with pg_ops.engine.begin() as c:  # transaction-local: gone with the transaction
        assert c.execute(text("select count(*) from usage_events where workspace_id = :b"), {"b": b.workspace_id}).scalar() == 0


def failing_job() -> None:
    raise RuntimeError("the platform said no")


def test_queue_health_with_retry_and_delete(services, pg_settings, double, tmp_path):
    from workers.queues import queue

    settings = dataclasses.replace(pg_settings, redis_url=services["REDIS_URL"])
    store = _operator_store(settings, double, pool_size=2)
    try:
        op = operator(store)
        conn = Redis.from_url(services["REDIS_URL"])
        q = queue(settings, "default", connection=conn)
        job = q.enqueue(failing_job)
        later = q.enqueue_in(dt.timedelta(hours=1), failing_job)
        SimpleWorker([q], connection=conn, serializer=q.serializer).work(burst=True)
        health = admin.queue_health(store, op)
        assert health.available and {i.name for i in health.queues} >= {"default", "generation", "publishing"}
        failed = next(j for j in health.failed if j.id == job.id)
        assert failed.error == "RuntimeError: the platform said no" and failed.function.endswith("failing_job")
        assert any(j.id == later.id for j in health.scheduled)
        admin.retry_job(store, op, "default", job.id)
        assert job.id in q.job_ids and job.id not in q.failed_job_registry.get_job_ids()
        admin.delete_job(store, op, "default", later.id)
        assert later.id not in q.scheduled_job_registry.get_job_ids()
        admin.delete_job(store, op, "default", job.id)
        with pytest.raises(NotFound):
            admin.retry_job(store, op, "default", job.id)
        with store.account_scope(op) as s:
            logged = [a.action for a in s.scalars(select(OperatorAction).where(OperatorAction.operator_id == op))]
        assert {"admin.retry_job", "admin.delete_job"} <= set(logged)
    finally:
        store.dispose()
    embedded = _operator_store(make_settings(tmp_path / "embedded"), double)
    migrate.upgrade(embedded.settings)
    assert "in-process" in admin.queue_health(embedded, operator(embedded)).message
    embedded.dispose()


def test_billed_workspaces_for_the_meter_sweep(pg_ops, double):
    ctx = owner(pg_ops)
    test_billing.upgrade(pg_ops, double, ctx)
    assert ctx.workspace_id in admin.billed_workspaces(pg_ops)


def test_operators_see_accounts_that_need_reconnecting_in_every_workspace(ops_store):
    from studio.store.publishing_models import RedditAccount

    a, b = owner(ops_store), owner(ops_store)
    with ops_store.session_scope(a) as s:
        s.add(RedditAccount(username="revoked_one", auth_kind="oauth", status="reconnect_needed",
                            status_reason="Reddit revoked the grant"))
    with ops_store.session_scope(b) as s:
        s.add(RedditAccount(username="fine_one", auth_kind="oauth", status="active"))
    flagged = [f for f in admin.reconnect_needed(ops_store, operator(ops_store)) if f.workspace_id in (a.workspace_id, b.workspace_id)]
    assert [(f.workspace_id, f.username, f.reason) for f in flagged] == [(a.workspace_id, "revoked_one", "Reddit revoked the grant")]
    with pytest.raises(PermissionDenied, match="operators"):
        admin.reconnect_needed(ops_store, a.user_id)
