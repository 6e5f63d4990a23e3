"""Generation jobs: one RQ job per chunk of rows; idempotent, resumable, cancellable."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import time
import uuid
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
from rq import Retry
from sqlalchemy import select

from engine.generation import Plan, build_plan
from engine.generation.diff import KEY, attach_keys, row_keys
from engine.generation.schema import ROW
from engine.generation.source import Source
from engine.platforms.ad_tree import DEDUP_FIGURE, duplicate_skeleton
from engine.templates.sql_values import quote_ident
from studio import datasets, event_sources
from studio.context import Context, WorkspaceId
from studio.errors import NotFound
from studio.logging_setup import logged_job
from studio.settings import Settings, load_settings
from studio.store.base import utcnow
from studio.store.campaign_models import CampaignSet, GenerationChunk, GenerationRun
from studio.store.session import Store
from workers import variation_store
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


def _kept(ledger: pa.Table) -> pa.Array:
    return pc.and_(pc.invert(ledger.column("__dropped")), pc.invert(ledger.column("__duplicate")))


def chunk_table(plan: Plan, start: int, end: int) -> pa.Table:
    """Exactly the bulk run's variations for rows [start, end)."""
    ledger = chunk_ledger(plan, start, end)
    return ledger.filter(_kept(ledger))


def ledger_figures(ledger: pa.Table, rows: int) -> dict[str, Any]:
    """The figures of a chunk, counted from its variations (the preview's PreviewStats.figures, per chunk)."""
    kept = _kept(ledger)
    fields = [n.removeprefix("__why_") for n in ledger.column_names if n.startswith("__why_")]

    def count(mask: pa.Array) -> int:
        return int(pc.sum(pc.cast(mask, pa.int64())).as_py() or 0)

    def has(name: str) -> pa.Array:
        return pc.is_valid(ledger.column(name))

    per: dict[str, dict[str, int]] = {"violations": {}, "fixed": {}, "problems": {}}
    for f in fields:
        why, left = has(f"__why_{f}"), has(f"__left_{f}")
        per["violations"][f] = count(why)
        per["fixed"][f] = count(pc.and_(pc.and_(why, pc.invert(left)), kept))
        per["problems"][f] = count(left)
    distinct_rows = len(pc.unique(ledger.column(ROW))) if ledger.num_rows else 0
    inline = {f"inline_{name.removeprefix('__il_')}": int(pc.sum(ledger.column(name)).as_py() or 0)
              for name in ("__il_possible", "__il_duplicates", "__il_capped") if name in ledger.column_names}
    return {**inline, "rows": rows, "skipped": rows - distinct_rows, "variations": ledger.num_rows,
            "over_limit": count(ledger.column("__dropped")), "duplicates": count(ledger.column("__duplicate")),
            "kept": count(kept), "valid": count(pc.and_(kept, pc.is_null(ledger.column("__violations")))), **per}


def dedup_figures(ledger: pa.Table) -> dict[str, Any]:
    """A paid set's ads that dedup removed are not stored, but their ad groups stay: the run records their
    skeleton (campaign, ad group, keywords → how many; engine/platforms/ad_tree.py), none when nothing was removed."""
    if "ad_group_name" not in ledger.column_names or not ledger.num_rows:
        return {}
    removed = ledger.filter(pc.and_(pc.invert(ledger.column("__dropped")), ledger.column("__duplicate")))
    if not removed.num_rows:
        return {}
    names = [n for n in ("campaign_name", "ad_group_name", "keywords") if n in ledger.column_names]
    return {DEDUP_FIGURE: duplicate_skeleton(removed.select(names).to_pylist())}


def add_figures(total: dict[str, Any] | None, part: dict[str, Any]) -> dict[str, Any]:
    """Run figures plus a chunk's (numbers add; per-field maps add field by field)."""
    out: dict[str, Any] = dict(total or {})
    for key, value in part.items():
        if isinstance(value, dict):
            into = dict(out.get(key) or {})
            for name, n in value.items():
                into[name] = int(into.get(name, 0)) + int(n)
            out[key] = into
        else:
            out[key] = int(out.get(key, 0)) + int(value)
    return out


@logged_job("generation.chunk")
def run_chunk(workspace_id: str, run_id: str, index: int) -> dict[str, Any]:
    """The job: claim the chunk, render it, write it (one transaction), advance the run."""
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
    began = time.perf_counter()
    stages: dict[str, float] = {}  # seconds per stage of this chunk (bench/bench_generation.py --profile)
    try:
        if dataset_id is None:
            raise NotFound("The data set was deleted.")
        table = prepared(datasets.load_table(store, ctx, dataset_id, version=version, local=True, keep=True))
    except NotFound:
        _fail_run(store, ctx, rid, "The data set of this campaign set was deleted while it was generating.")
        return {"error": "dataset deleted"}
    stages["load_table"] = time.perf_counter() - began
    with contextlib.ExitStack() as stack:
        try:
            plan = stack.enter_context(build_plan(table, config))
        except Exception as exc:
            _fail_run(store, ctx, rid, f"Generation failed on rows {start + 1:,}–{end:,}: {exc}")
            return {"error": str(exc)}
        keys = None
        if key_column is not None:  # ids by (set, key, variation): see variation_id
            # the whole data set's keys, once per kept version (per chunk it cost 0.9 s on 1M rows)
            keys = table.memo(("row_keys", key_column), lambda: row_keys(_key_frame(table, key_column), key_column))
        rendered = _Rendered(plan, start, end, start // index if index else end - start, set_id, keys, stages)
        records = variation_store.Records(rendered.builds(), csv=store.engine.dialect.name == "postgresql")
        stack.callback(records.close)  # before the plan closes: a part may still be rendering
        try:
            done = _write_chunk(store, ctx, rid, index, set_id, start, end, records, rendered, overwrite, began, stages)
        except _RenderFailed as failed:  # the write rolled back: nothing of this chunk is kept
            _fail_run(store, ctx, rid, f"Generation failed on rows {start + 1:,}–{end:,}: {failed.__cause__}")
            return {"error": str(failed.__cause__)}
        except _RunEnded as ended:
            with store.session_scope(ctx) as s:  # the write above rolled back: nothing of this chunk is kept
                s.query(GenerationChunk).filter(GenerationChunk.run_id == rid, GenerationChunk.index == index,
                                                GenerationChunk.status != "done").update({"status": "cancelled"})
            return {"skipped": str(ended)}
    return {**done, "stages": {k: round(v, 4) for k, v in stages.items()}}


PART_ROWS = 12_500
"""Rows a chunk renders at a time (the chunk's size divided evenly): the next part renders while this one is
written."""


def part_rows(chunk_rows: int) -> int:
    """The rows of a part of a chunk of `chunk_rows`: a divisor of it, so every chunk of a run splits at the same
    row numbers and dedup finds the keys of earlier parts under the same pieces (workers/chunk_ledger.py)."""
    parts = max(1, round(chunk_rows / PART_ROWS))
    while chunk_rows % parts:
        parts -= 1
    return chunk_rows // parts


class _Rendered:
    """A chunk's rows rendered part by part (each a build for variation_store.Records), with their figures."""

    def __init__(self, plan: Plan, start: int, end: int, chunk_rows: int, set_id: uuid.UUID, keys: Any,
                 stages: dict[str, float]) -> None:
        self.plan, self.start, self.end, self.set_id, self.keys, self.stages = plan, start, end, set_id, keys, stages
        self.step = part_rows(max(1, chunk_rows))
        self.figures: dict[str, Any] = {}
        # the parts of one chunk share one DuckDB instance and its thread pool instead of starting one each
        self._con = duckdb.connect(config={"enable_external_access": False})  # closed with its last reference

    def builds(self) -> list[functools.partial[pa.Table]]:
        # an empty chunk (a data set without rows) is one empty part: its figures are still recorded
        return [functools.partial(self._part, a, min(self.end, a + self.step))
                for a in range(self.start, max(self.end, self.start + 1), self.step)]

    def _part(self, a: int, b: int) -> pa.Table:
        mark = time.perf_counter()
        try:
            ledger = chunk_ledger(self.plan, a, b, piece=self.step)
            self.figures = add_figures(self.figures, {**ledger_figures(ledger, b - a), **dedup_figures(ledger)})
            if self.keys is not None:
                ledger = attach_keys(ledger, self.keys)
            rendered = time.perf_counter()
            out = _records(ledger.filter(_kept(ledger)), self.set_id, self._con)
        except Exception as exc:
            raise _RenderFailed() from exc
        self.stages["render"] = self.stages.get("render", 0.0) + rendered - mark
        self.stages["records"] = self.stages.get("records", 0.0) + time.perf_counter() - rendered
        return out


class _RenderFailed(Exception):
    """A part of the chunk could not be rendered (its cause says why)."""


def _write_chunk(store: Store, ctx: Context, rid: uuid.UUID, index: int, set_id: uuid.UUID, start: int, end: int,
                 records: variation_store.Records, rendered: _Rendered, overwrite: bool, began: float,
                 stages: dict[str, float]) -> dict[str, Any]:
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
        diff = variation_store.write_chunk(s, set_id, rid, start, end, records, overwrite_edits=overwrite)
        # FOR NO KEY UPDATE: foreign keys to the run hold KEY SHARE locks on its row, which a plain
        # FOR UPDATE would wait for (two workers → deadlock); NO KEY UPDATE coexists with them
        run = s.query(GenerationRun).filter_by(id=rid).with_for_update(key_share=True).populate_existing().one()
        _stop_if_ended(run.status)
        elapsed = time.perf_counter() - began
        chunk.status, chunk.variations, chunk.seconds, chunk.updated_at = "done", records.num_rows, elapsed, utcnow()
        run.rows_done += end - start
        run.variations += records.num_rows
        run.diff = {k: int((run.diff or {}).get(k, 0)) + v for k, v in diff.items()}
        run.figures = add_figures(run.figures, rendered.figures)
        remaining = s.query(GenerationChunk).filter(GenerationChunk.run_id == rid, GenerationChunk.status != "done",
                                                    GenerationChunk.index != index).count()
        if remaining == 0:
            mark = time.perf_counter()
            variation_store.finish_run(s, run)
            stages["finish"] = time.perf_counter() - mark
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


def _key_frame(source: Source, key_column: str) -> pl.DataFrame:
    """The key column of a prepared source (all its rows; an empty frame of that height without it)."""
    if key_column in source.table.column_names:
        return pl.from_arrow(source.table.select([key_column]))  # type: ignore[return-value]
    return pl.DataFrame({ROW: source.table.column(ROW)})


def _records(produced: pa.Table, set_id: uuid.UUID, con: Any = None) -> pa.Table:
    """Store-ready columns, computed in DuckDB over Arrow (no per-row Python): ids, JSON, hashes.

    `con`: a DuckDB connection to take a cursor of (the parts of one chunk share one database instance
    and its thread pool instead of starting one each); a private one without it."""
    import duckdb

    names = [n for n in produced.column_names if not n.startswith("__")]
    fields = ("to_json(struct_pack(" + ", ".join(f"{quote_ident(n)} := coalesce(CAST({quote_ident(n)} AS VARCHAR), '')" for n in names)
              + "))" if names else "'{}'")
    content = [n for n in names if n not in ("campaign_name", "ad_group_name", "ad_name", "keywords")] or names
    title_src = next((n for n in ("title", "headline", "headline_1", "primary_text", "text", "caption") if n in names),
                     content[0] if content else None)  # an RSA's title is its first headline, not its campaign's name
    title = f"coalesce(CAST({quote_ident(title_src)} AS VARCHAR), '')" if title_src else "''"
    sub_parts = [f'"{c}"' for c in ("subreddit", "__target_subreddit") if c in produced.column_names]
    subreddit = f"coalesce({', '.join(sub_parts)}, '')" if sub_parts else "''"
    violations = '"__violations"' if "__violations" in produced.column_names else "CAST(NULL AS VARCHAR)"
    fixes = '"__fixes"' if "__fixes" in produced.column_names else "CAST(NULL AS VARCHAR)"
    keyed = KEY in produced.column_names
    h = (f"md5('{set_id}:k:' || \"{KEY}\" || ':' || \"__variation\")" if keyed
         else f"md5('{set_id}:' || \"__row\" || ':' || \"__variation\")")
    row_key = f'"{KEY}"' if keyed else "CAST(NULL AS VARCHAR)"
    uid = (f"substr({h},1,8)||'-'||substr({h},9,4)||'-'||substr({h},13,4)||'-'||substr({h},17,4)||'-'||substr({h},21,12)")
    labels = {k: (f"CAST(to_json(coalesce(\"__{k}\", CAST([] AS VARCHAR[]))) AS VARCHAR)"
                  if f"__{k}" in produced.column_names else "'[]'") for k in ("tags", "groups")}
    sql = (f"SELECT {uid} AS id, \"__row\" AS row_index, \"__variation\" AS variation_index, {fields} AS fields, "
           f"substr({title}, 1, 1000) AS title, substr({subreddit}, 1, 64) AS subreddit, "
           f"({violations} IS NULL) AS valid, concat_ws('; ', {violations}, {fixes}) AS problems, "
           f"{labels['tags']} AS tags, {labels['groups']} AS groups, {row_key} AS row_key FROM produced")
    con = duckdb.connect(config={"enable_external_access": False}) if con is None else con.cursor()
    try:
        con.register("produced", produced)
        out = con.sql(f"SELECT *, md5(CAST(fields AS VARCHAR)) AS content_hash FROM ({sql})").to_arrow_table()
    finally:
        con.close()
    return out.cast(pa.schema([pa.field("id", pa.string()), pa.field("row_index", pa.int64()),
                               pa.field("variation_index", pa.int64()), pa.field("fields", pa.string()),
                               pa.field("title", pa.string()), pa.field("subreddit", pa.string()),
                               pa.field("valid", pa.bool_()), pa.field("problems", pa.string()),
                               pa.field("tags", pa.string()), pa.field("groups", pa.string()),
                               pa.field("row_key", pa.string()), pa.field("content_hash", pa.string())]))


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
