"""Data sets: upload (ingest → Parquet version), list, preview, rename, replace, delete.

How a version is stored lives in studio.dataset_versions; the notebook's side of data sets in studio.sql_tables
(data sets as SQL tables) and studio.derived_datasets (results saved as data sets); their public names are
importable from here too.
"""

from __future__ import annotations

import contextlib
import io
import uuid
from dataclasses import dataclass
from typing import Any

import polars as pl
from sqlalchemy import func, select

from engine.ingest import ColumnProfile, IngestOptions
from studio import audit
from studio.context import Context, Permission
from studio.dataset_versions import (
    MAX_NAME,
    DatasetSummary,
    VersionInfo,
    _append,
    _column_profile,
    _create,
    _current,
    _default_name,
    _get,
    _ingest,
    _summary,
    _summary_of,
    _valid_name,
    content_hash,
)
from studio.derived_datasets import DERIVED_SOURCE, MAX_DERIVED_ROWS, derived_source, refresh_derived, save_derived
from studio.errors import ValidationFailed
from studio.naming import check_printable
from studio.permissions import requires
from studio.sql_tables import SqlTable, current_parquet, sql_table_name, sql_tables
from studio.storage import blob_store, in_memory, local_file
from studio.store.base import utcnow
from studio.store.models import Dataset, DatasetVersion
from studio.store.rerun import per_rerun
from studio.store.session import Store

__all__ = [  # the public names, with those that live in the sibling modules
    "DERIVED_SOURCE", "MAX_DERIVED_ROWS", "MAX_NAME", "DatasetDetail", "DatasetSummary", "Duplicate", "SqlTable",
    "VersionInfo", "content_hash", "current_parquet", "delete", "derived_source", "find_duplicate", "get_dataset",
    "list_datasets", "load_table", "refresh_derived", "rename", "replace", "save_derived", "sql_table_name",
    "sql_tables", "upload",
]


@dataclass(frozen=True)
class DatasetDetail:
    summary: DatasetSummary
    columns: tuple[ColumnProfile, ...]
    versions: tuple[VersionInfo, ...]
    info: dict[str, Any]


@requires(Permission.EDIT)
def upload(store: Store, ctx: Context, filename: str, data: bytes, *, name: str | None = None,
           sheet: str | None = None, options: IngestOptions | None = None) -> DatasetSummary:
    """Ingest a file into a new data set (version 1). Bad input raises before anything is stored.

    `options`: a header-less file, nested-data flattening, keeping formatted text (engine IngestOptions)."""
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
    check_printable(name or "", "data set")
    result = _ingest(store, filename, data, sheet, options)
    blobs = blob_store(store.settings)
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        wanted = (name or "").strip() or _default_name(filename)
        ds = _create(s, blobs, wanted, filename, result, ctx, content_hash=content_hash(data), options=options)
        audit.record(s, "dataset.upload", object_type="dataset", object_id=ds.id,
                     summary=f"Uploaded {filename!r} as {ds.name!r} ({result.row_count:,} rows)")
        return _summary(ds, s)


@requires(Permission.EDIT)
def replace(store: Store, ctx: Context, dataset_id: uuid.UUID, filename: str, data: bytes, *,
            sheet: str | None = None, options: IngestOptions | None = None) -> DatasetSummary:
    """Upload a new version; earlier versions are kept. Without `options`, the current version's are reused."""
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        ds = _get(s, dataset_id)
        if options is None:
            options = IngestOptions.from_dict((_current(s, ds).info or {}).get("options"))
    result = _ingest(store, filename, data, sheet, options)
    blobs = blob_store(store.settings)
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        ds = _get(s, dataset_id, lock=True)
        _append(s, blobs, ds, filename, result, ctx, content_hash=content_hash(data), options=options)
        audit.record(s, "dataset.replace", object_type="dataset", object_id=ds.id,
                     summary=f"Replaced {ds.name!r} with {filename!r} (version {ds.current_version})")
        summary = _summary(ds, s)
    from studio import set_follow

    set_follow.version_added(store, ctx, dataset_id)  # campaign sets following it get a diff (issue 19)
    return summary


@dataclass(frozen=True)
class Duplicate:
    """An existing data set version whose uploaded bytes are the same as a new upload's."""

    dataset_id: uuid.UUID
    name: str
    version: int
    current: bool  # the data set's current version (not an older one)


@requires(Permission.VIEW)
def find_duplicate(store: Store, ctx: Context, data: bytes) -> Duplicate | None:
    """The data set version already holding exactly these bytes in this workspace (the newest), or None."""
    digest = content_hash(data)
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        row = s.execute(
            select(Dataset, DatasetVersion.version)
            .join(DatasetVersion, DatasetVersion.dataset_id == Dataset.id)
            .where(DatasetVersion.content_hash == digest)
            .order_by(DatasetVersion.created_at.desc()).limit(1)
        ).first()
        if row is None:
            return None
        ds, version = row
        return Duplicate(ds.id, ds.name, version, version == ds.current_version)


@requires(Permission.VIEW)
def list_datasets(store: Store, ctx: Context) -> list[DatasetSummary]:
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        rows = s.execute(
            select(Dataset, DatasetVersion)
            .join(DatasetVersion, (DatasetVersion.dataset_id == Dataset.id) & (DatasetVersion.version == Dataset.current_version))
            .order_by(Dataset.updated_at.desc(), Dataset.name)
        ).all()
        return [_summary_of(d, v) for d, v in rows]


@requires(Permission.VIEW)
@per_rerun  # the page and the preview's cache both ask for it in one rerun (issue 14, item 9)
def get_dataset(store: Store, ctx: Context, dataset_id: uuid.UUID) -> DatasetDetail:
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        ds = _get(s, dataset_id)
        v = _current(s, ds)
        versions = s.scalars(select(DatasetVersion).where(DatasetVersion.dataset_id == ds.id)
                             .order_by(DatasetVersion.version.desc())).all()
        columns = tuple(_column_profile(c) for c in v.columns)
        return DatasetDetail(
            _summary_of(ds, v), columns,  # from v: _summary would read the same version again
            tuple(VersionInfo(x.version, x.filename, x.row_count, x.size_bytes, x.created_at) for x in versions),
            dict(v.info or {}),
        )


@requires(Permission.VIEW)
def load_table(store: Store, ctx: Context, dataset_id: uuid.UUID, *, version: int | None = None,
               limit: int | None = None, local: bool = False, keep: bool = False) -> pl.DataFrame:
    """The typed table of a data set version (the current one by default).

    `local`: read it from a file on this machine (see storage.local_file) instead of the store,
    for jobs that load the same version again and again (a run's chunks). `keep` (with `local`):
    also keep it in this process for the next call (see storage.in_memory; access is checked first).
    """
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        ds = _get(s, dataset_id)
        v = _current(s, ds, version)
        if local and keep and limit is None:
            with contextlib.suppress(FileNotFoundError):
                return in_memory(store.settings, s, v.storage_key, pl.read_parquet, lambda df: int(df.estimated_size()))
        if local:
            path = local_file(store.settings, s, v.storage_key)
            with contextlib.suppress(FileNotFoundError):  # evicted meanwhile: read the store instead
                return pl.read_parquet(path) if limit is None else pl.scan_parquet(path).head(limit).collect()
        content = blob_store(store.settings).get(s, v.storage_key)
    if limit is not None:
        return pl.scan_parquet(io.BytesIO(content)).head(limit).collect()
    return pl.read_parquet(io.BytesIO(content))


@requires(Permission.EDIT)
def rename(store: Store, ctx: Context, dataset_id: uuid.UUID, new_name: str) -> None:
    clean = _valid_name(new_name)
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        ds = _get(s, dataset_id)
        if clean == ds.name:
            return
        if s.scalar(select(func.count()).select_from(Dataset).where(Dataset.name == clean)):
            raise ValidationFailed(f"Another data set is already called {clean!r}.")
        old, ds.name, ds.updated_at = ds.name, clean, utcnow()
        audit.record(s, "dataset.rename", object_type="dataset", object_id=ds.id, summary=f"Renamed {old!r} to {clean!r}")


@requires(Permission.EDIT)
def delete(store: Store, ctx: Context, dataset_id: uuid.UUID) -> str:
    """Delete a data set with every version; returns its name for the confirmation message."""
    blobs = blob_store(store.settings)
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        ds = _get(s, dataset_id, lock=True)
        for key in s.scalars(select(DatasetVersion.storage_key).where(DatasetVersion.dataset_id == ds.id)):
            blobs.delete(s, key)
        name = ds.name
        s.delete(ds)
        audit.record(s, "dataset.delete", object_type="dataset", object_id=dataset_id, summary=f"Deleted {name!r}")
        return name
