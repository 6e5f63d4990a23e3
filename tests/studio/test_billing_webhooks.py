"""Stripe webhooks through the studio's own port (POST /stripe/webhook): verified, applied once, newest state wins.

A client that never finishes its request headers is the front proxy's to drop (README: One port); the
request body has a deadline and a size cap of its own, tested here."""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import uvicorn
from sqlalchemy import func, select
from starlette.applications import Starlette

from studio.billing import subscriptions
from studio.billing.accounts import get_account
from studio.context import Context
from studio.http import Endpoints
from studio.http_deadline import HeaderDeadlineProtocol
from studio.store.models import BillingAccount, StripeEvent
from studio.store.session import Store
from tests.studio import test_billing
from tests.studio.test_billing import owner, upgrade

# the shared fixtures (a Stripe double; stores with billing on, SQLite and Postgres)
double, bstore = test_billing.double, test_billing.bstore
pg_billing_store, sqlite_billing_store = test_billing.pg_billing_store, test_billing.sqlite_billing_store


@dataclass
class Served:
    server_address: tuple[str, int]

    @property
    def base(self) -> str:
        return f"http://{self.server_address[0]}:{self.server_address[1]}"

    @property
    def url(self) -> str:
        return self.base + "/stripe/webhook"


@pytest.fixture()
def serve() -> Iterator[Callable[[Endpoints], Served]]:
    """The studio's routes (studio.http) under uvicorn with server.py's HTTP protocol, on a free port."""
    started: list[uvicorn.Server] = []

    def run(endpoints: Endpoints) -> Served:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(Starlette(routes=endpoints.routes()), host="127.0.0.1", port=port,
                                               http=HeaderDeadlineProtocol, log_level="warning", lifespan="off"))
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.01)
        started.append(server)
        return Served(("127.0.0.1", port))

    yield run
    for server in started:
        server.should_exit = True


@pytest.fixture()
def receiver(bstore: Store, serve) -> str:
    """POST /stripe/webhook on the studio's port; yields its URL."""
    return serve(Endpoints(store=bstore)).url


def account(store: Store, ctx: Context) -> BillingAccount | None:
    with store.session_scope(Context.job(ctx.workspace_id)) as s:  # type: ignore[arg-type]
        acc = get_account(s)
        if acc is not None:
            s.expunge(acc)
        return acc


def processed(store: Store, ctx: Context) -> list[str]:
    with store.session_scope(Context.job(ctx.workspace_id)) as s:  # type: ignore[arg-type]
        return sorted(s.scalars(select(StripeEvent.id)))


def checkout_only(store, double, ctx, plan="starter") -> list[dict]:
    """The customer pays, but never comes back to the studio: only the webhooks can tell."""
    session_id = subscriptions.start_checkout(store, ctx, plan).rsplit("/", 1)[1]
    return double.pay(session_id)


def test_webhooks_alone_activate_the_plan(bstore, double, receiver):
    ctx = owner(bstore)
    for event in checkout_only(bstore, double, ctx):
        assert double.deliver(receiver, event)[0] == 200
    view = subscriptions.overview(bstore, ctx)
    assert (view.plan.key, view.status, view.last_invoice_status) == ("starter", "active", "paid")


def test_each_webhook_three_times_out_of_order_is_applied_once(bstore, double, receiver):
    ctx = owner(bstore)
    events = checkout_only(bstore, double, ctx)
    sub_id = events[1]["data"]["object"]["id"]
    events.append(double.update_subscription(sub_id, price="price_pro"))  # upgraded in the portal
    events += double.renew(sub_id, paid=False)  # the renewal fails: past_due
    events += double.renew(sub_id, paid=True)  # the next one is paid
    events.append(double.update_subscription(sub_id, cancel_at_period_end=True))  # then cancelled at period end
    deliveries = events * 3
    random.Random(8).shuffle(deliveries)
    answers = [double.deliver(receiver, e) for e in deliveries]
    assert {status for status, _ in answers} == {200}
    assert sum(body == "duplicate" for _, body in answers) == 2 * len(events)
    assert processed(bstore, ctx) == sorted(e["id"] for e in events)
    acc = account(bstore, ctx)
    final = double.subscriptions[sub_id]
    assert (acc.subscription_plan, acc.subscription_status, acc.cancel_at_period_end) == ("pro", "active", True)
    assert acc.period_start == final["items"]["data"][0]["current_period_start"]
    assert subscriptions.overview(bstore, ctx).plan.key == "pro"


def test_an_old_event_never_overwrites_a_newer_state(bstore, double, receiver):
    ctx = owner(bstore)
    events = checkout_only(bstore, double, ctx)
    sub_id = events[1]["data"]["object"]["id"]
    upgraded = double.update_subscription(sub_id, price="price_pro")
    deleted = double.cancel(sub_id)
    assert double.deliver(receiver, deleted) == (200, "applied: subscription canceled")
    for event in (upgraded, events[1]):  # older news, delivered late
        assert double.deliver(receiver, event) == (200, "stale: a newer state is applied")
    acc = account(bstore, ctx)
    assert acc.subscription_status == "canceled"
    assert subscriptions.overview(bstore, ctx).plan.key == "free"  # nothing made is deleted; only the limits change


def test_a_new_subscription_after_a_cancelled_one_wins(bstore, double, receiver):
    ctx = owner(bstore)
    first = checkout_only(bstore, double, ctx)
    old = first[1]["data"]["object"]["id"]
    assert double.deliver(receiver, double.cancel(old))[0] == 200
    second = checkout_only(bstore, double, ctx, "pro")
    late_old = double.update_subscription(old, cancel_at_period_end=True)  # late news of the old one
    for event in (second[1], late_old):
        double.deliver(receiver, event)
    acc = account(bstore, ctx)
    assert (acc.subscription_id, acc.subscription_plan) == (second[1]["data"]["object"]["id"], "pro")


@pytest.mark.parametrize("attack", ["wrong secret", "tampered body", "old timestamp", "future timestamp",
                                    "no signature"])
def test_a_webhook_that_fails_verification_gets_400_and_changes_nothing(bstore, double, receiver, attack):
    ctx = owner(bstore)
    events = checkout_only(bstore, double, ctx)
    kwargs = {"wrong secret": {"secret": "whsec_wrong"}, "tampered body": {"tamper": True},
              "old timestamp": {"timestamp": int(time.time()) - 600},
              "future timestamp": {"timestamp": int(time.time()) + 86_400}, "no signature": {}}[attack]
    for event in events:
        if attack == "no signature":
            import urllib.error
            import urllib.request
            req = urllib.request.Request(receiver, data=json.dumps(event).encode(), method="POST")
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(req, timeout=10)
            assert refused.value.code == 400
        else:
            assert double.deliver(receiver, event, **kwargs) == (400, "invalid signature")
    assert account(bstore, ctx).subscription_id is None  # the customer row from checkout, no subscription
    assert processed(bstore, ctx) == []


def test_events_it_does_not_handle_or_cannot_place_are_acknowledged(bstore, double, receiver):
    assert double.deliver(receiver, double.event("customer.created", {"id": "cus_x", "object": "customer"})) == \
        (200, "ignored customer.created")
    orphan = double.event("customer.subscription.updated", {"id": "sub_x", "object": "subscription", "metadata": {}})
    assert double.deliver(receiver, orphan) == (200, "ignored customer.subscription.updated: no workspace")
    with bstore.session_scope(Context.job(owner(bstore).workspace_id)) as s:  # type: ignore[arg-type]
        assert s.scalar(select(func.count()).select_from(StripeEvent)) == 0


def test_return_and_webhooks_together_agree(bstore, double, receiver):
    ctx = owner(bstore)
    _, events = upgrade(bstore, double, ctx, "pro")
    for event in events:
        assert double.deliver(receiver, event)[0] == 200
    acc = account(bstore, ctx)
    assert (acc.subscription_plan, acc.subscription_status) == ("pro", "active")


@pytest.fixture()
def impatient(bstore: Store, serve) -> Served:
    """The receiver with a half-second read timeout."""
    return serve(Endpoints(store=bstore, read_timeout_s=0.5))


def _post_head(length: int) -> bytes:
    return (f"POST /stripe/webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\n\r\n").encode()


def _until_closed(conn: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (the 10 s socket timeout fails the test)."""
    received = b""
    while chunk := conn.recv(4096):
        received += chunk
    return received


def test_a_client_that_sends_10_of_1000_bytes_is_answered_408_and_closed(impatient):
    with socket.create_connection(impatient.server_address[:2], timeout=10) as conn:
        conn.sendall(_post_head(1000) + b"x" * 10)
        answer = _until_closed(conn)
    assert answer.startswith(b"HTTP/1.1 408")


def test_a_client_dripping_its_body_cannot_outlast_the_deadline(impatient):
    stop = threading.Event()
    with socket.create_connection(impatient.server_address[:2], timeout=10) as conn:
        conn.sendall(_post_head(1000))

        def drip() -> None:  # one byte every 50 ms: each read succeeds, the whole body would take 50 s
            while not stop.wait(0.05):
                try:
                    conn.sendall(b"x")
                except OSError:
                    return

        dripper = threading.Thread(target=drip, daemon=True)
        dripper.start()
        try:
            answer = _until_closed(conn)
        finally:
            stop.set()
            dripper.join()
    assert answer.startswith(b"HTTP/1.1 408")


@pytest.mark.parametrize(("head", "status"), [
    (_post_head(10 * 1024 * 1024), b"413"),
    (b"POST /stripe/webhook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", b"411"),
])
def test_oversized_or_unsized_bodies_are_refused_unread(impatient, head, status):
    with socket.create_connection(impatient.server_address[:2], timeout=10) as conn:
        conn.sendall(head)
        answer = _until_closed(conn)
    assert answer.split(b" ")[1] == status


def test_a_client_already_sending_a_refused_body_still_reads_why(impatient):
    """The server refuses a too-big body without reading it; what the client already sent must not reset the answer."""
    with socket.create_connection(impatient.server_address[:2], timeout=10) as conn:
        conn.sendall(_post_head(10 * 1024 * 1024) + b"x" * 256 * 1024)
        time.sleep(0.3)  # the refusal is written and the connection ended while those bytes sit unread
        answer = _until_closed(conn)
    assert answer.startswith(b"HTTP/1.1 413")
