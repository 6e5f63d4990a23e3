"""Billing: plans and limits, usage metering, upgrade through Checkout and the return check, the portal.

The fixtures here (a Stripe double, stores with billing on) are imported by the other test_billing_* modules.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from studio import auth, invitations
from studio.billing import (
    LimitExceeded,
    Metric,
    allowance_in,
    check_allowance,
    check_members,
    record_usage,
    subscriptions,
)
from studio.billing.accounts import set_override
from studio.billing.limits import MemberLimitReached
from studio.billing.plans import PLANS, UNLIMITED
from studio.billing.stripe_gateway import BillingUnavailable
from studio.context import Context, Role
from studio.errors import NotFound, PermissionDenied, ValidationFailed
from studio.settings import Settings
from studio.store import migrate
from studio.store.models import AuditEvent, UsageEvent
from studio.store.session import Store
from tests.conftest import make_settings
from tests.stripe_double import StripeDouble

PRICES = {"STRIPE_PRICE_STARTER": "price_starter", "STRIPE_PRICE_PRO": "price_pro"}


@pytest.fixture(scope="session")
def double() -> Iterator[StripeDouble]:
    d = StripeDouble()
    yield d
    d.close()


def with_stripe(settings: Settings, double: StripeDouble, **more: str) -> Settings:
    extra = {**settings.extra, "STRIPE_API_KEY": double.api_key, "STRIPE_API_BASE": double.base_url,
             "STRIPE_WEBHOOK_SECRET": double.webhook_secret, **PRICES, **more}
    return dataclasses.replace(settings, extra=extra)


@pytest.fixture(scope="session")
def pg_billing_store(pg_settings: Settings, double: StripeDouble) -> Iterator[Store]:
    store = Store(with_stripe(pg_settings, double), pool_size=5, max_overflow=5)
    yield store
    store.dispose()


@pytest.fixture(scope="session")
def sqlite_billing_store(tmp_path_factory: pytest.TempPathFactory, double: StripeDouble) -> Iterator[Store]:
    """One embedded store for these tests (each test makes its own workspaces), migrated once."""
    settings = make_settings(tmp_path_factory.mktemp("billing"))
    migrate.upgrade(settings)
    store = Store(with_stripe(settings, double))
    yield store
    store.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def bstore(request: pytest.FixtureRequest) -> Store:
    """A store with billing on (Stripe keys aimed at the double): SQLite and the real Postgres."""
    return request.getfixturevalue("sqlite_billing_store" if request.param == "sqlite" else "pg_billing_store")


def owner(store: Store) -> Context:
    account, ws = auth.sign_up(store, f"o{uuid.uuid4().hex[:8]}@example.com", "Olga Owner", "correct horse")
    return Context(user_id=account.id, workspace_id=ws)


def member(store: Store, octx: Context, role: Role) -> Context:
    account, _ = auth.sign_up(store, f"m{uuid.uuid4().hex[:8]}@example.com", "Mo Member", "correct horse")
    from studio.billing.accounts import set_override

    link = invitations.invite(store, octx, account.email, role)
    with store.session_scope(Context.job(octx.workspace_id)) as s:  # type: ignore[arg-type]
        set_override(s, "pro", "a seat for the test", None)  # Free has one seat
    invitations.accept(store, link.url.split("invite=")[1], account)
    with store.session_scope(Context.job(octx.workspace_id)) as s:  # type: ignore[arg-type]
        set_override(s, None, "", None)
    return Context(user_id=account.id, workspace_id=octx.workspace_id)


def use(store: Store, ctx: Context, metric: Metric, amount: int) -> None:
    with store.session_scope(Context.job(ctx.workspace_id)) as s:  # type: ignore[arg-type]
        record_usage(s, metric, amount, f"test-{uuid.uuid4()}")


def set_plan(store: Store, ctx: Context, plan: str) -> None:
    with store.session_scope(Context.job(ctx.workspace_id)) as s:  # type: ignore[arg-type]
        set_override(s, plan, "test", None)


def upgrade(store: Store, double: StripeDouble, ctx: Context, plan: str = "starter") -> tuple[str, list[dict]]:
    """Checkout → the customer pays at the double → the user returns. Returns (session id, Stripe's events)."""
    url = subscriptions.start_checkout(store, ctx, plan)
    session_id = url.rsplit("/", 1)[1]
    events = double.pay(session_id)
    subscriptions.complete_checkout(store, ctx, session_id)
    return session_id, events


def test_billing_off_means_no_plan_and_no_limits(store):
    ctx = owner(store)
    use(store, ctx, Metric.VARIATIONS, 10_000_000)
    allowance = check_allowance(store, ctx, Metric.VARIATIONS, 5_000_000)
    assert allowance.plan == UNLIMITED and allowance.limit is None and allowance.allowed == 5_000_000
    assert allowance.used == 10_000_000  # usage is still recorded for the usage page
    assert subscriptions.overview(store, ctx).enabled is False
    with pytest.raises(BillingUnavailable, match="STRIPE_API_KEY"):
        subscriptions.start_checkout(store, ctx, "starter")


def test_a_new_workspace_is_on_the_free_trial_with_its_limits(bstore):
    ctx = owner(bstore)
    view = subscriptions.overview(bstore, ctx)
    assert view.enabled and view.plan == PLANS["free"]
    assert {u.metric: u.limit for u in view.usage} == {Metric.VARIATIONS: 100, Metric.PUBLISHES: 10, Metric.API_CALLS: 1000}
    assert [p.key for p in view.upgrades] == ["starter", "pro"]


def test_usage_counts_once_per_key_per_workspace_and_month(bstore):
    a, b = owner(bstore), owner(bstore)
    with bstore.session_scope(a) as s:
        assert record_usage(s, Metric.PUBLISHES, 3, "publish:post-1")
        assert not record_usage(s, Metric.PUBLISHES, 3, "publish:post-1")  # a retried job
        assert record_usage(s, Metric.PUBLISHES, 2, "publish:post-2")
        s.add(UsageEvent(metric="publishes", amount=40, period="2001-01", idempotency_key="old"))  # another month
    with bstore.session_scope(b) as s:
        assert record_usage(s, Metric.PUBLISHES, 1, "publish:post-1")  # keys are per workspace
    assert check_allowance(bstore, a, Metric.PUBLISHES, 1).used == 5
    assert check_allowance(bstore, b, Metric.PUBLISHES, 1).used == 1


def test_over_limit_generation_is_refused_with_the_numbers(bstore):
    ctx = owner(bstore)
    set_plan(bstore, ctx, "starter")
    use(bstore, ctx, Metric.VARIATIONS, 320)
    with pytest.raises(LimitExceeded) as refused:
        check_allowance(bstore, ctx, Metric.VARIATIONS, 1200)
    assert str(refused.value) == ("This run would generate 1,200 variations; your Starter plan has 500 a month and "
                                  "320 are used. Generate up to the allowance (180) or upgrade.")
    assert refused.value.allowance.remaining == 180
    partial = check_allowance(bstore, ctx, Metric.VARIATIONS, 1200, up_to_allowance=True)
    assert (partial.allowed, partial.partial) == (180, True)
    assert check_allowance(bstore, ctx, Metric.VARIATIONS, 180).allowed == 180
    use(bstore, ctx, Metric.VARIATIONS, 180)
    with pytest.raises(LimitExceeded, match="500 are used. Upgrade for more, or wait until the allowance renews on 1 "):
        check_allowance(bstore, ctx, Metric.VARIATIONS, 1, up_to_allowance=True)


def test_check_and_record_in_one_unit_of_work(bstore):
    """How a generation job claims its allowance: check (locked) and record together, or neither."""
    ctx = owner(bstore)
    job = Context.job(ctx.workspace_id)  # type: ignore[arg-type]
    with bstore.session_scope(job) as s:
        allowance = allowance_in(s, bstore.settings, Metric.VARIATIONS, 130, up_to_allowance=True, lock=True)
        record_usage(s, Metric.VARIATIONS, allowance.allowed, "generation:run-1")
    assert allowance.allowed == 100
    with pytest.raises(LimitExceeded), bstore.session_scope(job) as s:
        allowance_in(s, bstore.settings, Metric.VARIATIONS, 1, up_to_allowance=True, lock=True)


def test_upgrade_via_checkout_and_return_activates_the_plan(bstore, double):
    ctx = owner(bstore)
    url = subscriptions.start_checkout(bstore, ctx, "starter")
    session_id = url.rsplit("/", 1)[1]
    session = double.sessions[session_id]
    assert session["client_reference_id"] == str(ctx.workspace_id) and session["_price"] == "price_starter"
    assert session["success_url"].endswith(f"/billing?checkout={session_id}")
    with pytest.raises(ValidationFailed, match="not complete yet"):
        subscriptions.complete_checkout(bstore, ctx, session_id)  # came back without paying
    assert subscriptions.overview(bstore, ctx).plan.key == "free"
    double.pay(session_id)
    assert subscriptions.complete_checkout(bstore, ctx, session_id).key == "starter"
    view = subscriptions.overview(bstore, ctx)
    assert (view.plan.key, view.status, view.has_customer, view.upgrades) == ("starter", "active", True, ())
    assert view.renews_or_ends is not None
    assert check_allowance(bstore, ctx, Metric.VARIATIONS, 500).limit == 500
    assert subscriptions.complete_checkout(bstore, ctx, session_id).key == "starter"  # a reload changes nothing
    with bstore.session_scope(ctx) as s:
        actions = [e.action for e in s.scalars(select(AuditEvent).where(AuditEvent.action.startswith("billing.")))]
    assert sorted(actions) == ["billing.checkout", "billing.plan"]
    with pytest.raises(ValidationFailed, match="already has a subscription"):
        subscriptions.start_checkout(bstore, ctx, "pro")


def test_a_checkout_of_another_workspace_is_refused(bstore, double):
    a, b = owner(bstore), owner(bstore)
    session_id = subscriptions.start_checkout(bstore, a, "pro").rsplit("/", 1)[1]
    double.pay(session_id)
    with pytest.raises(NotFound, match="does not belong"):
        subscriptions.complete_checkout(bstore, b, session_id)
    assert subscriptions.overview(bstore, b).plan.key == "free"


def test_a_500_then_retry_creates_one_object(bstore, double):
    ctx = owner(bstore)
    double.fail_next("/v1/customers", mode="after")  # Stripe made the customer, the answer was lost
    double.fail_next("/v1/checkout/sessions", mode="drop")
    subscriptions.start_checkout(bstore, ctx, "starter")
    mine = [c for c in double.customers.values() if c["metadata"].get("workspace_id") == str(ctx.workspace_id)]
    assert len(mine) == 1
    sessions = [c for c in double.sessions.values() if c["client_reference_id"] == str(ctx.workspace_id)]
    assert len(sessions) == 1
    keys = [k for m, p, k in double.requests if p in ("/v1/customers", "/v1/checkout/sessions") and str(ctx.workspace_id) in (k or "")]
    assert len(keys) == 4 and len(set(keys)) == 2  # each call sent twice, with the same key


def test_customer_portal(bstore, double):
    ctx = owner(bstore)
    with pytest.raises(ValidationFailed, match="upgrade to a paid plan first"):
        subscriptions.portal_url(bstore, ctx)
    upgrade(bstore, double, ctx)
    url = subscriptions.portal_url(bstore, ctx)
    portal = next(p for p in double.portal_sessions.values() if p["url"] == url)
    assert portal["return_url"].endswith("/billing")


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_only_owners_and_admins_manage_billing(sqlite_billing_store, double, role):
    octx = owner(sqlite_billing_store)
    ctx = octx if role is Role.OWNER else member(sqlite_billing_store, octx, role)
    actions = (lambda: subscriptions.overview(sqlite_billing_store, ctx),
               lambda: subscriptions.start_checkout(sqlite_billing_store, ctx, "starter"),
               lambda: subscriptions.complete_checkout(sqlite_billing_store, ctx, "cs_test_x"))
    for act in actions:
        if role in (Role.OWNER, Role.ADMIN):
            try:
                act()
            except (ValidationFailed, BillingUnavailable):  # allowed, refused for another reason (no such session)
                pass
        else:
            with pytest.raises(PermissionDenied):
                act()
    assert check_allowance(sqlite_billing_store, ctx, Metric.VARIATIONS, 1).allowed == 1  # everyone may check


def test_member_seats_follow_the_plan(bstore):
    ctx = owner(bstore)
    with bstore.session_scope(ctx) as s, pytest.raises(MemberLimitReached, match="Free plan includes 1 member and"):
        check_members(s, bstore.settings)
    set_plan(bstore, ctx, "starter")
    with bstore.session_scope(ctx) as s:
        check_members(s, bstore.settings)


def test_accepting_an_invitation_beyond_the_plans_seats_is_refused(bstore):
    billing_store = bstore
    from studio import tenancy
    from studio.billing.limits import MemberLimitReached

    octx = owner(billing_store)
    guest, _ = auth.sign_up(billing_store, f"g{uuid.uuid4().hex[:8]}@example.com", "Gus", "correct horse")
    link = invitations.invite(billing_store, octx, guest.email, Role.MEMBER)
    with pytest.raises(MemberLimitReached, match="Free plan includes 1 member"):
        invitations.accept(billing_store, link.url.split("invite=")[1], guest)
    assert octx.workspace_id not in {m.workspace_id for m in tenancy.memberships(billing_store, guest.id)}
