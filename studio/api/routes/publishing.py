"""Publishing: plan a set's posts (preview or commit), list items with their state, cancel one."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from studio.api import lookups
from studio.api import models as m
from studio.api.deps import Cursor, Limit, Publish, Read, decode_cursor, encode_cursor
from studio.publishing import queue, schedule

router = APIRouter(tags=["publishing"])

States = Annotated[list[str] | None, Query(max_length=10, description="e.g. scheduled, published, failed")]


@router.post("/campaign-sets/{set_id}/publishing/plan",
             summary="Plan the set's posts over its accounts and hours; with commit=true, schedule them")
def plan_publishing(who: Publish, set_id: uuid.UUID, body: m.PublishPlanRequest) -> m.PublishPlan:
    lookups.campaign_set(who.store, who.ctx, set_id)
    options = schedule.PublishOptions.from_dict(body.options)
    if body.commit:
        result = schedule.commit(who.store, who.ctx, set_id, options)
    else:
        result = schedule.preview(who.store, who.ctx, set_id, options)
    return m.PublishPlan(committed=body.commit,
                         items=[m.PlannedItem(key=i.key, variation_id=i.variation_id, kind=i.kind, title=i.title,
                                              subreddit=i.subreddit, account=i.account, at=i.at) for i in result.items],
                         refused=[m.Refusal(title=t, subreddit=sub, reason=r) for t, sub, r in result.refused])


@router.get("/publishing/items", summary="Publishing items with their state, soonest first")
def list_items(who: Read, cursor: Cursor = None, limit: Limit = 100, campaign_set_id: uuid.UUID | None = None,
          state: States = None) -> m.ListOf[m.PublishItem]:
    if campaign_set_id is not None:
        lookups.campaign_set(who.store, who.ctx, campaign_set_id)
    offset = decode_cursor(cursor)
    rows = queue.list_queue(who.store, who.ctx, set_id=campaign_set_id, states=tuple(state or ()),
                            limit=offset + limit + 1)
    chunk = rows[offset:offset + limit]
    return m.ListOf[m.PublishItem](items=[m.PublishItem(**r.__dict__) for r in chunk],
                                   next_cursor=encode_cursor(offset + limit) if len(rows) > offset + limit else None)


@router.post("/publishing/items/{item_id}/cancel", summary="Cancel a scheduled item (and the comments that follow it)")
def cancel_item(who: Publish, item_id: uuid.UUID) -> m.Changed:
    return m.Changed(changed=queue.cancel(who.store, who.ctx, item_id))
