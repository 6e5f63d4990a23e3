"""The Stripe calls the studio makes (stripe-python's StripeClient), each POST with an idempotency key."""

from __future__ import annotations

import time
from typing import Any

import stripe

from studio.billing.accounts import SubscriptionState
from studio.billing.plans import Plan, plan_for_price
from studio.errors import StudioError
from studio.settings import Settings


class BillingUnavailable(StudioError):
    """Stripe is not configured, or did not answer; the message says what to do."""


def _plain(obj: Any) -> dict[str, Any]:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


class StripeGateway:
    """One StripeClient per gateway, aimed at the settings' base URL; build it where it is used."""

    def __init__(self, settings: Settings) -> None:
        key = settings.extra.get("STRIPE_API_KEY", "")
        if not key:
            raise BillingUnavailable("Billing is off: set STRIPE_API_KEY to sell plans through Stripe.")
        self.settings = settings
        base = settings.extra.get("STRIPE_API_BASE") or "https://api.stripe.com"
        retries = int(settings.extra.get("STRIPE_MAX_NETWORK_RETRIES") or 2)
        self.client = stripe.StripeClient(key, base_addresses={"api": base}, max_network_retries=retries)

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            return _plain(fn(*args, **kwargs))
        except stripe.StripeError as exc:
            raise BillingUnavailable(f"Stripe could not complete this: {exc.user_message or exc}. Try again.") from exc

    def create_customer(self, workspace_id: str, name: str, email: str | None) -> str:
        params: dict[str, Any] = {"name": name, "metadata": {"workspace_id": workspace_id}}
        if email:
            params["email"] = email
        # one customer per workspace: a retry (or a second click within Stripe's 24 h key window) reuses it
        out = self._call(self.client.v1.customers.create, params, {"idempotency_key": f"customer-{workspace_id}"})
        return str(out["id"])

    def create_checkout(self, *, customer: str, price: str, workspace_id: str, plan: Plan, success_url: str,
                        cancel_url: str, idempotency_key: str) -> dict[str, Any]:
        meta = {"workspace_id": workspace_id, "plan": plan.key}
        try:
            return self._checkout(customer, price, workspace_id, meta, success_url, cancel_url, idempotency_key)
        except BillingUnavailable as exc:
            if f"No such price: '{price}'" in str(exc):
                raise BillingUnavailable(f"Stripe has no price {price!r} for the {plan.name} plan: set "
                                         f"{plan.price_setting} to a price id of this Stripe account.") from exc
            raise

    def _checkout(self, customer: str, price: str, workspace_id: str, meta: dict[str, str], success_url: str,
                  cancel_url: str, idempotency_key: str) -> dict[str, Any]:
        return self._call(self.client.v1.checkout.sessions.create, {
            "mode": "subscription",
            "customer": customer,
            "client_reference_id": workspace_id,
            "line_items": [{"price": price, "quantity": 1}],
            "success_url": success_url,
            "cancel_url": cancel_url,
            "metadata": meta,
            "subscription_data": {"metadata": meta},
        }, {"idempotency_key": idempotency_key})

    def retrieve_checkout(self, session_id: str) -> dict[str, Any]:
        return self._call(self.client.v1.checkout.sessions.retrieve, session_id, {"expand": ["subscription"]})

    def retrieve_subscription(self, subscription_id: str) -> dict[str, Any]:
        return self._call(self.client.v1.subscriptions.retrieve, subscription_id)

    def create_portal(self, *, customer: str, return_url: str, idempotency_key: str) -> str:
        out = self._call(self.client.v1.billing_portal.sessions.create,
                         {"customer": customer, "return_url": return_url}, {"idempotency_key": idempotency_key})
        return str(out["url"])

    def send_meter_event(self, *, event_name: str, customer: str, value: int, identifier: str, timestamp: int) -> None:
        """Report usage; the identifier (and the same idempotency key) makes a resend count once."""
        self.client.v1.billing.meter_events.create({
            "event_name": event_name,
            "identifier": identifier,
            "timestamp": timestamp,
            "payload": {"stripe_customer_id": customer, "value": str(value)},
        }, {"idempotency_key": f"meter-{identifier}"})

    def construct_event(self, payload: bytes, signature: str | None) -> dict[str, Any]:
        """Verify the signature and its timestamp: at most 5 minutes old *or ahead*; raises on anything wrong."""
        secret = self.settings.extra.get("STRIPE_WEBHOOK_SECRET", "")
        if not secret:
            raise BillingUnavailable("STRIPE_WEBHOOK_SECRET is not set: the webhook receiver cannot verify events.")
        event = _plain(self.client.construct_event(payload, signature, secret, tolerance=WEBHOOK_TOLERANCE_S))
        # stripe-python refuses old timestamps only; one from the future would stay replayable until then.
        signed_at = signature_timestamp(signature)
        if signed_at is None or signed_at > time.time() + WEBHOOK_TOLERANCE_S:
            raise stripe.SignatureVerificationError("Timestamp outside the tolerance zone (in the future)",
                                                    signature, payload.decode("utf-8", errors="replace"))
        return event


WEBHOOK_TOLERANCE_S = 300


def signature_timestamp(signature: str | None) -> int | None:
    """The ``t=`` of a Stripe-Signature header, or None when it has none."""
    for item in (signature or "").split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            return int(value) if value.isdigit() else None
    return None


def subscription_state(settings: Settings, sub: dict[str, Any], *, as_of: int | None = None) -> SubscriptionState:
    """Read a Stripe subscription (current or older API shapes) into the state the store applies."""
    items = ((sub.get("items") or {}).get("data") or [{}])
    item = items[0] or {}
    price = (item.get("price") or {}).get("id")
    plan = plan_for_price(settings, price)
    meta_plan = (sub.get("metadata") or {}).get("plan")
    customer = sub.get("customer")
    if isinstance(customer, dict):
        customer = customer.get("id")
    return SubscriptionState(
        id=str(sub["id"]),
        customer=customer,
        status=str(sub.get("status") or "incomplete"),
        plan_key=plan.key if plan else (meta_plan if price is None else None),
        created=int(sub.get("created") or 0),
        period_start=int(item.get("current_period_start") or sub.get("current_period_start") or 0),
        period_end=int(item.get("current_period_end") or sub.get("current_period_end") or 0),
        cancel_at_period_end=bool(sub.get("cancel_at_period_end")),
        as_of=int(as_of if as_of is not None else time.time()),
    )
