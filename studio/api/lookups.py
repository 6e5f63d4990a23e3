"""Reads by id that the API needs and the pages do not (they pick from lists): a campaign set, a run."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import select

from studio import campaigns
from studio.context import Context, Permission
from studio.errors import NotFound
from studio.permissions import requires
from studio.store.base import aware
from studio.store.campaign_models import CampaignSet, GenerationRun
from studio.store.session import Store


@dataclass(frozen=True)
class SetInfo:
    id: uuid.UUID
    name: str
    dataset_id: uuid.UUID | None
    dataset_version: int
    format: str
    status: str
    status_reason: str
    variation_count: int
    created_at: dt.datetime
    updated_at: dt.datetime


def set_info(cs: CampaignSet) -> SetInfo:
    return SetInfo(cs.id, cs.name, cs.dataset_id, cs.dataset_version, f"{cs.platform}/{cs.format}", cs.status,
                   cs.status_reason or "", int(cs.variation_count or 0), aware(cs.created_at), aware(cs.updated_at))


@requires(Permission.VIEW)
def campaign_set(store: Store, ctx: Context, set_id: uuid.UUID) -> SetInfo:
    """One campaign set of this workspace (NotFound for any other id)."""
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        return set_info(campaigns.get(s, set_id))


@requires(Permission.VIEW)
def run(store: Store, ctx: Context, run_id: uuid.UUID) -> tuple[uuid.UUID, campaigns.RunInfo]:
    """A generation run of this workspace (a job of the API) and its campaign set's id."""
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        row = s.scalar(select(GenerationRun).where(GenerationRun.id == run_id))
        if row is None:
            raise NotFound("This job (generation run) does not exist in this workspace.")
        set_id = row.campaign_set_id
        plain = campaigns.RunInfo(row.id, row.status, row.rows_done, row.rows_total, 0, row.chunks_total,
                                  row.variations, row.error, row.seconds, dict(row.diff or {}),
                                  figures=dict(row.figures or {}))
    latest = campaigns.latest_run(store, ctx, set_id)
    return set_id, latest if latest is not None and latest.id == run_id else plain
