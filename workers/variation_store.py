"""Writing variations in bulk (COPY on Postgres) and idempotently: upsert by deterministic id."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from studio.store.base import utcnow
from studio.store.campaign_models import CampaignSet, GenerationRun, Variation
from studio.store.session import TenantSession

COLUMNS = ("id", "workspace_id", "campaign_set_id", "row_index", "variation_index", "fields", "title", "subreddit",
           "status", "valid", "problems", "edited", "content_hash", "run_id", "updated_at")


@dataclass(frozen=True)
class Record:
    id: uuid.UUID
    row_index: int
    variation_index: int
    fields: dict[str, Any]
    title: str
    subreddit: str
    valid: bool
    problems: str
    content_hash: str
    run_id: uuid.UUID


def write_chunk(s: TenantSession, set_id: uuid.UUID, start: int, end: int, records: list[Record], *,
                overwrite_edits: bool) -> dict[str, int]:
    """Replace the variations of rows [start, end) with `records`; edited ones survive unless overwritten.

    Returns what changed: added, removed, changed, unchanged, kept_edits.
    """
    in_range = (Variation.campaign_set_id == set_id) & (Variation.row_index >= start) & (Variation.row_index < end)
    before = {r.id: (r.content_hash, r.edited) for r in s.execute(select(Variation.id, Variation.content_hash, Variation.edited).where(in_range))}
    new_ids = {r.id for r in records}
    kept_edits = sum(1 for r in records if r.id in before and before[r.id][1] and before[r.id][0] != r.content_hash and not overwrite_edits)
    diff = {
        "added": sum(1 for r in records if r.id not in before),
        "changed": sum(1 for r in records if r.id in before and before[r.id][0] != r.content_hash) - kept_edits,
        "unchanged": sum(1 for r in records if r.id in before and before[r.id][0] == r.content_hash),
        "removed": sum(1 for i, (_, edited) in before.items() if i not in new_ids and (overwrite_edits or not edited)),
        "kept_edits": kept_edits,
    }
    gone = [i for i, (_, edited) in before.items() if i not in new_ids and (overwrite_edits or not edited)]
    for i in range(0, len(gone), 1000):
        s.execute(delete(Variation).where(Variation.id.in_(gone[i:i + 1000])))
    if s.get_bind().dialect.name == "postgresql":
        _copy_upsert(s, set_id, records, overwrite_edits)
    else:
        _sqlite_upsert(s, set_id, records, overwrite_edits)
    return diff


def _row(s: TenantSession, set_id: uuid.UUID, r: Record) -> tuple[Any, ...]:
    return (r.id, s.workspace_id, set_id, r.row_index, r.variation_index, json.dumps(r.fields, ensure_ascii=False),
            r.title, r.subreddit, "pending", r.valid, r.problems, False, r.content_hash, r.run_id, utcnow())


def _copy_upsert(s: TenantSession, set_id: uuid.UUID, records: list[Record], overwrite: bool) -> None:
    cur = s.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    cols = ", ".join(COLUMNS)
    cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS _incoming (LIKE variations INCLUDING DEFAULTS) ON COMMIT DELETE ROWS")
    with cur.copy(f"COPY _incoming ({cols}) FROM STDIN") as copy:
        for r in records:
            copy.write_row(_row(s, set_id, r))
    guard = "" if overwrite else "WHERE variations.edited = false"
    cur.execute(
        f"INSERT INTO variations ({cols}) SELECT {cols} FROM _incoming "
        "ON CONFLICT (id) DO UPDATE SET fields = EXCLUDED.fields, title = EXCLUDED.title, subreddit = EXCLUDED.subreddit, "
        "valid = EXCLUDED.valid, problems = EXCLUDED.problems, run_id = EXCLUDED.run_id, updated_at = EXCLUDED.updated_at, "
        "edited = false, status = CASE WHEN variations.content_hash = EXCLUDED.content_hash THEN variations.status ELSE 'pending' END, "
        f"content_hash = EXCLUDED.content_hash {guard}"
    )
    cur.execute("TRUNCATE _incoming")


def _sqlite_upsert(s: TenantSession, set_id: uuid.UUID, records: list[Record], overwrite: bool) -> None:
    if not records:
        return
    rows = [dict(zip(COLUMNS, _row(s, set_id, r), strict=True)) | {"fields": r.fields} for r in records]
    stmt = sqlite_insert(Variation)
    ex = stmt.excluded
    from sqlalchemy import case

    update = {
        "fields": ex.fields, "title": ex.title, "subreddit": ex.subreddit, "valid": ex.valid, "problems": ex.problems,
        "run_id": ex.run_id, "updated_at": ex.updated_at, "edited": False,
        "status": case((Variation.content_hash == ex.content_hash, Variation.status), else_="pending"),
        "content_hash": ex.content_hash,
    }
    where = None if overwrite else (Variation.edited.is_(False))
    s.execute(stmt.on_conflict_do_update(index_elements=["id"], set_=update, where=where), rows)


def finish_run(s: TenantSession, run: GenerationRun) -> None:
    """All chunks done: the set is ready with its exact count."""
    cs = s.get(CampaignSet, run.campaign_set_id)
    count = s.scalar(select(func.count()).select_from(Variation).where(Variation.campaign_set_id == run.campaign_set_id)) or 0
    run.status, run.finished_at = "done", utcnow()
    started = run.started_at if run.started_at.tzinfo else run.started_at.replace(tzinfo=run.finished_at.tzinfo)
    run.seconds = (run.finished_at - started).total_seconds()
    if cs is not None:
        cs.status, cs.status_reason, cs.variation_count, cs.updated_at = "ready", "", count, utcnow()
