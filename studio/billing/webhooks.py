"""Stripe webhooks: verify the signature, then apply each event once, whatever the order or the number of deliveries."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any, cast

import stripe
from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from studio.billing.accounts import (
    SubscriptionState,
    apply_subscription,
    record_invoice,
)
from studio.billing.stripe_gateway import (
    BillingUnavailable,
    StripeGateway,
    subscription_state,
)
from studio.context import Context, WorkspaceId
from studio.permissions import public
from studio.store.base import utcnow
from studio.store.models import StripeEvent, Workspace
from studio.store.session import Store, TenantSession

log = logging.getLogger(__name__)

SUBSCRIPTION_EVENTS = ("customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted")
INVOICE_EVENTS = ("invoice.paid", "invoice.payment_failed")
EVENTS = cast(Table, StripeEvent.__table__)
HANDLED = ("checkout.session.completed", *SUBSCRIPTION_EVENTS, *INVOICE_EVENTS)


@dataclass(frozen=True)
class WebhookResult:
    status: int
    message: str


@dataclass(frozen=True)
class _Plan:
    """What one event asks for, worked out (with any Stripe look-up) before the transaction opens."""

    workspace_id: WorkspaceId
    state: SubscriptionState | None
    invoice_status: str | None


@public("Stripe's signature over the payload is the proof")
def handle(store: Store, payload: bytes, signature: str | None, *, gateway: StripeGateway | None = None) -> WebhookResult:
    """Verify and apply one delivery. 400: refused (bad signature/body/age); 5xx: Stripe should retry."""
    try:
        gw = gateway or StripeGateway(store.settings)
        event = gw.construct_event(payload, signature)
    except BillingUnavailable as exc:
        return WebhookResult(503, str(exc))
    except stripe.SignatureVerificationError:
        return WebhookResult(400, "invalid signature")
    except ValueError:
        return WebhookResult(400, "invalid payload")
    etype, event_id = str(event.get("type")), str(event.get("id"))
    if etype not in HANDLED:
        return WebhookResult(200, f"ignored {etype}")
    try:
        plan = _plan(gw, store, event)
    except (BillingUnavailable, stripe.StripeError) as exc:
        log.warning("webhook %s: Stripe look-up failed: %s", event_id, exc)
        return WebhookResult(502, "could not read the subscription from Stripe; retry")
    if plan is None:
        return WebhookResult(200, f"ignored {etype}: no workspace")
    try:
        outcome = _apply(store, event, plan)
    except IntegrityError:
        return WebhookResult(200, "duplicate")  # the same event, applied by a concurrent delivery
    return WebhookResult(200, outcome)


def _workspace(raw: Any) -> WorkspaceId | None:
    try:
        return WorkspaceId(uuid.UUID(str(raw))) if raw else None
    except ValueError:
        return None


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("metadata") or {}


def _plan(gw: StripeGateway, store: Store, event: dict[str, Any]) -> _Plan | None:
    etype, obj = event["type"], event["data"]["object"]
    settings = store.settings
    if etype in SUBSCRIPTION_EVENTS:
        ws = _workspace(_meta(obj).get("workspace_id"))
        state = subscription_state(settings, obj, as_of=int(event["created"]))
        return _Plan(ws, state, None) if ws else None
    if etype == "checkout.session.completed":
        ws = _workspace(obj.get("client_reference_id") or _meta(obj).get("workspace_id"))
        sub = obj.get("subscription")
        if ws is None or obj.get("mode") != "subscription" or not sub:
            return None
        sub_obj = sub if isinstance(sub, dict) else gw.retrieve_subscription(str(sub))
        return _Plan(ws, subscription_state(settings, sub_obj, as_of=int(time.time())), None)
    # invoices: the subscription they belong to is read fresh from Stripe (the invoice does not carry its state)
    details = (obj.get("parent") or {}).get("subscription_details") or {}
    sub_id = details.get("subscription") or obj.get("subscription")
    if isinstance(sub_id, dict):
        sub_id = sub_id.get("id")
    if not sub_id:
        return None
    sub_obj = gw.retrieve_subscription(str(sub_id))
    ws = _workspace(_meta(details).get("workspace_id") or _meta(sub_obj).get("workspace_id"))
    status = "paid" if etype == "invoice.paid" else "payment_failed"
    return _Plan(ws, subscription_state(settings, sub_obj, as_of=int(time.time())), status) if ws else None


def _claim(s: TenantSession, event: dict[str, Any]) -> bool:
    """Record the event id; False when it was applied before (a repeated delivery)."""
    insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = (insert(EVENTS)
            .values(id=str(event["id"]), workspace_id=s.workspace_id, type=str(event["type"])[:64],
                    created=int(event.get("created") or 0), outcome="", processed_at=utcnow())
            .on_conflict_do_nothing(index_elements=["id"]).returning(EVENTS.c.id))
    return s.execute(stmt).first() is not None


def _apply(store: Store, event: dict[str, Any], plan: _Plan) -> str:
    with store.session_scope(Context.job(plan.workspace_id)) as s:
        if s.get(Workspace, plan.workspace_id) is None:
            return "ignored: the workspace no longer exists"
        if not _claim(s, event):
            return "duplicate"
        outcome = "stale: a newer state is applied"
        if plan.state is not None and apply_subscription(s, store.settings, plan.state, source=str(event["type"])):
            outcome = f"applied: subscription {plan.state.status}"
        if plan.invoice_status is not None:
            record_invoice(s, plan.invoice_status, int(event.get("created") or 0))
            outcome += f"; invoice {plan.invoice_status}"
        row = s.get(StripeEvent, str(event["id"]))
        if row is not None:
            row.outcome = outcome[:200]
        return outcome
