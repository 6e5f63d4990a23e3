"""The Stripe double refuses what Stripe refuses, and the billing code holds up against it."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

import pytest
import stripe
from sqlalchemy import update

from studio.billing import meter, subscriptions
from studio.billing.plans import Metric
from studio.billing.stripe_gateway import BillingUnavailable, StripeGateway
from studio.billing.usage import record_usage
from studio.store import migrate
from studio.store.models import UsageEvent
from studio.store.session import Store
from tests.conftest import make_settings
from tests.stripe_double import DAY, StripeDouble
from tests.studio.test_billing import owner, upgrade, with_stripe


@pytest.fixture()
def fresh() -> Iterator[StripeDouble]:
    """A double of its own: these tests move its clock."""
    d = StripeDouble()
    yield d
    d.close()


@pytest.fixture()
def client(fresh: StripeDouble) -> stripe.StripeClient:
    return stripe.StripeClient(fresh.api_key, base_addresses={"api": fresh.base_url}, max_network_retries=0)


@pytest.fixture()
def billed(tmp_path, fresh: StripeDouble) -> Iterator[Store]:
    settings = make_settings(tmp_path / "home")
    migrate.upgrade(settings)
    store = Store(with_stripe(settings, fresh))
    yield store
    store.dispose()


def test_a_create_without_a_key_the_caller_chose_is_refused(client):
    with pytest.raises(stripe.IdempotencyError, match="Idempotency-Key chosen by the caller"):
        client.v1.customers.create({"name": "Acme"})  # stripe-python sends a random key of its own
    assert client.v1.customers.create({"name": "Acme"}, {"idempotency_key": "customer-acme"}).id


def test_a_key_replays_for_24_hours_then_is_forgotten(client, fresh):
    first = client.v1.customers.create({"name": "Acme"}, {"idempotency_key": "customer-acme"})
    assert client.v1.customers.create({"name": "Acme"}, {"idempotency_key": "customer-acme"}).id == first.id
    with pytest.raises(stripe.IdempotencyError):
        client.v1.customers.create({"name": "Other"}, {"idempotency_key": "customer-acme"})
    fresh.advance(DAY + 60)
    assert client.v1.customers.create({"name": "Acme"}, {"idempotency_key": "customer-acme"}).id != first.id
    assert len(fresh.customers) == 2


def test_a_meter_identifier_counts_once_and_refuses_other_values(client, fresh):
    cus = client.v1.customers.create({"name": "Acme"}, {"idempotency_key": "customer-acme"}).id
    now = int(fresh.now())

    def send(value: str, key: str, ts: int = now) -> None:
        client.v1.billing.meter_events.create({"event_name": "dotoro_variations", "identifier": "batch-1",
                                               "timestamp": ts, "payload": {"stripe_customer_id": cus, "value": value}},
                                              {"idempotency_key": key})

    send("5", "k1")
    send("5", "k2")  # the same event under another key: still one event
    with pytest.raises(stripe.IdempotencyError, match="already sent with other values"):
        send("7", "k3")
    with pytest.raises(stripe.InvalidRequestError, match="past 35 calendar days"):
        send("5", "k4", now - 36 * DAY)
    assert fresh.metered("dotoro_variations") == 5


def test_a_checkout_for_a_price_stripe_does_not_have_names_the_setting(billed, fresh, monkeypatch):
    store = billed
    monkeypatch.setattr(store, "settings", with_stripe(store.settings, fresh, STRIPE_PRICE_STARTER="price_gone"))
    ctx = owner(store)
    with pytest.raises(BillingUnavailable, match="Stripe has no price 'price_gone'.*set STRIPE_PRICE_STARTER"):
        subscriptions.start_checkout(store, ctx, "starter")
    assert fresh.sessions == {}


def _age_usage(store: Store, ctx, days: int) -> None:
    with store.session_scope(ctx) as s:
        s.execute(update(UsageEvent).values(at=dt.datetime.now(dt.UTC) - dt.timedelta(days=days))
                  .execution_options(synchronize_session=False))


def test_usage_older_than_stripe_accepts_is_still_reported_once(billed, fresh):
    ctx = owner(billed)
    upgrade(billed, fresh, ctx)
    with billed.session_scope(ctx) as s:
        record_usage(s, Metric.VARIATIONS, 40, f"old-{uuid.uuid4()}")
    _age_usage(billed, ctx, 40)  # the meter job was down for 40 days
    assert meter.report_usage(billed, ctx.workspace_id) == meter.MeterReport(1, 0)  # type: ignore[arg-type]
    assert meter.report_usage(billed, ctx.workspace_id) == meter.MeterReport(0, 0)  # type: ignore[arg-type]
    assert fresh.metered("dotoro_variations") == 40


class _LostAnswer(StripeGateway):
    """Stripe counts the first send; the reporter dies before it can record that."""

    lost = 0

    def send_meter_event(self, **kwargs) -> None:
        super().send_meter_event(**kwargs)
        if not _LostAnswer.lost:
            _LostAnswer.lost += 1
            raise stripe.APIConnectionError("the answer was lost")


def test_a_stale_batch_resent_with_a_later_stamp_is_not_counted_twice(billed, fresh, monkeypatch):
    ctx = owner(billed)
    upgrade(billed, fresh, ctx)
    with billed.session_scope(ctx) as s:
        record_usage(s, Metric.VARIATIONS, 9, f"old-{uuid.uuid4()}")
    _age_usage(billed, ctx, 40)
    first = meter.report_usage(billed, ctx.workspace_id, gateway=_LostAnswer(billed.settings))  # type: ignore[arg-type]
    assert first.pending == 1 and fresh.metered("dotoro_variations") == 9
    monkeypatch.setattr(meter, "OLDEST_S", meter.OLDEST_S - 10)  # the next run stamps it later: other values
    assert meter.report_usage(billed, ctx.workspace_id) == meter.MeterReport(1, 0)  # type: ignore[arg-type]
    assert fresh.metered("dotoro_variations") == 9
