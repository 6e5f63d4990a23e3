"""A local HTTP double of the Stripe endpoints the studio uses, driven by the real stripe-python.

Serves on 127.0.0.1 (port 0) and keeps everything in memory: customers, Checkout Sessions (subscription
mode), subscriptions, invoices, billing-portal sessions and Billing Meter events. It honours
Idempotency-Key like Stripe (same key + same parameters → the stored response, replayed; different
parameters → idempotency_error), counts a meter event once per identifier, and can inject failures
before or after the work is done (500, or a dropped connection). Test controls play the customer's
side (pay, cancel, a failed renewal) and deliver signed webhook events to a URL.

It refuses what Stripe refuses, and what our code must never rely on:
- a create request (customer, Checkout Session, portal session, meter event) without an idempotency key
  the caller chose — stripe-python's own random key (8-4-4-4-12 hex) protects no retry after a crash;
- keys live 24 hours (Stripe prunes them; a reuse after that is a new request), `advance()` moves time;
- a Checkout Session for a price Stripe does not have (`prices`), as `No such price` (resource_missing);
- a meter event whose identifier was used in the last 24 hours with other values (the same values are
  the same event, counted once), or whose timestamp is over 35 days old or more than 5 minutes ahead.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import re
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.http_double import JsonHandler, LocalServer

API_VERSION = "2026-10-28.endive"
MONTH = 30 * 24 * 3600
DAY = 24 * 3600
KEYED = ("/v1/customers", "/v1/checkout/sessions", "/v1/billing_portal/sessions", "/v1/billing/meter_events")
SDK_KEY = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")  # stripe-python's own


def _id(prefix: str) -> str:
    return f"{prefix}_test_{uuid.uuid4().hex[:16]}"


def decode_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's bracket form encoding (a[b][0][c]=v) back into nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = [a or b for a, b in re.findall(r"([^\[\]]+)|\[([^\[\]]*)\]", key)] or [key]
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _lists(root)


def _lists(node: Any) -> Any:
    if isinstance(node, dict):
        node = {k: _lists(v) for k, v in node.items()}
        if node and all(k.isdigit() for k in node):
            return [node[k] for k in sorted(node, key=int)]
    return node


@dataclass
class Fault:
    path: str
    mode: str  # "before": fail without doing anything; "after": do it, then answer 500; "drop": do it, hang up
    times: int


class StripeDouble(LocalServer):
    """Start with `StripeDouble()`, point STRIPE_API_BASE at `.base_url`, `close()` at the end."""

    def __init__(self, api_key: str = "sk_test_double", webhook_secret: str = "whsec_double") -> None:
        self.api_key, self.webhook_secret = api_key, webhook_secret
        self.customers: dict[str, dict[str, Any]] = {}
        self.sessions: dict[str, dict[str, Any]] = {}
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.invoices: dict[str, dict[str, Any]] = {}
        self.portal_sessions: dict[str, dict[str, Any]] = {}
        self.meter_events: dict[str, dict[str, Any]] = {}  # identifier → the event counted
        self.meter_requests: list[dict[str, Any]] = []  # every meter request that reached the handler
        self.counted: list[dict[str, Any]] = []  # every meter event Stripe counted (an identifier reused after 24 h too)
        self.requests: list[tuple[str, str, str | None]] = []  # (method, path, idempotency key)
        self.faults: list[Fault] = []
        self.random_fault_rate, self._rng = 0.0, random.Random(0)
        self._idempotent: dict[str, tuple[str, str, Any, int, dict[str, Any]]] = {}
        self._key_born: dict[str, float] = {}
        self.prices: set[str] = {"price_starter", "price_pro"}
        self.offset = 0.0  # seconds added to the wall clock (advance())
        self._clock = int(time.time()) - 3600  # Stripe's timeline: strictly increasing, in the recent past
        self.lock = threading.RLock()
        super().__init__(_handler(self))
        self.start()

    @property
    def base_url(self) -> str:
        return self.url

    def close(self) -> None:
        self.stop()

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        """Stripe's clock moves on: keys and meter identifiers older than 24 h are forgotten."""
        with self.lock:
            self.offset += seconds
            self._clock += int(seconds)

    def tick(self) -> int:
        with self.lock:
            self._clock += 60
            return self._clock

    # failures -------------------------------------------------------------------------------------
    def fail_next(self, path: str, *, mode: str = "after", times: int = 1) -> None:
        self.faults.append(Fault(path, mode, times))

    def fail_randomly(self, rate: float, seed: int = 0) -> None:
        self.random_fault_rate, self._rng = rate, random.Random(seed)

    def _fault_for(self, path: str) -> str | None:
        with self.lock:
            for f in self.faults:
                if path.startswith(f.path) and f.times > 0:
                    f.times -= 1
                    return f.mode
            if self.random_fault_rate and self._rng.random() < self.random_fault_rate:
                return self._rng.choice(["before", "after", "drop"])
        return None

    # the API ----------------------------------------------------------------------------------------
    def handle(self, method: str, path: str, params: dict[str, Any], headers: Any) -> tuple[int, dict[str, Any], bool]:
        """One request → (status, body, replayed)."""
        if headers.get("Authorization") != f"Bearer {self.api_key}":
            return 401, _error("invalid_request_error", "Invalid API Key provided."), False
        key = headers.get("Idempotency-Key")
        self.requests.append((method, path, key))
        if method == "POST" and path in KEYED and (not key or SDK_KEY.fullmatch(key)):
            return 400, _error("idempotency_error", f"POST {path} needs an Idempotency-Key chosen by the caller "
                                                    "(stable across its retries), not a random one."), False
        if method == "POST" and key:
            with self.lock:
                if self.now() - self._key_born.get(key, self.now()) > DAY:  # pruned: a new request
                    self._idempotent.pop(key, None)
                self._key_born.setdefault(key, self.now())
                if key not in self._idempotent:
                    self._key_born[key] = self.now()
                seen = self._idempotent.get(key)
                if seen is not None:
                    if (seen[0], seen[1], seen[2]) != (method, path, params):
                        return 400, _error("idempotency_error", "Keys for idempotent requests can only be used "
                                                                "with the same parameters they were first used with."), False
                    return seen[3], seen[4], True
                status, body = self._route(method, path, params)
                if status < 400:  # a request refused by validation is not saved under its key (Stripe's docs)
                    self._idempotent[key] = (method, path, params, status, body)
                return status, body, False
        with self.lock:
            status, body = self._route(method, path, params)
        return status, body, False

    def _route(self, method: str, path: str, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if (method, path) == ("POST", "/v1/customers"):
            cus = {"id": _id("cus"), "object": "customer", "name": p.get("name"), "email": p.get("email"),
                   "metadata": p.get("metadata", {}), "created": self.tick(), "livemode": False}
            self.customers[cus["id"]] = cus
            return 200, cus
        if (method, path) == ("POST", "/v1/checkout/sessions"):
            return self._create_session(p)
        if (method, path) == ("POST", "/v1/billing_portal/sessions"):
            if p.get("customer") not in self.customers:
                return 400, _error("invalid_request_error", f"No such customer: '{p.get('customer')}'", "resource_missing")
            ps = {"id": _id("bps"), "object": "billing_portal.session", "customer": p["customer"],
                  "return_url": p.get("return_url"), "url": f"{self.base_url}/portal/{uuid.uuid4().hex}",
                  "created": self.tick(), "livemode": False}
            self.portal_sessions[ps["id"]] = ps
            return 200, ps
        if (method, path) == ("POST", "/v1/billing/meter_events"):
            return self._meter_event(p)
        m = re.fullmatch(r"/v1/checkout/sessions/([\w-]+)", path)
        if method == "GET" and m:
            cs = self.sessions.get(m.group(1))
            if cs is None:
                return 404, _error("invalid_request_error", f"No such checkout.session: '{m.group(1)}'", "resource_missing")
            out = json.loads(json.dumps(cs))
            if "subscription" in (p.get("expand") or []) and out["subscription"]:
                out["subscription"] = self.subscriptions[out["subscription"]]
            return 200, out
        m = re.fullmatch(r"/v1/subscriptions/([\w-]+)", path)
        if method == "GET" and m:
            sub = self.subscriptions.get(m.group(1))
            if sub is None:
                return 404, _error("invalid_request_error", f"No such subscription: '{m.group(1)}'", "resource_missing")
            return 200, sub
        return 404, _error("invalid_request_error", f"Unrecognized request URL ({method}: {path}).")

    def _create_session(self, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if p.get("mode") != "subscription" or not p.get("line_items"):
            return 400, _error("invalid_request_error", "The double supports subscription mode with line_items.")
        if p.get("customer") not in self.customers:
            return 400, _error("invalid_request_error", f"No such customer: '{p.get('customer')}'", "resource_missing")
        for item in p["line_items"]:
            if item.get("price") not in self.prices:
                return 400, _error("invalid_request_error", f"No such price: '{item.get('price')}'", "resource_missing")
        sid = _id("cs")
        cs = {"id": sid, "object": "checkout.session", "mode": "subscription", "status": "open",
              "payment_status": "unpaid", "customer": p["customer"], "client_reference_id": p.get("client_reference_id"),
              "metadata": p.get("metadata", {}), "subscription": None, "created": self.tick(),
              "success_url": str(p.get("success_url", "")).replace("{CHECKOUT_SESSION_ID}", sid),
              "cancel_url": p.get("cancel_url"), "url": f"{self.base_url}/c/pay/{sid}", "livemode": False,
              "_price": p["line_items"][0]["price"], "_subscription_metadata": (p.get("subscription_data") or {}).get("metadata", {})}
        self.sessions[sid] = cs
        return 200, cs

    def _meter_event(self, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        payload = p.get("payload") or {}
        if not p.get("event_name") or "stripe_customer_id" not in payload or "value" not in payload:
            return 400, _error("invalid_request_error", "Missing event_name or payload fields.")
        if payload["stripe_customer_id"] not in self.customers:
            return 400, _error("invalid_request_error", "No such customer.", "resource_missing")
        now = self.now()
        stamp = int(p.get("timestamp") or now)
        if stamp < now - 35 * DAY or stamp > now + 300:
            return 400, _error("invalid_request_error", "The timestamp must be within the past 35 calendar days or "
                                                        "up to 5 minutes in the future.", "parameter_invalid_integer")
        identifier = p.get("identifier") or _id("mev")
        self.meter_requests.append(p)
        event = {"object": "billing.meter_event", "event_name": p["event_name"], "identifier": identifier,
                 "payload": payload, "timestamp": stamp, "created": int(now), "livemode": False}
        seen = self.meter_events.get(identifier)
        if seen is not None and now - seen["created"] <= DAY:  # Stripe enforces uniqueness for 24 hours
            if (seen["event_name"], seen["payload"], seen["timestamp"]) != (event["event_name"], payload, stamp):
                return 400, _error("idempotency_error", f"A meter event with identifier '{identifier}' was already "
                                                        "sent with other values.")
            return 200, seen
        self.meter_events[identifier] = event
        self.counted.append(event)
        return 200, event

    def metered(self, event_name: str) -> int:
        return sum(int(e["payload"]["value"]) for e in self.counted if e["event_name"] == event_name)

    # the customer's side, and the events Stripe would send -------------------------------------------
    def event(self, etype: str, obj: dict[str, Any], *, created: int | None = None) -> dict[str, Any]:
        return {"id": _id("evt"), "object": "event", "api_version": API_VERSION, "created": created or self.tick(),
                "type": etype, "livemode": False, "pending_webhooks": 1, "request": {"id": None, "idempotency_key": None},
                "data": {"object": json.loads(json.dumps(obj))}}

    def pay(self, session_id: str) -> list[dict[str, Any]]:
        """The customer pays: the session completes, a subscription starts, its first invoice is paid."""
        with self.lock:
            cs = self.sessions[session_id]
            now = self.tick()
            sub = {"id": _id("sub"), "object": "subscription", "customer": cs["customer"], "status": "active",
                   "created": now, "cancel_at_period_end": False, "metadata": cs["_subscription_metadata"],
                   "items": {"object": "list", "data": [{
                       "id": _id("si"), "object": "subscription_item", "quantity": 1,
                       "price": {"id": cs["_price"], "object": "price"},
                       "current_period_start": now, "current_period_end": now + MONTH}]},
                   "latest_invoice": None, "livemode": False}
            self.subscriptions[sub["id"]] = sub
            cs.update(status="complete", payment_status="paid", subscription=sub["id"])
            created = self.event("customer.subscription.created", sub)
            invoice = self._invoice(sub, "paid")
            return [self.event("checkout.session.completed", cs), created, self.event("invoice.paid", invoice)]

    def _invoice(self, sub: dict[str, Any], status: str) -> dict[str, Any]:
        inv = {"id": _id("in"), "object": "invoice", "customer": sub["customer"], "status": status,
               "created": self.tick(), "livemode": False,
               "parent": {"type": "subscription_details", "quote_details": None,
                          "subscription_details": {"subscription": sub["id"], "metadata": sub["metadata"]}}}
        self.invoices[inv["id"]] = inv
        sub["latest_invoice"] = inv["id"]
        return inv

    def update_subscription(self, sub_id: str, *, price: str | None = None, **fields: Any) -> dict[str, Any]:
        """Change it (portal-style: another price, cancel at period end…) → customer.subscription.updated."""
        with self.lock:
            sub = self.subscriptions[sub_id]
            if price:
                sub["items"]["data"][0]["price"] = {"id": price, "object": "price"}
            sub.update(fields)
            return self.event("customer.subscription.updated", sub)

    def renew(self, sub_id: str, *, paid: bool) -> list[dict[str, Any]]:
        """The next period starts; its invoice is paid, or fails (past_due)."""
        with self.lock:
            sub = self.subscriptions[sub_id]
            item = sub["items"]["data"][0]
            start = item["current_period_end"]
            item.update(current_period_start=start, current_period_end=start + MONTH)
            sub["status"] = "active" if paid else "past_due"
            updated = self.event("customer.subscription.updated", sub)
            invoice = self._invoice(sub, "paid" if paid else "open")
            return [updated, self.event("invoice.paid" if paid else "invoice.payment_failed", invoice)]

    def cancel(self, sub_id: str) -> dict[str, Any]:
        with self.lock:
            sub = self.subscriptions[sub_id]
            sub.update(status="canceled", cancel_at_period_end=False)
            return self.event("customer.subscription.deleted", sub)

    def signature(self, payload: bytes, *, secret: str | None = None, timestamp: int | None = None) -> str:
        ts = int(time.time()) if timestamp is None else timestamp
        mac = hmac.new((secret or self.webhook_secret).encode(), f"{ts}.".encode() + payload, hashlib.sha256)
        return f"t={ts},v1={mac.hexdigest()}"

    def deliver(self, url: str, event: dict[str, Any], *, secret: str | None = None, timestamp: int | None = None,
                tamper: bool = False) -> tuple[int, str]:
        """POST a signed event to a webhook endpoint, as Stripe does; returns (status, body)."""
        body = json.dumps(event).encode()
        header = self.signature(body, secret=secret, timestamp=timestamp)
        if tamper:
            body = body.replace(b'"livemode": false', b'"livemode": true ')
        req = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8", "Stripe-Signature": header,
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()


def _error(etype: str, message: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"type": etype, "message": message, **({"code": code} if code else {})}}


def _handler(double: StripeDouble) -> type[BaseHTTPRequestHandler]:
    class Handler(JsonHandler):
        def _serve(self, method: str) -> None:
            url = urlsplit(self.path)
            raw = self._body().decode()
            params = decode_form(parse_qsl(url.query if method == "GET" else raw, keep_blank_values=True))
            fault = double._fault_for(url.path)
            if fault == "before":
                self._send(500, _error("api_error", "Injected failure (nothing was done)."))
                return
            status, body, replayed = double.handle(method, url.path, params, self.headers)
            if fault == "drop":
                self.close_connection = True  # the work is done, the answer is lost
                return
            if fault == "after":
                self._send(500, _error("api_error", "Injected failure (the work was done)."))
                return
            self._send(status, body, replayed=replayed)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None, *,
                  replayed: bool = False) -> None:
            """The body without the double's private fields (_price…), with a Request-Id as Stripe sends."""
            out = {"Request-Id": f"req_{uuid.uuid4().hex[:14]}", **({"Idempotent-Replayed": "true"} if replayed else {})}
            super()._send(status, {k: v for k, v in body.items() if not k.startswith("_")}, {**out, **(headers or {})})

    return Handler
