"""A workspace's billing account: its plan, and subscription states applied newest-wins."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from studio import audit
from studio.billing.plans import (
    DEFAULT_PLAN,
    UNLIMITED,
    Plan,
    billing_enabled,
    get_plan,
)
from studio.settings import Settings
from studio.store.base import new_id, utcnow
from studio.store.models import BillingAccount
from studio.store.session import TenantSession

# A subscription in one of these grants its plan; past_due keeps it during Stripe's payment retries.
GRANTING_STATUSES = frozenset({"active", "trialing", "past_due"})
# Stripe never brings a subscription back from these: later news about it cannot revive it.
TERMINAL_STATUSES = frozenset({"canceled", "incomplete_expired"})


@dataclass(frozen=True)
class SubscriptionState:
    """One snapshot of a Stripe subscription, and when (epoch seconds) it was true."""

    id: str
    customer: str | None
    status: str
    plan_key: str | None
    created: int
    period_start: int
    period_end: int
    cancel_at_period_end: bool
    as_of: int

    def rank(self) -> tuple[int, int, bool, int]:
        """Order of states: a newer subscription, then a later period, then ended, then the later snapshot."""
        return (self.created, self.period_start, self.status in TERMINAL_STATUSES, self.as_of)


def stored_rank(acc: BillingAccount) -> tuple[int, int, bool, int] | None:
    if acc.subscription_id is None or acc.state_as_of is None:
        return None
    return (acc.subscription_created or 0, acc.period_start or 0,
            (acc.subscription_status or "") in TERMINAL_STATUSES, acc.state_as_of)


def _insert(s: TenantSession) -> Any:
    return pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert


def get_account(s: TenantSession, *, lock: bool = False) -> BillingAccount | None:
    stmt = select(BillingAccount).where(BillingAccount.workspace_id == s.workspace_id)
    return s.scalar(stmt.with_for_update() if lock else stmt)


def ensure_account(s: TenantSession) -> BillingAccount:
    """The workspace's account row, created if missing (safe under concurrency), locked for this transaction."""
    now = utcnow()
    s.execute(_insert(s)(BillingAccount.__table__).values(
        id=new_id(), workspace_id=s.workspace_id, cancel_at_period_end=False, created_at=now, updated_at=now,
    ).on_conflict_do_nothing(index_elements=["workspace_id"]))
    acc = get_account(s, lock=True)
    assert acc is not None
    return acc


def subscription_plan(acc: BillingAccount | None) -> Plan:
    """The plan the subscription alone grants (Free when there is none, or it ended)."""
    if acc is None or acc.subscription_status not in GRANTING_STATUSES:
        return DEFAULT_PLAN
    return get_plan(acc.subscription_plan)


def effective_plan(settings: Settings, acc: BillingAccount | None) -> Plan:
    """Billing off: no limits. Otherwise an operator's override, else the subscription, else Free."""
    if not billing_enabled(settings):
        return UNLIMITED
    if acc is not None and acc.override_plan:
        return get_plan(acc.override_plan)
    return subscription_plan(acc)


def current_plan(s: TenantSession, settings: Settings) -> Plan:
    return effective_plan(settings, get_account(s))


def apply_subscription(s: TenantSession, settings: Settings, state: SubscriptionState, *, source: str) -> bool:
    """Apply `state` unless a newer one is already applied; audit a change of plan. True when applied."""
    acc = ensure_account(s)
    if acc.stripe_customer_id and state.customer and acc.stripe_customer_id != state.customer:
        return False  # not this workspace's customer: never let metadata move a subscription between workspaces
    current = stored_rank(acc)
    if current is not None and state.rank() < current:
        return False
    before = effective_plan(settings, acc)
    acc.stripe_customer_id = acc.stripe_customer_id or state.customer
    acc.subscription_id = state.id
    acc.subscription_status = state.status
    acc.subscription_plan = state.plan_key
    acc.subscription_created = state.created
    acc.period_start, acc.period_end = state.period_start, state.period_end
    acc.cancel_at_period_end = state.cancel_at_period_end
    acc.state_as_of = state.as_of
    acc.updated_at = utcnow()
    after = effective_plan(settings, acc)
    if after != before:
        audit.record(s, "billing.plan", object_type="workspace", object_id=s.workspace_id,
                     summary=f"Plan {before.name} → {after.name} (subscription {state.status}, via {source})",
                     detail={"subscription": state.id, "status": state.status, "source": source})
    return True


def record_invoice(s: TenantSession, status: str, at: int) -> None:
    """Remember the latest invoice outcome (paid / payment_failed) for the billing page."""
    acc = ensure_account(s)
    if acc.last_invoice_at is None or at >= acc.last_invoice_at:
        acc.last_invoice_status, acc.last_invoice_at = status, at
        acc.updated_at = utcnow()


def set_override(s: TenantSession, plan_key: str | None, reason: str, by: uuid.UUID | None) -> BillingAccount:
    acc = ensure_account(s)
    acc.override_plan = plan_key
    acc.override_reason = reason if plan_key else None
    acc.override_by = by if plan_key else None
    acc.override_at = utcnow() if plan_key else None
    acc.updated_at = utcnow()
    return acc


def epoch_to_datetime(value: int | None) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(value, dt.UTC) if value else None
