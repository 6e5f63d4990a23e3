"""Kept cell outputs: a notebook cell's last result (or error) stored with the hash of its query and the
data set versions it read, so a reload shows it and a changed query or a newer data set marks it stale.

What is kept is capped: the first KEEP_ROWS rows, and fewer when their Parquet passes KEEP_BYTES. The
page says so; "Run again" gives the full result (up to the run's own row limit).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
from sqlalchemy import select

from studio import datasets
from studio.context import Context, Permission
from studio.errors import NotFound
from studio.permissions import requires
from studio.store.base import aware, utcnow
from studio.store.notebook_models import NotebookCell, NotebookOutput
from studio.store.session import Store, TenantSession

KEEP_ROWS = 1_000
KEEP_BYTES = 1_000_000
KEEP_NOTE = f"kept up to the first {KEEP_ROWS:,} rows / {KEEP_BYTES // 1_000_000} MB"


def query_hash(kind: str, source: str, config: dict[str, Any]) -> str:
    """What ran: the kind, the text (whitespace-insensitive) and the settings that change the result
    (not the chart)."""
    settings = {k: v for k, v in (config or {}).items() if k != "chart"}
    payload = json.dumps([kind, " ".join(source.split()), settings], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def inputs(tables: Sequence[datasets.SqlTable], kind: str, source: str, config: dict[str, Any]) -> dict[str, int]:
    """The data sets a cell reads (data set id → current version): a group-by its chosen one, SQL every
    table whose name it mentions."""
    if kind == "group_by":
        wanted = str((config or {}).get("dataset_id") or "")
        return {str(t.dataset_id): t.version for t in tables if str(t.dataset_id) == wanted}
    if kind != "sql":
        return {}
    return {str(t.dataset_id): t.version for t in tables
            if re.search(rf"(?<![\w$]){re.escape(t.name)}(?![\w$])", source, flags=re.IGNORECASE)}


@dataclass(frozen=True)
class StoredOutput:
    table: pl.DataFrame | None  # None for an error
    error: str | None
    rows_kept: int
    rows_shown: int  # what the run returned
    truncated: bool  # the run itself stopped at its row limit
    elapsed_s: float
    source: dict[str, Any]
    ran_at: dt.datetime
    query_hash: str
    inputs: dict[str, int]

    @property
    def capped(self) -> bool:
        """Fewer rows are kept than the run returned."""
        return self.table is not None and self.rows_kept < self.rows_shown

    def stale_reason(self, kind: str, source: str, config: dict[str, Any],
                     tables: Sequence[datasets.SqlTable]) -> str | None:
        """Why this output no longer matches the cell (None: it does)."""
        if query_hash(kind, source, config) != self.query_hash:
            return "the cell changed since this ran"
        current = {str(t.dataset_id): t for t in tables}
        for dataset_id, version in self.inputs.items():
            t = current.get(dataset_id)
            if t is None:
                return "a data set it read has been deleted"
            if t.version != version:
                return f"{t.dataset_name!r} has a newer version (v{t.version}; this ran on v{version})"
        return None


def _parquet(table: pl.DataFrame) -> tuple[bytes, int]:
    """The first rows as Parquet, at most KEEP_ROWS and KEEP_BYTES; (bytes, rows kept)."""
    rows = min(table.height, KEEP_ROWS)
    while True:
        buf = io.BytesIO()
        table.head(rows).write_parquet(buf, compression="zstd")
        if buf.tell() <= KEEP_BYTES or rows == 0:
            return buf.getvalue(), rows
        rows //= 2


def _stored(row: NotebookOutput) -> StoredOutput:
    table = pl.read_parquet(io.BytesIO(row.content)) if row.content is not None and row.error is None else None
    return StoredOutput(table, row.error, row.rows_kept, row.rows_shown, row.truncated, row.elapsed_s,
                        dict(row.source or {}), aware(row.ran_at), row.query_hash, dict(row.inputs or {}))


def load(s: TenantSession, cell_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, StoredOutput]:
    """The kept outputs of these cells (in the session's workspace)."""
    ids = list(cell_ids)
    if not ids:
        return {}
    return {r.cell_id: _stored(r) for r in s.scalars(select(NotebookOutput).where(NotebookOutput.cell_id.in_(ids)))}


@requires(Permission.EDIT)
def save(store: Store, ctx: Context, cell_id: uuid.UUID, kind: str, source: str, config: dict[str, Any],
         outcome: Any, tables: Sequence[datasets.SqlTable]) -> StoredOutput:
    """Keep a cell's result (a notebooks.CellResult) or its error message (a str) in place of the last one."""
    error = outcome if isinstance(outcome, str) else None
    content, kept = (None, 0) if error is not None else _parquet(outcome.table)
    with store.session_scope(ctx) as s:
        if s.scalar(select(NotebookCell.id).where(NotebookCell.id == cell_id)) is None:
            raise NotFound("This cell does not exist (any more) in this workspace's notebook.")
        row = s.scalar(select(NotebookOutput).where(NotebookOutput.cell_id == cell_id))
        if row is None:
            row = NotebookOutput(cell_id=cell_id)
            s.add(row)
        row.query_hash = query_hash(kind, source, config)
        row.inputs = inputs(tables, kind, source, config)
        row.error, row.content, row.rows_kept = error, content, kept
        row.rows_shown = 0 if error is not None else outcome.table.height
        row.truncated = False if error is not None else bool(outcome.truncated)
        row.elapsed_s = 0.0 if error is not None else float(outcome.elapsed_s)
        row.source = {} if error is not None else dict(outcome.source)
        row.ran_by, row.ran_at = ctx.user_id, utcnow()
        s.flush()
        return _stored(row)
