"""The workspace's data sets as the explore notebook's SQL sees them: one table each, by a SQL-friendly name,
with the Parquet bytes of its current version (never another workspace's)."""

from __future__ import annotations

import functools
import re
import uuid
from dataclasses import dataclass
from typing import Any

import duckdb
from sqlalchemy import select

from engine.ingest import ColumnProfile, snake_case
from studio.context import Context, Permission
from studio.dataset_versions import _column_profile
from studio.permissions import requires
from studio.storage import blob_store
from studio.store.models import Dataset, DatasetVersion
from studio.store.session import Store, TenantSession


@dataclass(frozen=True)
class SqlTable:
    """A data set as the notebook's SQL sees it: a table by a SQL-friendly name."""

    name: str
    dataset_id: uuid.UUID
    dataset_name: str
    version: int
    row_count: int
    columns: tuple[ColumnProfile, ...]
    source: dict[str, Any] | None  # how a derived data set was made, None for an upload


@functools.cache
def _reserved_words() -> frozenset[str]:
    with duckdb.connect() as con:
        rows = con.execute("SELECT keyword_name FROM duckdb_keywords() WHERE keyword_category = 'reserved'").fetchall()
    return frozenset(str(r[0]).lower() for r in rows)


def sql_table_name(name: str) -> str:
    """A data set's name as a bare SQL identifier: `Demo products (2)` → `demo_products_2`."""
    base = re.sub(r"[^0-9a-z_]+", "_", snake_case(name)).strip("_")
    base = (base[4:] if base.startswith("col_") and not name.lower().lstrip().startswith("col") else base)[:60]
    base = base or "data_set"
    if base[0].isdigit():
        base = f"t_{base}"
    return f"{base}_data" if base in _reserved_words() else base


def _sql_tables(s: TenantSession) -> list[tuple[SqlTable, DatasetVersion]]:
    rows = s.execute(
        select(Dataset, DatasetVersion)
        .join(DatasetVersion, (DatasetVersion.dataset_id == Dataset.id) & (DatasetVersion.version == Dataset.current_version))
        .order_by(Dataset.created_at, Dataset.id)  # oldest first keeps a name stable when a newer one collides
    ).all()
    taken: set[str] = set()
    out: list[tuple[SqlTable, DatasetVersion]] = []
    for ds, v in rows:
        base = name = sql_table_name(ds.name)
        n = 2
        while name in taken:
            name, n = f"{base}_{n}", n + 1
        taken.add(name)
        columns = tuple(_column_profile(c) for c in v.columns)
        source = (v.info or {}).get("derived")
        out.append((SqlTable(name, ds.id, ds.name, v.version, v.row_count, columns,
                             dict(source) if isinstance(source, dict) else None), v))
    return sorted(out, key=lambda pair: pair[0].name)


@requires(Permission.VIEW)
def sql_tables(store: Store, ctx: Context) -> list[SqlTable]:
    """The workspace's data sets as SQL tables, by name."""
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        return [t for t, _ in _sql_tables(s)]


@requires(Permission.VIEW)
def current_parquet(store: Store, ctx: Context) -> dict[str, bytes]:
    """SQL table name → Parquet bytes of the current version, for this workspace's data sets only."""
    blobs = blob_store(store.settings)
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        return {t.name: blobs.get(s, v.storage_key) for t, v in _sql_tables(s)}
