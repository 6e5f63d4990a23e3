"""Billing for owners and admins: the overview, upgrade through Checkout, the return check, the portal."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass

from sqlalchemy import func, select

from studio import audit
from studio.billing import usage
from studio.billing.accounts import (
    GRANTING_STATUSES,
    apply_subscription,
    effective_plan,
    ensure_account,
    epoch_to_datetime,
    get_account,
)
from studio.billing.plans import (
    PLANS,
    Metric,
    Plan,
    billing_enabled,
    get_plan,
    price_id,
)
from studio.billing.stripe_gateway import (
    BillingUnavailable,
    StripeGateway,
    subscription_state,
)
from studio.context import Context, Permission
from studio.errors import NotFound, ValidationFailed
from studio.permissions import public, requires
from studio.store.models import User, Workspace, WorkspaceMember
from studio.store.session import Store

WARN_AT = 0.8  # the usage page warns from 80% of an allowance


@dataclass(frozen=True)
class UsageLine:
    metric: Metric
    used: int
    limit: int | None

    @property
    def share(self) -> float | None:
        return None if not self.limit else self.used / self.limit

    @property
    def warn(self) -> bool:
        return self.share is not None and self.share >= WARN_AT


@dataclass(frozen=True)
class BillingOverview:
    enabled: bool
    plan: Plan
    status: str | None
    renews_or_ends: dt.datetime | None
    cancel_at_period_end: bool
    override_reason: str | None
    last_invoice_status: str | None
    has_customer: bool
    period: str
    usage: tuple[UsageLine, ...]
    members: int
    storage_bytes: int
    upgrades: tuple[Plan, ...]


@requires(Permission.MANAGE_BILLING)
def overview(store: Store, ctx: Context) -> BillingOverview:
    """The plan, its state and this month's usage against the limits."""
    settings = store.settings
    with store.session_scope(ctx) as s:
        s.require(Permission.MANAGE_BILLING)
        acc = get_account(s)
        plan = effective_plan(settings, acc)
        totals = usage.monthly_totals(s)
        members = s.scalar(select(func.count()).select_from(WorkspaceMember)
                           .where(WorkspaceMember.workspace_id == s.workspace_id)) or 0
        subscribed = acc is not None and acc.subscription_status in GRANTING_STATUSES
        upgrades = tuple(p for p in PLANS.values() if p.self_serve and price_id(settings, p) and p != plan
                         and not subscribed) if billing_enabled(settings) else ()
        return BillingOverview(
            enabled=billing_enabled(settings), plan=plan,
            status=acc.subscription_status if acc else None,
            renews_or_ends=epoch_to_datetime(acc.period_end) if acc and subscribed else None,
            cancel_at_period_end=bool(acc and acc.cancel_at_period_end),
            override_reason=acc.override_reason if acc and acc.override_plan else None,
            last_invoice_status=acc.last_invoice_status if acc else None,
            has_customer=bool(acc and acc.stripe_customer_id),
            period=usage.period_of(),
            usage=tuple(UsageLine(m, totals[m], plan.limit(m)) for m in Metric),
            members=members, storage_bytes=usage.storage_bytes(s), upgrades=upgrades,
        )


@requires(Permission.MANAGE_BILLING)
def daily_usage(store: Store, ctx: Context) -> list[usage.DailyUsage]:
    with store.session_scope(ctx) as s:
        s.require(Permission.MANAGE_BILLING)
        return usage.daily_totals(s)


@public("the billing page's address, from settings; reads no data")
def billing_url(store: Store) -> str:
    return store.settings.public_url.rstrip("/") + "/billing"


@requires(Permission.MANAGE_BILLING)
def start_checkout(store: Store, ctx: Context, plan_key: str) -> str:
    """Create a Stripe Checkout Session (subscription mode) for `plan_key`; returns the page to send the user to."""
    settings = store.settings
    gateway = StripeGateway(settings)  # refuses when billing is off
    plan = get_plan(plan_key)
    if plan.key != plan_key or not plan.self_serve:
        raise ValidationFailed(f"The {plan_key!r} plan cannot be bought online. Contact us for Enterprise.")
    price = price_id(settings, plan)
    if not price:
        raise BillingUnavailable(f"The {plan.name} plan has no Stripe price yet: set {plan.price_setting}.")
    with store.session_scope(ctx) as s:
        s.require(Permission.MANAGE_BILLING)
        acc = get_account(s)
        if acc is not None and acc.subscription_status in GRANTING_STATUSES:
            raise ValidationFailed("This workspace already has a subscription: change or cancel it in the billing portal.")
        customer = acc.stripe_customer_id if acc else None
        ws = s.get(Workspace, s.workspace_id)
        email = s.scalar(select(User.email).where(User.id == ctx.user_id)) if ctx.user_id else None
        ws_name = ws.name if ws else "workspace"
    if customer is None:
        created = gateway.create_customer(str(ctx.workspace_id), ws_name, email)
        with store.session_scope(ctx) as s:
            acc = ensure_account(s)
            acc.stripe_customer_id = acc.stripe_customer_id or created
            customer = acc.stripe_customer_id
    base = billing_url(store)
    session = gateway.create_checkout(
        customer=customer, price=price, workspace_id=str(ctx.workspace_id), plan=plan,
        success_url=f"{base}?checkout={{CHECKOUT_SESSION_ID}}", cancel_url=f"{base}?checkout=cancelled",
        idempotency_key=f"checkout-{ctx.workspace_id}-{plan.key}-{uuid.uuid4()}",
    )
    with store.session_scope(ctx) as s:
        audit.record(s, "billing.checkout", object_type="workspace", object_id=s.workspace_id,
                     summary=f"Started the upgrade to {plan.name}", detail={"checkout_session": session["id"]})
    return str(session["url"])


@requires(Permission.MANAGE_BILLING)
def complete_checkout(store: Store, ctx: Context, session_id: str) -> Plan:
    """On return from Checkout: ask Stripe whether it is paid, and activate the plan (needs no webhook)."""
    settings = store.settings
    with store.session_scope(ctx) as s:
        s.require(Permission.MANAGE_BILLING)
    gateway = StripeGateway(settings)
    session = gateway.retrieve_checkout(session_id)
    if session.get("client_reference_id") != str(ctx.workspace_id):
        raise NotFound("This checkout does not belong to this workspace.")
    if session.get("mode") != "subscription" or session.get("status") != "complete" \
            or session.get("payment_status") not in ("paid", "no_payment_required"):
        raise ValidationFailed("The payment is not complete yet. Finish the checkout, or try again in a minute.")
    sub = session.get("subscription")
    if isinstance(sub, str):
        sub = gateway.retrieve_subscription(sub)
    if not sub:
        raise ValidationFailed("Stripe has not created the subscription yet. Try again in a minute.")
    state = subscription_state(settings, sub, as_of=int(time.time()))
    with store.session_scope(ctx) as s:
        s.require(Permission.MANAGE_BILLING)
        acc = ensure_account(s)
        if acc.stripe_customer_id is None:
            acc.stripe_customer_id = state.customer
        apply_subscription(s, settings, state, source="checkout")
        return effective_plan(settings, acc)


@requires(Permission.MANAGE_BILLING)
def portal_url(store: Store, ctx: Context) -> str:
    """A Stripe customer-portal session for card changes, plan changes and cancellation."""
    with store.session_scope(ctx) as s:
        s.require(Permission.MANAGE_BILLING)
        acc = get_account(s)
        customer = acc.stripe_customer_id if acc else None
    if not customer:
        raise ValidationFailed("There is nothing to manage yet: upgrade to a paid plan first.")
    return StripeGateway(store.settings).create_portal(
        customer=customer, return_url=billing_url(store), idempotency_key=f"portal-{uuid.uuid4()}")
