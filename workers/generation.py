"""Generation jobs: one RQ job per chunk of rows; idempotent, resumable, cancellable."""

from __future__ import annotations

import functools
import hashlib
import os
import time
import uuid
from typing import Any

import pyarrow as pa
from rq import Retry
from sqlalchemy import select

from engine.generation import Plan
from engine.generation.diff import row_keys
from studio import datasets, event_sources
from studio.context import Context, WorkspaceId
from studio.errors import NotFound
from studio.logging_setup import logged_job
from studio.settings import Settings, load_settings
from studio.store.base import utcnow
from studio.store.campaign_models import CampaignSet, GenerationChunk, GenerationRun
from studio.store.session import Store
from workers import chunk_render, variation_store
from workers.chunk_ledger import chunk_ledger, prepared
from workers.queues import submit

RETRY = Retry(max=3, interval=[2, 10, 30])


@functools.lru_cache(maxsize=4)
def _store_for(pid: int, database_url: str) -> Store:
    """One engine per worker process (RQ forks: a child never reuses its parent's pool)."""
    return Store(load_settings())


def job_store() -> Store:
    s = load_settings()
    return _store_for(os.getpid(), s.database_url)


def variation_id(set_id: uuid.UUID, row: int, variation: int, key: str | None = None) -> uuid.UUID:
    """Deterministic: the same set, row and variation always get the same id (as `_records` computes it).
    A keyed set (CampaignSet.key_column) names the row by its key instead, so moving a row keeps its ids."""
    name = f"{set_id}:{row}:{variation}" if key is None else f"{set_id}:k:{key}:{variation}"
    return uuid.UUID(hashlib.md5(name.encode(), usedforsecurity=False).hexdigest())


def enqueue_run(settings: Settings, workspace_id: WorkspaceId, run_id: uuid.UUID, chunks: int) -> None:
    """One job per chunk, with deterministic ids (a double click never enqueues twice)."""
    for index in range(chunks):
        submit(settings, run_chunk, str(workspace_id), str(run_id), index, queue_name="generation",
               job_id=f"gen-{run_id}-{index}", retry=RETRY)


def chunk_table(plan: Plan, start: int, end: int) -> pa.Table:
    """Exactly the bulk run's variations for rows [start, end)."""
    ledger = chunk_ledger(plan, start, end)
    return ledger.filter(chunk_render.kept(ledger))


@logged_job("generation.chunk")
def run_chunk(workspace_id: str, run_id: str, index: int) -> dict[str, Any]:
    """The job: claim the chunk, render it, write it (one transaction), advance the run."""
    claimed = time.perf_counter()
    store = job_store()
    ws, rid = WorkspaceId(uuid.UUID(workspace_id)), uuid.UUID(run_id)
    ctx = Context.job(ws)
    with store.session_scope(ctx) as s:
        run = s.get(GenerationRun, rid)
        chunk = s.query(GenerationChunk).filter_by(run_id=rid, index=index).with_for_update().one_or_none()
        if run is None or chunk is None:
            return {"skipped": "run is gone"}
        if chunk.status == "done":
            return {"skipped": "already done"}
        if run.status in ("cancelled", "error"):
            chunk.status = "cancelled"
            return {"skipped": run.status}
        chunk.status, chunk.attempts, chunk.updated_at = "running", chunk.attempts + 1, utcnow()
        run.status = "running"
        cs = s.get(CampaignSet, run.campaign_set_id)
        assert cs is not None
        set_id, config, dataset_id, version = cs.id, dict(cs.config), cs.dataset_id, cs.dataset_version
        key_column = cs.key_column
        start, end, overwrite = chunk.row_start, chunk.row_end, run.overwrite_edits
        fresh = run.variations_before == 0  # the set had no variation when the run started (migration 0023)
    began = time.perf_counter()
    # seconds per stage of this chunk (bench/bench_generation.py --profile)
    stages: dict[str, float] = {"claim": began - claimed}
    try:
        if dataset_id is None:
            raise NotFound("The data set was deleted.")
        table = prepared(datasets.load_table(store, ctx, dataset_id, version=version, local=True, keep=True))
    except NotFound:
        _fail_run(store, ctx, rid, "The data set of this campaign set was deleted while it was generating.")
        return {"error": "dataset deleted"}
    stages["load_table"] = time.perf_counter() - began
    try:
        plan = chunk_render.plan_for(table, config)
    except Exception as exc:
        _fail_run(store, ctx, rid, f"Generation failed on rows {start + 1:,}–{end:,}: {exc}")
        return {"error": str(exc)}
    stages["plan"] = time.perf_counter() - began - stages["load_table"]
    keys = None
    if key_column is not None:  # ids by (set, key, variation): see variation_id
        # the whole data set's keys, once per kept version (per chunk it cost 0.9 s on 1M rows)
        keys = table.memo(("row_keys", key_column), lambda: row_keys(chunk_render.key_frame(table, key_column), key_column))
    postgres = store.engine.dialect.name == "postgresql"
    mark = time.perf_counter()
    rendered = (chunk_render.take_ahead(rid, plan, start, end) if postgres else None) or chunk_render.Rendered(
        plan, start, end, start // index if index else end - start, set_id, keys)
    stages["ahead"] = time.perf_counter() - mark
    records = rendered.records(csv=postgres)
    if postgres:
        chunk_render.look_ahead(records, store, ctx, rid, index, rendered)
    try:
        done = _write_chunk(store, ctx, rid, index, set_id, start, end, records, rendered, began, stages,
                            overwrite=overwrite, fresh=fresh)
        stages["total"] = time.perf_counter() - claimed
    except chunk_render.RenderFailed as failed:  # the write rolled back: nothing of this chunk is kept
        _fail_run(store, ctx, rid, f"Generation failed on rows {start + 1:,}–{end:,}: {failed.__cause__}")
        return {"error": str(failed.__cause__)}
    except _RunEnded as ended:
        with store.session_scope(ctx) as s:  # the write above rolled back: nothing of this chunk is kept
            s.query(GenerationChunk).filter(GenerationChunk.run_id == rid, GenerationChunk.index == index,
                                            GenerationChunk.status != "done").update({"status": "cancelled"})
        return {"skipped": str(ended)}
    finally:
        records.close()
    stages.update(rendered.stages)  # in the background: overlapped with the writes
    return {**done, "stages": {k: round(v, 4) for k, v in stages.items()}}


def _write_chunk(store: Store, ctx: Context, rid: uuid.UUID, index: int, set_id: uuid.UUID, start: int, end: int,
                 records: variation_store.Records, rendered: chunk_render.Rendered, began: float,
                 stages: dict[str, float], *, overwrite: bool, fresh: bool) -> dict[str, Any]:
    """Write the chunk's records and advance the run, in one transaction."""
    with store.session_scope(ctx) as s:
        chunk = s.query(GenerationChunk).filter_by(run_id=rid, index=index).with_for_update().one()
        if chunk.status == "done":
            return {"skipped": "already done"}
        _stop_if_ended(s.scalar(select(GenerationRun.status).where(GenerationRun.id == rid)))
        # the set's row, KEY SHARE-locked once for the chunk (no per-row foreign key: migration 0018): a set
        # deleted before this writes nothing; one deleted after waits for this commit, then takes its rows
        if s.scalar(select(CampaignSet.id).where(CampaignSet.id == set_id).with_for_update(read=True, key_share=True)) is None:
            raise _RunEnded("the campaign set was deleted")
        # the heavy write happens under the chunk's own lock; the run row is locked only for the counters,
        # so workers write chunks in parallel and only queue for the short update below
        s.info["stages"] = stages
        diff = variation_store.write_chunk(s, set_id, rid, start, end, records, overwrite_edits=overwrite, fresh=fresh)
        # FOR NO KEY UPDATE: foreign keys to the run hold KEY SHARE locks on its row, which a plain
        # FOR UPDATE would wait for (two workers → deadlock); NO KEY UPDATE coexists with them
        run = s.query(GenerationRun).filter_by(id=rid).with_for_update(key_share=True).populate_existing().one()
        _stop_if_ended(run.status)
        elapsed = time.perf_counter() - began
        chunk.status, chunk.variations, chunk.seconds, chunk.updated_at = "done", records.num_rows, elapsed, utcnow()
        run.rows_done += end - start
        run.variations += records.num_rows
        run.diff = {k: int((run.diff or {}).get(k, 0)) + v for k, v in diff.items()}
        run.figures = chunk_render.add_figures(run.figures, rendered.figures)  # every part is built by now
        remaining = s.query(GenerationChunk).filter(GenerationChunk.run_id == rid, GenerationChunk.status != "done",
                                                    GenerationChunk.index != index).count()
        if remaining == 0:
            mark = time.perf_counter()
            variation_store.finish_run(s, run)
            stages["finish"] = time.perf_counter() - mark
        mark = time.perf_counter()
    stages["commit"] = time.perf_counter() - mark
    return {"variations": records.num_rows, **diff}




class _RunEnded(Exception):
    """The run was cancelled or failed while this chunk rendered."""


def _stop_if_ended(status: str | None) -> None:
    if status in (None, "cancelled", "error"):
        raise _RunEnded(status or "run is gone")


def _fail_run(store: Store, ctx: Context, run_id: uuid.UUID, reason: str) -> None:
    with store.session_scope(ctx) as s:
        run = s.query(GenerationRun).filter_by(id=run_id).with_for_update().one_or_none()
        if run is None or run.status in ("done", "cancelled", "error"):
            return
        run.status, run.error, run.finished_at = "error", reason, utcnow()
        event_sources.run_ended(s, run, error=reason)
        s.query(GenerationChunk).filter(GenerationChunk.run_id == run_id, GenerationChunk.status.in_(("queued", "running", "failed"))).update(
            {"status": "cancelled"}, synchronize_session=False)
        cs = s.get(CampaignSet, run.campaign_set_id)
        if cs is not None:
            cs.status, cs.status_reason, cs.updated_at = "error", reason, utcnow()


def recover_run(settings: Settings, workspace_id: WorkspaceId, run_id: uuid.UUID) -> int:
    """Re-enqueue every unfinished chunk of a run (after a worker died); returns how many."""
    store = job_store()
    with store.session_scope(Context.job(workspace_id)) as s:
        run = s.get(GenerationRun, run_id)
        if run is None or run.status in ("done", "cancelled", "error"):
            return 0
        pending = s.query(GenerationChunk).filter(GenerationChunk.run_id == run_id, GenerationChunk.status != "done").all()
        for chunk in pending:
            chunk.status, chunk.updated_at = "queued", utcnow()  # queued again: the run is alive
        jobs = [(c.index, c.attempts) for c in pending]
    for index, attempts in jobs:
        submit(settings, run_chunk, str(workspace_id), str(run_id), index, queue_name="generation",
               job_id=f"gen-{run_id}-{index}-r{attempts}", retry=RETRY)
    return len(jobs)
