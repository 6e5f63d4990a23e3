"""Writing variations in bulk (COPY on Postgres) and idempotently: upsert by deterministic id."""

from __future__ import annotations

import io
import json
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any, cast

import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import Table, bindparam, case, delete, func, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from studio import event_sources
from studio.store.base import aware, utcnow
from studio.store.campaign_models import CampaignSet, GenerationRun, Variation
from studio.store.session import TenantSession

COLUMNS = ("id", "workspace_id", "campaign_set_id", "row_index", "variation_index", "fields", "title", "subreddit",
           "status", "valid", "problems", "edited", "content_hash", "tags", "groups", "run_id", "updated_at", "row_key")


class Records:
    """A chunk's store-ready records, produced part by part in a background thread.

    Each build renders a slice of the chunk's rows and turns its kept variations into records (ids,
    JSON, hashes in DuckDB; on Postgres also the CSV that COPY sends). The render of part N+1 then
    overlaps the write of part N (COPY and INSERT, waited for in Postgres): the worker and the database
    use a core each instead of taking turns, and only the first part's render is waited for.
    """

    def __init__(self, builds: Sequence[Callable[[], pa.Table]], *, csv: bool = False,
                 ready: Future[tuple[pa.Table, bytes | None]] | None = None) -> None:
        """`ready`: a first part built before (its builds come after it)."""
        self._taken = 0
        self._rows = 0
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="records")
        self._parts = [ready] if ready is not None else []
        self._parts += [self._pool.submit(built, build, csv=csv) for build in builds]

    def after(self, work: Callable[[], Any]) -> Future[Any]:
        """Run `work` in the background thread once every part is built (see chunk_render.look_ahead)."""
        future = self._pool.submit(work)
        self._pool.shutdown(wait=False)  # the thread ends after it
        return future

    @property
    def num_rows(self) -> int:
        """How many records the chunk has (known once every part was taken)."""
        if self._taken < len(self._parts):
            raise RuntimeError("the chunk's records are counted once every part was taken")
        return self._rows

    def parts(self, waited: dict[str, float] | None = None) -> Iterator[tuple[pa.Table, bytes | None]]:
        """(records, CSV or None) per part in order, each as soon as it is built (a build's error is raised
        here); the time spent waiting for them is added to `waited["waited"]`."""
        for index, part in enumerate(self._parts):
            mark = time.perf_counter()
            table, csv = part.result()
            if waited is not None:
                waited["waited"] = waited.get("waited", 0.0) + time.perf_counter() - mark
            if index >= self._taken:
                self._taken, self._rows = index + 1, self._rows + table.num_rows
            yield table, csv

    def close(self) -> None:
        """Drop the parts not started and wait for the one being built (whatever the chunk's outcome: the
        builds use the chunk's plan, which closes after this)."""
        for part in self._parts:
            part.cancel()
        self._pool.shutdown(wait=False)
        wait(self._parts)


def built(build: Callable[[], pa.Table], *, csv: bool) -> tuple[pa.Table, bytes | None]:
    """A part: the records `build` returns, with their CSV for COPY when `csv`."""
    table = build()
    return table, (encode_csv(table) if csv else None)


def encode_csv(records: pa.Table) -> bytes:
    """The varying columns as the CSV that `_copy` sends (written by Arrow, no per-row Python)."""
    missing = [c for c in VARYING if c not in records.column_names]
    if missing:
        raise ValueError(f"records lack the columns {missing}")
    buf = io.BytesIO()
    pacsv.write_csv(records.select(list(VARYING)), buf, pacsv.WriteOptions(include_header=False))
    return buf.getvalue()


def write_chunk(s: TenantSession, set_id: uuid.UUID, run_id: uuid.UUID, start: int, end: int,
                records: pa.Table | Records, *, overwrite_edits: bool, fresh: bool = False) -> dict[str, int]:
    """Replace the variations of rows [start, end) with `records`; edited ones survive unless overwritten.

    `fresh`: the set had no variation when the run started (migration 0023): every record is new, so they
    are inserted plainly, with nothing to read, compare or keep first. Otherwise even an empty row range
    upserts: a keyed set's variation may already exist at another row.
    Returns what changed: added, removed, changed, unchanged, kept_edits.
    """
    diff = {"added": 0, "changed": 0, "unchanged": 0, "removed": 0, "kept_edits": 0}
    parts = records.parts(s.info.get("stages")) if isinstance(records, Records) else [(records, None)]
    if fresh:
        for part, csv in parts:
            diff["added"] += part.num_rows
            if part.num_rows:
                _write(s, set_id, run_id, part, upsert=False, overwrite=overwrite_edits, csv=csv)
        return diff
    in_range = (Variation.campaign_set_id == set_id) & (Variation.row_index >= start) & (Variation.row_index < end)
    before = {str(r.id): (r.content_hash, r.edited)
              for r in s.execute(select(Variation.id, Variation.content_hash, Variation.edited).where(in_range))}
    if isinstance(records, Records):
        records = pa.concat_tables([part for part, _ in parts])
    new = dict(zip(records.column("id").to_pylist(), records.column("content_hash").to_pylist(), strict=True))
    for vid, digest in new.items():
        if vid not in before:
            diff["added"] += 1
        elif before[vid][0] == digest:
            diff["unchanged"] += 1
        elif before[vid][1] and not overwrite_edits:
            diff["kept_edits"] += 1
        else:
            diff["changed"] += 1
    gone = [uuid.UUID(i) for i, (_, edited) in before.items() if i not in new and (overwrite_edits or not edited)]
    diff["removed"] = len(gone)
    for i in range(0, len(gone), 1000):
        s.execute(delete(Variation).where(Variation.id.in_(gone[i:i + 1000])))
    if records.num_rows == 0:
        return diff
    _write(s, set_id, run_id, records, upsert=True, overwrite=overwrite_edits)
    if not overwrite_edits:  # kept edits learn what was generated now: a different hash marks a conflict
        kept = [{"vid": uuid.UUID(vid), "h": digest} for vid, digest in new.items() if vid in before and before[vid][1]]
        if kept:
            table = cast(Table, Variation.__table__)
            s.execute(table.update().where(table.c.id == bindparam("vid")).values(source_hash=bindparam("h")), kept)
    return diff


def _write(s: TenantSession, set_id: uuid.UUID, run_id: uuid.UUID, records: pa.Table, *, upsert: bool,
           overwrite: bool, csv: bytes | None = None) -> None:
    """`csv`: the records already encoded by `encode_csv` (Postgres), else they are encoded here."""
    if s.get_bind().dialect.name == "postgresql":
        _copy(s, set_id, run_id, encode_csv(records) if csv is None else csv, upsert=upsert, overwrite=overwrite)
    else:
        _sqlite_upsert(s, set_id, run_id, records, overwrite)


VARYING = ("id", "row_index", "variation_index", "fields", "title", "subreddit", "valid", "problems", "tags", "groups",
           "content_hash", "row_key")
"""The columns a chunk's records carry; the rest are the same for every row and travel as parameters."""


def _copy(s: TenantSession, set_id: uuid.UUID, run_id: uuid.UUID, csv: bytes, *, upsert: bool, overwrite: bool) -> None:
    """COPY the chunk as CSV (written by Arrow, no per-row Python) into a temp table, then one INSERT.

    Postgres refuses COPY FROM into a table under row-level security, so the rows land in a temp
    table first; the INSERT … SELECT into `variations` is checked by the policy like any other write.
    A fresh set's run (`upsert` false) inserts plainly: the chunk's row lock keeps other writers of
    this range out, and a concurrent writer of the same ids would fail the transaction on the primary
    key (the job retries and finds the chunk done) rather than lose or double anything.
    """
    stages = s.info.setdefault("stages", {})
    cur = s.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    varying = ", ".join(VARYING)
    mark = time.perf_counter()
    # only the varying columns, without the table's constraints (a temp table is private to this session)
    cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS _incoming_rows ON COMMIT DELETE ROWS AS "
                f"SELECT {varying} FROM variations WITH NO DATA")
    with cur.copy(f"COPY _incoming_rows ({varying}) FROM STDIN (FORMAT csv)") as copy:
        copy.write(csv)
    stages["copy_temp"] = stages.get("copy_temp", 0.0) + time.perf_counter() - mark
    mark = time.perf_counter()
    select_rows = (f"SELECT {varying}, %(ws)s, %(set)s, 'pending', false, %(run)s, %(now)s FROM _incoming_rows")
    into = f"INSERT INTO variations ({varying}, workspace_id, campaign_set_id, status, edited, run_id, updated_at) "
    params = {"ws": s.workspace_id, "set": set_id, "run": run_id, "now": utcnow()}
    if not upsert:
        cur.execute(into + select_rows, params)
    else:
        guard = "" if overwrite else "WHERE variations.edited = false"
        cur.execute(
            into + select_rows + " ON CONFLICT (id) DO UPDATE SET "
            "fields = EXCLUDED.fields, title = EXCLUDED.title, subreddit = EXCLUDED.subreddit, valid = EXCLUDED.valid, "
            "problems = EXCLUDED.problems, run_id = EXCLUDED.run_id, updated_at = EXCLUDED.updated_at, edited = false, "
            "tags = EXCLUDED.tags, groups = EXCLUDED.groups, row_index = EXCLUDED.row_index, row_key = EXCLUDED.row_key, "
            "status = CASE WHEN variations.content_hash = EXCLUDED.content_hash THEN variations.status ELSE 'pending' END, "
            f"content_hash = EXCLUDED.content_hash {guard}", params)
    stages["insert"] = stages.get("insert", 0.0) + time.perf_counter() - mark
    cur.execute("TRUNCATE _incoming_rows")


def _sqlite_upsert(s: TenantSession, set_id: uuid.UUID, run_id: uuid.UUID, records: pa.Table, overwrite: bool) -> None:
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for r in records.to_pylist():
        rows.append({**r, "id": uuid.UUID(r["id"]), "fields": json.loads(r["fields"]),
                     "tags": json.loads(r.get("tags") or "[]"), "groups": json.loads(r.get("groups") or "[]"),
                     "workspace_id": s.workspace_id,
                     "campaign_set_id": set_id, "status": "pending", "edited": False, "run_id": run_id, "updated_at": now})
    stmt = sqlite_insert(Variation)
    ex = stmt.excluded
    update = {
        "fields": ex.fields, "title": ex.title, "subreddit": ex.subreddit, "valid": ex.valid, "problems": ex.problems,
        "tags": ex.tags, "groups": ex.groups, "row_index": ex.row_index, "row_key": ex.row_key,
        "run_id": ex.run_id, "updated_at": ex.updated_at, "edited": False,
        "status": case((Variation.content_hash == ex.content_hash, Variation.status), else_="pending"),
        "content_hash": ex.content_hash,
    }
    where = None if overwrite else Variation.edited.is_(False)
    for i in range(0, len(rows), 5000):
        s.execute(stmt.on_conflict_do_update(index_elements=["id"], set_=update, where=where), rows[i:i + 5000])


def finish_run(s: TenantSession, run: GenerationRun) -> None:
    """All chunks done: the set is ready with its exact count."""
    cs = s.get(CampaignSet, run.campaign_set_id)
    diff = run.diff or {}
    if run.variations_before == 0:  # a fresh set: its chunks only inserted, and counted it (migration 0023)
        count = int(diff.get("added", 0))
    else:
        count = s.scalar(select(func.count()).select_from(Variation).where(Variation.campaign_set_id == run.campaign_set_id)) or 0
    run.status, run.finished_at = "done", utcnow()
    run.seconds = (run.finished_at - aware(run.started_at)).total_seconds()
    if cs is not None:
        cs.status, cs.status_reason, cs.variation_count, cs.updated_at = "ready", "", count, utcnow()
    from studio.billing import Metric, record_usage

    record_usage(s, Metric.VARIATIONS, run.variations, f"generation-run:{run.id}")
    event_sources.run_ended(s, run)


__all__ = ["COLUMNS", "Records", "built", "encode_csv", "finish_run", "write_chunk"]
