"""Test helper: make a campaign set's latest run look like its worker died mid-chunk."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import func, select

from studio import campaigns
from studio.context import Context
from studio.store.campaign_models import CampaignSet, GenerationChunk, GenerationRun, Variation
from studio.store.session import Store


def stall_latest_run(store: Store, ctx: Context, set_id: uuid.UUID, idle: dt.timedelta) -> uuid.UUID:
    """The server restarted while the run's only chunk was rendering, `idle` ago; returns the run id.

    The set keeps the variations it has: those of an earlier run, which this one (a regeneration started
    over them, so it counts at its end: migration 0023) had not replaced yet."""
    run_id = campaigns.latest_run(store, ctx, set_id).id
    long_ago = dt.datetime.now(dt.UTC) - idle
    with store.session_scope(ctx) as s:
        chunk = s.query(GenerationChunk).filter_by(run_id=run_id).one()
        chunk.status, chunk.updated_at = "running", long_ago
        run = s.get(GenerationRun, run_id)
        run.status, run.rows_done, run.variations, run.started_at, run.finished_at = "running", 0, 0, long_ago, None
        run.diff, run.figures = {}, {}  # nothing of the chunk was committed
        run.variations_before = s.scalar(select(func.count()).select_from(Variation).where(Variation.campaign_set_id == set_id))
        s.get(CampaignSet, set_id).status = "generating"
    return run_id
