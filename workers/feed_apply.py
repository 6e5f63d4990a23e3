"""Following the data (issue 19): diff a set against a new data set version, and apply the diff.

Applying is generation's machinery turned to a diff: one job per chunk of the new version's rows,
each claimed under its row lock and written in one transaction with its `done` mark, so a chunk is
applied exactly once whatever dies when; `recover` queues the unfinished ones again. A chunk renders
its rows exactly as a run would (chunk_ledger + chunk_render.records_of) and writes only what differs from the
store: new variations, variations whose text changed, positions that moved, conflicts of hand edits,
and pauses of variations the new data no longer produces. Applying twice writes nothing the second time.
"""

from __future__ import annotations

import itertools
import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any, cast

import pyarrow as pa
import pyarrow.compute as pc
from rq import Retry
from sqlalchemy import CursorResult, Table, Text, any_, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY

from engine.generation import build_plan
from engine.generation.diff import attach_keys, render_plan, row_keys, rows_independent
from studio import datasets, set_follow
from studio.context import Context, WorkspaceId
from studio.errors import NotFound
from studio.logging_setup import logged_job
from studio.publishing import outbox
from studio.settings import Settings
from studio.store.base import utcnow
from studio.store.campaign_models import CampaignSet, Variation
from studio.store.follow_models import FeedApplyChunk, FeedDiff, FollowConflict
from studio.store.publishing_models import PublishItem
from studio.store.session import Store, TenantSession
from workers import variation_store
from workers.chunk_ledger import chunk_ledger, prepared
from workers.chunk_render import kept, key_frame, records_of
from workers.generation import job_store
from workers.queues import submit

log = logging.getLogger(__name__)
RETRY = Retry(max=3, interval=[2, 10, 30])
QUEUE = "generation"
WAITING = ("scheduled", "retry_later")
CHECKPOINTS: list[Callable[[str], None]] = []
"""Observers of the steps of a chunk (tests kill the process at one of them)."""


def checkpoint(step: str) -> None:
    for observer in CHECKPOINTS:
        observer(step)


def enqueue_prepare(settings: Settings, workspace_id: WorkspaceId, dataset_id: uuid.UUID, version: int) -> None:
    submit(settings, prepare_diffs, str(workspace_id), str(dataset_id), queue_name=QUEUE,
           job_id=f"follow-{dataset_id}-v{version}", retry=RETRY)


def enqueue_apply(store: Store, workspace_id: WorkspaceId, diff_id: uuid.UUID) -> None:
    """One job per unfinished chunk (ids carry the attempt: a chunk queued again after a crash is a new job)."""
    with store.session_scope(Context.job(workspace_id)) as s:
        pending = [(c.index, c.attempts) for c in s.scalars(select(FeedApplyChunk).where(
            FeedApplyChunk.diff_id == diff_id, FeedApplyChunk.status != "done").order_by(FeedApplyChunk.index))]
    for index, attempts in pending:
        submit(store.settings, apply_chunk, str(workspace_id), str(diff_id), index, queue_name=QUEUE,
               job_id=f"apply-{diff_id}-{index}-r{attempts}", retry=RETRY)


def recover(store: Store, workspace_id: WorkspaceId, diff_id: uuid.UUID) -> int:
    """Queue a diff's unfinished chunks again (a worker died mid-apply); returns how many."""
    with store.session_scope(Context.job(workspace_id)) as s:
        d = s.get(FeedDiff, diff_id)
        if d is None or d.status != "applying":
            return 0
        n = s.scalar(select(func.count()).select_from(FeedApplyChunk).where(
            FeedApplyChunk.diff_id == diff_id, FeedApplyChunk.status != "done")) or 0
    enqueue_apply(store, workspace_id, diff_id)
    return n


@logged_job("follow.prepare")
def prepare_diffs(workspace_id: str, dataset_id: str) -> dict[str, Any]:
    """The job after a new version: a diff for every set following the data set."""
    store = job_store()
    ctx = Context.job(WorkspaceId(uuid.UUID(workspace_id)))
    made: list[str] = []
    failed: dict[str, str] = {}
    for set_id in set_follow.following_sets(store, ctx, uuid.UUID(dataset_id)):
        try:
            diff_id = set_follow.prepare(store, ctx, set_id)
        except Exception as exc:  # one set's failure (its data set deleted, a template error) leaves the others
            log.warning("diff of campaign set %s failed: %s", set_id, exc)
            failed[str(set_id)] = str(exc)
            continue
        if diff_id is not None:
            made.append(str(diff_id))
    return {"diffs": made, "failed": failed}


@logged_job("follow.apply_chunk")
def apply_chunk(workspace_id: str, diff_id: str, index: int) -> dict[str, Any]:
    """The job: claim the chunk, render its rows of the new version, write what differs, advance the diff."""
    store = job_store()
    did = uuid.UUID(diff_id)
    ctx = Context.job(WorkspaceId(uuid.UUID(workspace_id)))
    with store.session_scope(ctx) as s:
        chunk = s.scalar(select(FeedApplyChunk).where(FeedApplyChunk.diff_id == did, FeedApplyChunk.index == index)
                         .with_for_update())
        d = s.get(FeedDiff, did)
        if chunk is None or d is None:
            return {"skipped": "diff is gone"}
        if chunk.status == "done":
            return {"skipped": "already done"}
        if d.status != "applying":
            return {"skipped": d.status}
        chunk.status, chunk.attempts, chunk.updated_at = "running", chunk.attempts + 1, utcnow()
        cs = s.get(CampaignSet, d.campaign_set_id)
        assert cs is not None
        set_id, config, key_column, dataset_id = cs.id, dict(cs.config), cs.key_column, d.dataset_id
        version, old_version, start, end = d.to_version, d.from_version, chunk.row_start, chunk.row_end
    marks = [time.perf_counter()]  # load, render, records, write: seconds of each (the bench prints them)
    try:
        if dataset_id is None:
            raise NotFound("The data set was deleted.")
        frame = datasets.load_table(store, ctx, dataset_id, version=version, local=True, keep=True)
        source = prepared(frame)
        keys = (source.memo(("row_keys", key_column), lambda: row_keys(key_frame(source, key_column), key_column))
                if key_column else None)
        moves: tuple[list[str], list[int]] = ([], [])
        if rows_independent(config):  # only the rows whose values changed are rendered again
            old = datasets.load_table(store, ctx, dataset_id, version=old_version, local=True, keep=True)
            plan_rows = source.memo(("render_plan", old_version, key_column), lambda: render_plan(old, frame, key_column))
            rows = plan_rows.render_in(start, end)
            moves = plan_rows.moved_in(start, end) if key_column else ([], [])
            table = _rows_of(source.table, rows.to_pylist())
        else:  # a row's text may depend on other rows (dedup keeps the first): the chunk's rows, all of them
            rows = pa.array(range(start, end), pa.int64())
            table = source.table.slice(start, end - start)
        marks.append(time.perf_counter())
        with build_plan(source, config) as plan:
            ledger = (chunk_ledger(plan, start, end) if not rows_independent(config)
                      else plan.query(plan.compiled.ledger_sql(), table))
        marks.append(time.perf_counter())
        if keys is not None:
            ledger = attach_keys(ledger, keys)
        records = records_of(ledger.filter(kept(ledger)), set_id)
        marks.append(time.perf_counter())
    except Exception as exc:
        _fail(store, ctx, did, f"Applying failed on rows {start + 1:,}–{end:,}: {exc}")
        return {"error": str(exc)}
    chunk_keys = pc.take(keys.to_arrow(), rows).to_pylist() if keys is not None else None
    with store.session_scope(ctx) as s:
        chunk = s.scalar(select(FeedApplyChunk).where(FeedApplyChunk.diff_id == did, FeedApplyChunk.index == index)
                         .with_for_update())
        assert chunk is not None
        if chunk.status == "done":
            return {"skipped": "already done"}
        written = apply_records(s, set_id, did, records, rows=rows.to_pylist(), chunk_keys=chunk_keys)
        written["moved"] += move(s, set_id, *moves)
        checkpoint("written")
        d = s.scalar(select(FeedDiff).where(FeedDiff.id == did).with_for_update().execution_options(populate_existing=True))
        assert d is not None
        if d.status != "applying":  # dismissed or failed meanwhile: roll this chunk back
            s.rollback()
            return {"skipped": "diff ended"}
        chunk.status, chunk.written, chunk.updated_at = "done", sum(written.values()), utcnow()
        d.result = {k: int((d.result or {}).get(k, 0)) + v for k, v in written.items()}
        remaining = s.scalar(select(func.count()).select_from(FeedApplyChunk).where(
            FeedApplyChunk.diff_id == did, FeedApplyChunk.status != "done", FeedApplyChunk.index != index)) or 0
        if remaining == 0:
            finish(s, d)
    marks.append(time.perf_counter())
    stages = dict(zip(("load", "render", "records", "write"), (round(b - a, 3) for a, b in itertools.pairwise(marks))))
    return {"written": written, "seconds": stages}


def _stored(s: TenantSession, set_id: uuid.UUID, *, rows: list[int],
            chunk_keys: list[str] | None) -> dict[str, tuple[Any, ...]]:
    """The stored variations of the rendered rows: by key (keyed sets) or by position."""
    cols = (Variation.id, Variation.row_index, Variation.content_hash, Variation.edited, Variation.status,
            Variation.source_hash)
    out: dict[str, tuple[Any, ...]] = {}
    if not rows:
        return out
    if chunk_keys is None:
        found = s.execute(select(*cols).where(Variation.campaign_set_id == set_id, Variation.row_index >= rows[0],
                                              Variation.row_index <= rows[-1], Variation.row_key.is_(None))).all()
        wanted = set(rows)
        return {str(r[0]): tuple(r) for r in found if r[1] in wanted}
    if s.get_bind().dialect.name == "postgresql":  # one scan of the set's rows against a hashed array of keys
        keys = bindparam("keys", chunk_keys, type_=ARRAY(Text()))
        found = s.execute(select(*cols).where(Variation.campaign_set_id == set_id, Variation.row_key == any_(keys))).all()
        return {str(r[0]): tuple(r) for r in found}
    for i in range(0, len(chunk_keys), 2000):
        found = s.execute(select(*cols).where(Variation.campaign_set_id == set_id,
                                              Variation.row_key.in_(chunk_keys[i:i + 2000]))).all()
        out.update({str(r[0]): tuple(r) for r in found})
    return out


def apply_records(s: TenantSession, set_id: uuid.UUID, diff_id: uuid.UUID, records: pa.Table, *, rows: list[int],
                  chunk_keys: list[str] | None) -> dict[str, int]:
    """Write what differs between the fresh `records` of the rendered `rows` (ascending positions in the
    new version; `chunk_keys` their keys, None for a set without a key) and the store; counts per kind."""
    stored = _stored(s, set_id, rows=rows, chunk_keys=chunk_keys)
    ids = records.column("id").to_pylist()
    hashes = records.column("content_hash").to_pylist()
    rows = records.column("row_index").to_pylist()
    write_mask: list[bool] = []
    updates: list[dict[str, Any]] = []
    conflicts: list[int] = []
    n = {"inserted": 0, "rewritten": 0, "moved": 0, "restored": 0, "conflicts": 0, "paused": 0, "cancelled_items": 0}
    for i, (vid, digest, row) in enumerate(zip(ids, hashes, rows, strict=True)):
        st = stored.get(vid)
        write = False
        if st is None:
            n["inserted"] += 1
            write = True
        else:
            _, at, content_hash, edited, status, source_hash = st
            status_to = "pending" if status == "paused" else status
            if edited:  # the edit stays; the store learns what the data generates now (a conflict when new)
                source_to = source_hash
                if digest != content_hash and digest != source_hash:
                    conflicts.append(i)
                    source_to = digest
                elif digest == content_hash and source_hash not in ("", digest):
                    source_to = digest  # the data came back to what the edit started from
                if (source_to, status_to, row) != (source_hash, status, at):
                    updates.append({"vid": uuid.UUID(vid), "r": row, "st": status_to, "sh": source_to})
                    if i not in conflicts[-1:]:
                        n["restored" if status_to != status else "moved"] += 1
            elif digest != content_hash:
                n["rewritten"] += 1
                write = True
                if status == "paused":
                    updates.append({"vid": uuid.UUID(vid), "r": row, "st": "pending", "sh": source_hash})
            elif status == "paused" or row != at:
                n["restored" if status == "paused" else "moved"] += 1
                updates.append({"vid": uuid.UUID(vid), "r": row, "st": status_to, "sh": source_hash})
        write_mask.append(write)
    if any(write_mask):
        variation_store._write(s, set_id, diff_id, records.filter(pa.array(write_mask)), upsert=True, overwrite=False)
    if updates:
        table = cast(Table, Variation.__table__)
        s.execute(table.update().where(table.c.id == bindparam("vid"))
                  .values(row_index=bindparam("r"), status=bindparam("st"), source_hash=bindparam("sh"),
                          updated_at=utcnow()), updates)
    if conflicts:
        picked = records.take(pa.array(conflicts, pa.int64()))
        s.add_all([FollowConflict(diff_id=diff_id, campaign_set_id=set_id, variation_id=uuid.UUID(r["id"]),
                                  row_key=r["row_key"], fields=json.loads(r["fields"]), title=r["title"] or "",
                                  content_hash=r["content_hash"]) for r in picked.to_pylist()])
        n["conflicts"] = len(conflicts)
    fresh = set(ids)
    gone = [uuid.UUID(vid) for vid, st in stored.items() if vid not in fresh and st[4] != "paused"]
    paused, cancelled = pause(s, gone)
    n["paused"] += paused
    n["cancelled_items"] += cancelled
    return n


def _rows_of(table: pa.Table, rows: list[int]) -> pa.Table:
    """The given ascending rows, as zero-copy slices of runs (take has no kernel for string views)."""
    parts: list[pa.Table] = []
    i = 0
    while i < len(rows):
        j = i
        while j + 1 < len(rows) and rows[j + 1] == rows[j] + 1:
            j += 1
        parts.append(table.slice(rows[i], j - i + 1))
        i = j + 1
    return pa.concat_tables(parts) if parts else table.slice(0, 0)


def move(s: TenantSession, set_id: uuid.UUID, keys: list[str], rows: list[int]) -> int:
    """Unchanged rows at a new position: their variations' row_index follows (a keyed set's only write)."""
    if not keys:
        return 0
    table = cast(Table, Variation.__table__)
    stmt = table.update().where(table.c.campaign_set_id == set_id, table.c.row_key == bindparam("k"),
                                table.c.row_index != bindparam("r")).values(row_index=bindparam("r"))
    s.execute(stmt, [{"k": k, "r": r} for k, r in zip(keys, rows, strict=True)])
    return len(keys)


def pause(s: TenantSession, variation_ids: list[uuid.UUID]) -> tuple[int, int]:
    """Pause variations the data no longer produces and cancel their unposted scheduled items."""
    if not variation_ids:
        return 0, 0
    table = cast(Table, Variation.__table__)
    paused = cancelled = 0
    for i in range(0, len(variation_ids), 1000):
        part = variation_ids[i:i + 1000]
        done = cast(CursorResult[Any], s.execute(table.update().where(table.c.id.in_(part), table.c.status != "paused")
                                                 .values(status="paused", updated_at=utcnow())))
        paused += done.rowcount or 0
        items = s.scalars(select(PublishItem).where(PublishItem.variation_id.in_(part), PublishItem.state.in_(WAITING))
                          .with_for_update()).all()
        for item in items:
            replies = s.scalars(select(PublishItem).where(PublishItem.parent_item_id == item.id,
                                                          PublishItem.state.in_(WAITING))).all()
            for it in (item, *replies):
                outbox.move(s, it, "cancelled", "its data row was removed from the data set",
                            reason="Cancelled: the row this was generated from is no longer in the data.")
                cancelled += 1
    return paused, cancelled


def finish(s: TenantSession, d: FeedDiff) -> None:
    """The last chunk: pause what the removed rows generated, move the set to the new version."""
    cs = s.get(CampaignSet, d.campaign_set_id)
    assert cs is not None
    if d.key_column is not None:
        keys = [str(k) for k, _ in (d.removed or [])]
        gone: list[uuid.UUID] = []
        for i in range(0, len(keys), 2000):
            gone += list(s.scalars(select(Variation.id).where(Variation.campaign_set_id == cs.id,
                                                              Variation.row_key.in_(keys[i:i + 2000]),
                                                              Variation.status != "paused")))
    else:
        rows = d.counts.get("added", 0) + d.counts.get("changed", 0) + d.counts.get("unchanged", 0)
        gone = list(s.scalars(select(Variation.id).where(Variation.campaign_set_id == cs.id, Variation.row_index >= rows,
                                                         Variation.row_key.is_(None), Variation.status != "paused")))
    paused, cancelled = pause(s, gone)
    result = dict(d.result or {})
    result["paused"] = int(result.get("paused", 0)) + paused
    result["cancelled_items"] = int(result.get("cancelled_items", 0)) + cancelled
    d.result, d.status, d.finished_at = result, "applied", utcnow()
    count = s.scalar(select(func.count()).select_from(Variation).where(Variation.campaign_set_id == cs.id)) or 0
    cs.dataset_version, cs.variation_count, cs.updated_at = d.to_version, count, utcnow()
    cs.status, cs.status_reason = "ready", ""


def _fail(store: Any, ctx: Context, diff_id: uuid.UUID, reason: str) -> None:
    with store.session_scope(ctx) as s:
        d = s.scalar(select(FeedDiff).where(FeedDiff.id == diff_id).with_for_update())
        if d is None or d.status != "applying":
            return
        d.status, d.error, d.finished_at = "error", reason, utcnow()
        cs = s.get(CampaignSet, d.campaign_set_id)
        if cs is not None:
            cs.status, cs.status_reason, cs.updated_at = "ready", reason, utcnow()


__all__ = ["apply_chunk", "apply_records", "enqueue_apply", "enqueue_prepare", "finish", "pause", "prepare_diffs",
           "recover"]
