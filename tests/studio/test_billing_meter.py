"""Usage to Stripe Billing Meters: exactly once, whatever fails on the way."""

from __future__ import annotations

import dataclasses
import random
import uuid
from collections import defaultdict

from sqlalchemy import select

from studio.billing import Metric, meter, record_usage
from studio.billing.plans import METER_EVENTS
from studio.billing.stripe_gateway import StripeGateway
from studio.context import Context
from studio.store.models import UsageEvent
from tests.studio import test_billing
from tests.studio.test_billing import owner, upgrade

# the shared fixtures (a Stripe double; stores with billing on, SQLite and Postgres)
double, bstore = test_billing.double, test_billing.bstore
pg_billing_store, sqlite_billing_store = test_billing.pg_billing_store, test_billing.sqlite_billing_store


class Crash(Exception):
    """The reporter dies after Stripe accepted the event, before the store learns of it."""


class CrashingGateway(StripeGateway):
    def __init__(self, settings, rng: random.Random) -> None:
        super().__init__(settings)
        self.rng = rng

    def send_meter_event(self, **kwargs) -> None:
        super().send_meter_event(**kwargs)
        if self.rng.random() < 0.25:
            raise Crash


def _customer(store, double, ctx) -> str:
    upgrade(store, double, ctx)
    return next(c["id"] for c in double.customers.values() if c["metadata"]["workspace_id"] == str(ctx.workspace_id))


def test_meter_events_are_counted_exactly_once_after_random_failures(bstore, double):
    ctx = owner(bstore)
    customer = _customer(bstore, double, ctx)
    no_retries = dataclasses.replace(bstore.settings, extra={**bstore.settings.extra, "STRIPE_MAX_NETWORK_RETRIES": "0"})
    rng = random.Random(42)
    gateway = CrashingGateway(no_retries, rng)
    recorded: dict[Metric, int] = defaultdict(int)
    double.fail_randomly(0.35, seed=7)  # 500 before or after the work, or a dropped connection
    try:
        for round_ in range(40):
            if round_ < 25:
                with bstore.session_scope(ctx) as s:
                    for metric in Metric:
                        amount = rng.randint(1, 50)
                        if record_usage(s, metric, amount, f"r{round_}-{metric.value}"):
                            recorded[metric] += amount
            try:
                report = meter.report_usage(bstore, ctx.workspace_id, gateway=gateway)  # type: ignore[arg-type]
            except Crash:
                continue
            if round_ >= 25 and report.pending == 0 and report.error is None:
                break
    finally:
        double.fail_randomly(0.0)
    assert meter.report_usage(bstore, ctx.workspace_id).pending == 0  # type: ignore[arg-type]  # the network is back
    mine = {i: e for i, e in double.meter_events.items() if e["payload"]["stripe_customer_id"] == customer}
    for metric in Metric:
        counted = sum(int(e["payload"]["value"]) for e in mine.values() if e["event_name"] == METER_EVENTS[metric])
        assert counted == recorded[metric], metric
    keys = [k for _, path, k in double.requests if path == "/v1/billing/meter_events" and k in
            {f"meter-{i}" for i in mine}]
    assert len(keys) > len(set(keys)) == len(mine)  # some were sent again, each with its one key …
    received = [r for r in double.meter_requests if r["payload"]["stripe_customer_id"] == customer]
    for request in received:  # … and identical values whenever one got through to be done again
        assert request["payload"]["value"] == mine[request["identifier"]]["payload"]["value"]
    with bstore.session_scope(ctx) as s:
        assert all(s.scalars(select(UsageEvent.meter_reported_at)))


def test_a_stripe_retry_reuses_the_key_and_counts_once(bstore, double):
    ctx = owner(bstore)
    customer = _customer(bstore, double, ctx)
    with bstore.session_scope(ctx) as s:
        record_usage(s, Metric.VARIATIONS, 120, "run-1")
    double.fail_next("/v1/billing/meter_events", mode="after")  # stripe-python retries with the same key
    assert meter.report_usage(bstore, ctx.workspace_id) == meter.MeterReport(1, 0)  # type: ignore[arg-type]
    mine = [e for e in double.meter_events.values() if e["payload"]["stripe_customer_id"] == customer]
    assert [(e["event_name"], e["payload"]["value"]) for e in mine] == [("dotoro_variations", "120")]
    keys = [k for m, p, k in double.requests if p == "/v1/billing/meter_events" and k == f"meter-{mine[0]['identifier']}"]
    assert len(keys) == 2


def _nothing_reported(target, double) -> None:
    ctx = owner(target)
    with target.session_scope(ctx) as s:
        record_usage(s, Metric.PUBLISHES, 3, f"p-{uuid.uuid4()}")
    before = len(double.requests)
    assert meter.report_usage(target, ctx.workspace_id) == meter.MeterReport(0, 0)  # type: ignore[arg-type]
    assert len(double.requests) == before


def test_nothing_is_reported_when_billing_is_off(store, double):
    _nothing_reported(store, double)


def test_nothing_is_reported_without_a_stripe_customer(bstore, double):
    _nothing_reported(bstore, double)


def test_report_all_covers_every_billed_workspace(pg_billing_store, double):
    a, b = owner(pg_billing_store), owner(pg_billing_store)
    for ctx in (a, b):
        _customer(pg_billing_store, double, ctx)
        with pg_billing_store.session_scope(ctx) as s:
            record_usage(s, Metric.API_CALLS, 7, "calls")
    report = meter.report_all(pg_billing_store)
    assert report.error is None and report.pending == 0 and report.sent >= 2
    for ctx in (a, b):
        with pg_billing_store.session_scope(Context.job(ctx.workspace_id)) as s:  # type: ignore[arg-type]
            assert all(s.scalars(select(UsageEvent.meter_reported_at)))
