"""This month's usage against the plan's limits (owners and admins, as on the Usage page)."""

from __future__ import annotations

from fastapi import APIRouter

from studio.api import models as m
from studio.api.deps import Read
from studio.billing import subscriptions

router = APIRouter(tags=["usage"])


@router.get("/usage", summary="This month's variations, posts and API calls against the plan's limits")
def get_usage(who: Read) -> m.Usage:
    view = subscriptions.overview(who.store, who.ctx)
    return m.Usage(period=view.period, plan=view.plan.name, billing_enabled=view.enabled,
                   usage=[m.UsageLine(metric=line.metric.value, used=line.used, limit=line.limit) for line in view.usage],
                   members=view.members, storage_bytes=view.storage_bytes)
