"""Usage metering per workspace and calendar month (UTC), recorded inside the caller's unit of work."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from studio.billing.plans import Metric
from studio.store.base import new_id, utcnow
from studio.store.models import DatasetVersion, UsageEvent
from studio.store.session import TenantSession

MAX_KEY = 200
USAGE = cast(Table, UsageEvent.__table__)


def period_of(at: dt.datetime | None = None) -> str:
    """The metering month of `at` (now by default), like '2026-05'."""
    return (at or utcnow()).astimezone(dt.UTC).strftime("%Y-%m")


def period_end(period: str) -> dt.date:
    """The first day of the month after `period` (when its allowance renews)."""
    year, month = (int(x) for x in period.split("-"))
    return dt.date(year + month // 12, month % 12 + 1, 1)


def _key(idempotency_key: str) -> str:
    if not idempotency_key:
        raise ValueError("record_usage needs an idempotency key (e.g. 'generation:<run id>:<chunk>').")
    if len(idempotency_key) <= MAX_KEY:
        return idempotency_key
    return "sha256:" + hashlib.sha256(idempotency_key.encode()).hexdigest()


def record_usage(s: TenantSession, metric: Metric, amount: int, idempotency_key: str) -> bool:
    """Add `amount` of `metric` to this month, once per key; False when the key was already recorded."""
    if amount < 0:
        raise ValueError("Usage cannot be negative.")
    if amount == 0:
        return False
    now = utcnow()
    insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert(USAGE)
        .values(id=new_id(), workspace_id=s.workspace_id, metric=Metric(metric).value, amount=int(amount),
                period=period_of(now), idempotency_key=_key(idempotency_key), at=now)
        .on_conflict_do_nothing(index_elements=["workspace_id", "idempotency_key"])
        .returning(USAGE.c.id)
    )
    return s.execute(stmt).first() is not None


def used(s: TenantSession, metric: Metric, period: str | None = None) -> int:
    total = s.scalar(select(func.coalesce(func.sum(UsageEvent.amount), 0)).where(
        UsageEvent.period == (period or period_of()), UsageEvent.metric == Metric(metric).value))
    return int(total or 0)


def monthly_totals(s: TenantSession, period: str | None = None) -> dict[Metric, int]:
    rows = s.execute(select(UsageEvent.metric, func.sum(UsageEvent.amount))
                     .where(UsageEvent.period == (period or period_of())).group_by(UsageEvent.metric)).all()
    totals = dict.fromkeys(Metric, 0)
    for metric, amount in rows:
        if metric in Metric._value2member_map_:
            totals[Metric(metric)] = int(amount or 0)
    return totals


@dataclass(frozen=True)
class DailyUsage:
    day: dt.date
    metric: Metric
    amount: int


def daily_totals(s: TenantSession, period: str | None = None) -> list[DailyUsage]:
    """Usage of each day of the month, for the usage chart (summed in Python: portable across stores)."""
    by_day: dict[tuple[dt.date, str], int] = defaultdict(int)
    for at, metric, amount in s.execute(select(UsageEvent.at, UsageEvent.metric, UsageEvent.amount)
                                        .where(UsageEvent.period == (period or period_of()))):
        by_day[(at.date(), metric)] += int(amount)
    return [DailyUsage(day, Metric(m), n) for (day, m), n in sorted(by_day.items()) if m in Metric._value2member_map_]


def storage_bytes(s: TenantSession) -> int:
    """Bytes of uploaded data kept by the workspace (every version of every data set)."""
    return int(s.scalar(select(func.coalesce(func.sum(DatasetVersion.size_bytes), 0))) or 0)
