"""Usage to Stripe Billing Meters, exactly once: batches are frozen before sending, so a resend repeats itself.

A batch is the unreported usage of one metric, fixed (rows tagged with the batch id) in one transaction
before anything is sent. The meter event's identifier and idempotency key are the batch id, and its value
and timestamp are computed from the tagged rows, so every resend after a failure or a crash carries the
very same request, which Stripe counts once. Rows are marked reported only after Stripe accepted the batch.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass

import stripe
from sqlalchemy import func, select, update

from studio import logging_setup
from studio.billing.accounts import get_account
from studio.billing.plans import METER_EVENTS, Metric, billing_enabled
from studio.billing.stripe_gateway import StripeGateway
from studio.context import Context, WorkspaceId
from studio.permissions import system_only
from studio.settings import load_settings
from studio.store.base import utcnow
from studio.store.models import UsageEvent
from studio.store.session import Store, TenantSession

log = logging.getLogger(__name__)
OLDEST_S = 35 * 86_400 - 3600  # usage older than this is stamped at this age, not refused forever


@dataclass(frozen=True)
class MeterReport:
    sent: int
    pending: int
    error: str | None = None


@dataclass(frozen=True)
class _Batch:
    id: str
    metric: Metric
    value: int
    timestamp: int


def _freeze(s: TenantSession) -> None:
    """Tag every unbatched row with a new batch per metric (row locks keep two reporters apart)."""
    for metric in METER_EVENTS:
        s.execute(update(UsageEvent)
                  .where(UsageEvent.meter_batch.is_(None), UsageEvent.metric == metric.value)
                  .values(meter_batch=f"usage-{uuid.uuid4()}")
                  .execution_options(synchronize_session=False))


def _pending(s: TenantSession) -> list[_Batch]:
    rows = s.execute(
        select(UsageEvent.meter_batch, UsageEvent.metric, func.sum(UsageEvent.amount), func.max(UsageEvent.at))
        .where(UsageEvent.meter_batch.is_not(None), UsageEvent.meter_reported_at.is_(None))
        .group_by(UsageEvent.meter_batch, UsageEvent.metric)
        .order_by(func.max(UsageEvent.at))
    ).all()
    return [_Batch(str(b), Metric(m), int(v), _epoch(at)) for b, m, v, at in rows
            if m in Metric._value2member_map_ and Metric(m) in METER_EVENTS]


def _epoch(at: dt.datetime) -> int:
    return int((at if at.tzinfo else at.replace(tzinfo=dt.UTC)).timestamp())  # SQLite hands back naive UTC


@system_only("the periodic meter job reports usage to Stripe")
def report_usage(store: Store, workspace_id: WorkspaceId, *, gateway: StripeGateway | None = None) -> MeterReport:
    """Send the workspace's unreported usage to Stripe; stops at the first failure (the next run resends)."""
    if not billing_enabled(store.settings):
        return MeterReport(0, 0)
    ctx = Context.job(workspace_id)
    with store.session_scope(ctx) as s:
        acc = get_account(s)
        customer = acc.stripe_customer_id if acc else None
        if not customer:
            return MeterReport(0, 0)  # no Stripe customer (Free): usage stays in the studio only
        _freeze(s)
    with store.session_scope(ctx) as s:
        batches = _pending(s)
    gw = gateway or StripeGateway(store.settings)
    oldest = int(utcnow().timestamp()) - OLDEST_S  # Stripe refuses meter events over 35 days old
    for done, batch in enumerate(batches):
        try:
            gw.send_meter_event(event_name=METER_EVENTS[batch.metric], customer=customer, value=batch.value,
                                identifier=batch.id, timestamp=max(batch.timestamp, oldest))
        except stripe.IdempotencyError:  # the batch's identifier was already accepted (with an older stamp): counted
            log.info("meter batch %s of %s was already counted by Stripe", batch.id, workspace_id)
        except stripe.StripeError as exc:
            log.warning("meter report for %s stopped at %s: %s", workspace_id, batch.id, exc)
            return MeterReport(done, len(batches) - done, str(exc))
        with store.session_scope(ctx) as s:
            s.execute(update(UsageEvent).where(UsageEvent.meter_batch == batch.id)
                      .values(meter_reported_at=utcnow()).execution_options(synchronize_session=False))
    return MeterReport(len(batches), 0)


def report_job(workspace_id: str) -> dict[str, object]:
    """RQ job: report one workspace (takes an id; builds its own store after the fork)."""
    store = Store(load_settings())
    try:
        r = report_usage(store, WorkspaceId(uuid.UUID(workspace_id)))
        return {"sent": r.sent, "pending": r.pending, "error": r.error}
    finally:
        store.dispose()


@system_only("the periodic meter job")
def report_all(store: Store) -> MeterReport:
    """Every billed workspace, one after the other (run it every few minutes: `python -m studio.billing.meter`)."""
    from studio.admin import billed_workspaces

    sent = pending = 0
    errors = []
    for ws in billed_workspaces(store):
        r = report_usage(store, ws)
        sent, pending = sent + r.sent, pending + r.pending
        if r.error:
            errors.append(r.error)
    return MeterReport(sent, pending, "; ".join(errors) or None)


if __name__ == "__main__":
    _store = Store(load_settings())
    logging_setup.configure(_store.settings)
    print(report_all(_store))
    _store.dispose()
