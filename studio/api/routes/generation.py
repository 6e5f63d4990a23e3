"""Preview, campaign sets (create, generate, regenerate, list) and jobs (status, progress, cancel)."""

from __future__ import annotations

import json
import uuid

from fastapi import APIRouter, status

from studio import campaigns, previews
from studio.api import lookups
from studio.api import models as m
from studio.api.deps import Cursor, Limit, Read, Write, page_of

router = APIRouter()


@router.post("/preview", tags=["preview"], summary="The first N variations and whole-data-set figures of a configuration")
def preview_configuration(who: Read, body: m.PreviewRequest) -> m.PreviewResponse:
    result = previews.run_preview(who.store, who.ctx, body.dataset_id, body.config, limit=body.limit,
                                  cache=who.services.preview_cache)
    table = result.preview.variations
    rows = json.loads(table.write_json()) if table.height else []
    figures = result.preview.stats.figures() if result.preview.stats is not None else {}
    return m.PreviewResponse(variations=rows, figures=json.loads(json.dumps(figures, default=str)),
                             fallback_fields=dict(result.fallback_fields))


def _set(info: lookups.SetInfo) -> m.CampaignSet:
    return m.CampaignSet(**info.__dict__)


@router.get("/campaign-sets", tags=["campaign sets"], summary="List campaign sets, most recently changed first")
def list_sets(who: Read, cursor: Cursor = None, limit: Limit = 100, include_archived: bool = False) -> m.ListOf[m.CampaignSet]:
    items, after = page_of(campaigns.list_sets(who.store, who.ctx, include_archived=include_archived), cursor, limit)
    return m.ListOf[m.CampaignSet](items=[_set(lookups.set_info(cs)) for cs in items], next_cursor=after)


@router.post("/campaign-sets", tags=["campaign sets"], status_code=status.HTTP_201_CREATED,
             summary="Create a campaign set from a data set and a (previewed) configuration")
def create_set(who: Write, body: m.CampaignSetCreate) -> m.CampaignSet:
    set_id = campaigns.create(who.store, who.ctx, body.name, body.dataset_id, body.config)
    return _set(lookups.campaign_set(who.store, who.ctx, set_id))


@router.get("/campaign-sets/{set_id}", tags=["campaign sets"], summary="One campaign set")
def get_set(who: Read, set_id: uuid.UUID) -> m.CampaignSet:
    return _set(lookups.campaign_set(who.store, who.ctx, set_id))


def _start(who: Write, set_id: uuid.UUID, body: m.GenerateRequest) -> m.JobAccepted:
    lookups.campaign_set(who.store, who.ctx, set_id)
    run_id = campaigns.generate(who.store, who.ctx, set_id, overwrite_edits=body.overwrite_edits,
                                up_to_allowance=body.up_to_allowance)
    return m.JobAccepted(job_id=run_id, status_url=f"/api/v1/jobs/{run_id}")


@router.post("/campaign-sets/{set_id}/generate", tags=["campaign sets"], status_code=status.HTTP_202_ACCEPTED,
             summary="Generate the set's variations in the background; poll the returned job")
def generate(who: Write, set_id: uuid.UUID, body: m.GenerateRequest | None = None) -> m.JobAccepted:
    return _start(who, set_id, body or m.GenerateRequest())


@router.post("/campaign-sets/{set_id}/regenerate", tags=["campaign sets"], status_code=status.HTTP_202_ACCEPTED,
             summary="Generate again from the set's current data (hand edits kept unless overwrite_edits)")
def regenerate(who: Write, set_id: uuid.UUID, body: m.GenerateRequest | None = None) -> m.JobAccepted:
    return _start(who, set_id, body or m.GenerateRequest())


def _job(set_id: uuid.UUID, run: campaigns.RunInfo) -> m.Job:
    return m.Job(id=run.id, campaign_set_id=set_id, status=run.status, finished=run.finished, progress=run.fraction,
                 rows_done=run.rows_done, rows_total=run.rows_total, chunks_done=run.chunks_done,
                 chunks_total=run.chunks_total, variations=run.variations, error=run.error or "",
                 seconds=float(run.seconds or 0), figures=json.loads(json.dumps(run.figures, default=str)))


@router.get("/jobs/{job_id}", tags=["jobs"], summary="A job's status and progress")
def get_job(who: Read, job_id: uuid.UUID) -> m.Job:
    return _job(*lookups.run(who.store, who.ctx, job_id))


@router.post("/jobs/{job_id}/cancel", tags=["jobs"], summary="Cancel a job (chunks not started are skipped)")
def cancel_job(who: Write, job_id: uuid.UUID) -> m.Job:
    lookups.run(who.store, who.ctx, job_id)
    campaigns.cancel(who.store, who.ctx, job_id)
    return _job(*lookups.run(who.store, who.ctx, job_id))
