"""Data sets: upload (ingest → Parquet version), list, preview, rename, replace, delete."""

from __future__ import annotations

import datetime as dt
import io
import re
import uuid
from dataclasses import dataclass
from typing import Any

import polars as pl
from sqlalchemy import func, select

from engine.ingest import ColumnProfile, IngestResult, ingest
from studio import audit
from studio.context import Context, Permission
from studio.errors import NotFound, ValidationFailed
from studio.storage import blob_store
from studio.store.base import utcnow
from studio.store.models import Dataset, DatasetVersion
from studio.store.session import Store, TenantSession

MAX_NAME = 120


@dataclass(frozen=True)
class DatasetSummary:
    id: uuid.UUID
    name: str
    version: int
    filename: str
    row_count: int
    column_count: int
    size_bytes: int
    updated_at: dt.datetime


@dataclass(frozen=True)
class VersionInfo:
    version: int
    filename: str
    row_count: int
    size_bytes: int
    created_at: dt.datetime


@dataclass(frozen=True)
class DatasetDetail:
    summary: DatasetSummary
    columns: tuple[ColumnProfile, ...]
    versions: tuple[VersionInfo, ...]
    info: dict[str, Any]


def _default_name(filename: str) -> str:
    stem = re.sub(r"\.[A-Za-z0-9]+$", "", filename.rsplit("/", 1)[-1]).strip()
    return (stem or "data set")[:MAX_NAME]


def _unique_name(s: TenantSession, wanted: str) -> str:
    taken = set(s.scalars(select(Dataset.name)))
    if wanted not in taken:
        return wanted
    n = 2
    while f"{wanted} ({n})" in taken:
        n += 1
    return f"{wanted} ({n})"


def _to_parquet(result: IngestResult) -> bytes:
    buf = io.BytesIO()
    result.table.write_parquet(buf, compression="zstd")
    return buf.getvalue()


def _profiles_json(result: IngestResult) -> list[dict[str, Any]]:
    return [
        {"name": c.name, "original_name": c.original_name, "kind": c.kind, "null_count": c.null_count,
         "examples": list(c.examples)}
        for c in result.columns
    ]


def _ingest(store: Store, filename: str, data: bytes, sheet: str | None) -> IngestResult:
    return ingest(data, filename, sheet=sheet, max_bytes=store.settings.max_upload_bytes)


def upload(store: Store, ctx: Context, filename: str, data: bytes, *, name: str | None = None,
           sheet: str | None = None) -> DatasetSummary:
    """Ingest a file into a new data set (version 1). Bad input raises before anything is stored."""
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
    result = _ingest(store, filename, data, sheet)
    blobs = blob_store(store.settings)
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        wanted = (name or "").strip() or _default_name(filename)
        ds = Dataset(name=_unique_name(s, wanted[:MAX_NAME]), current_version=1, created_by=ctx.user_id)
        s.add(ds)
        s.flush()
        _add_version(s, blobs, ds, 1, filename, result, ctx)
        audit.record(s, "dataset.upload", object_type="dataset", object_id=ds.id,
                     summary=f"Uploaded {filename!r} as {ds.name!r} ({result.row_count:,} rows)")
        return _summary(ds, s)


def replace(store: Store, ctx: Context, dataset_id: uuid.UUID, filename: str, data: bytes, *,
            sheet: str | None = None) -> DatasetSummary:
    """Upload a new version; earlier versions are kept."""
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        _get(s, dataset_id)
    result = _ingest(store, filename, data, sheet)
    blobs = blob_store(store.settings)
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        ds = _get(s, dataset_id, lock=True)
        latest = s.scalar(select(func.max(DatasetVersion.version)).where(DatasetVersion.dataset_id == ds.id)) or 0
        ds.current_version = latest + 1
        ds.updated_at = utcnow()
        _add_version(s, blobs, ds, ds.current_version, filename, result, ctx)
        audit.record(s, "dataset.replace", object_type="dataset", object_id=ds.id,
                     summary=f"Replaced {ds.name!r} with {filename!r} (version {ds.current_version})")
        return _summary(ds, s)


def _add_version(s: TenantSession, blobs: Any, ds: Dataset, version: int, filename: str,
                 result: IngestResult, ctx: Context) -> None:
    content = _to_parquet(result)
    key = f"{ds.id}-v{version}.parquet"
    blobs.put(s, key, content)
    s.add(DatasetVersion(
        dataset_id=ds.id, version=version, filename=filename[:255], row_count=result.row_count,
        size_bytes=len(content), columns=_profiles_json(result), storage_key=key, created_by=ctx.user_id,
        info={"encoding": result.encoding, "delimiter": result.delimiter, "warnings": list(result.warnings)},
    ))


def _get(s: TenantSession, dataset_id: uuid.UUID, *, lock: bool = False) -> Dataset:
    stmt = select(Dataset).where(Dataset.id == dataset_id)
    if lock:
        stmt = stmt.with_for_update()
    ds = s.scalar(stmt)
    if ds is None:
        raise NotFound("This data set does not exist (any more) in this workspace.")
    return ds


def _current(s: TenantSession, ds: Dataset, version: int | None = None) -> DatasetVersion:
    v = s.scalar(select(DatasetVersion).where(
        DatasetVersion.dataset_id == ds.id, DatasetVersion.version == (version or ds.current_version)))
    if v is None:
        raise NotFound(f"Version {version or ds.current_version} of {ds.name!r} does not exist.")
    return v


def _summary(ds: Dataset, s: TenantSession) -> DatasetSummary:
    v = _current(s, ds)
    return DatasetSummary(ds.id, ds.name, v.version, v.filename, v.row_count, len(v.columns), v.size_bytes, ds.updated_at)


def list_datasets(store: Store, ctx: Context) -> list[DatasetSummary]:
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        rows = s.execute(
            select(Dataset, DatasetVersion)
            .join(DatasetVersion, (DatasetVersion.dataset_id == Dataset.id) & (DatasetVersion.version == Dataset.current_version))
            .order_by(Dataset.updated_at.desc(), Dataset.name)
        ).all()
        return [DatasetSummary(d.id, d.name, v.version, v.filename, v.row_count, len(v.columns), v.size_bytes, d.updated_at)
                for d, v in rows]


def get_dataset(store: Store, ctx: Context, dataset_id: uuid.UUID) -> DatasetDetail:
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        ds = _get(s, dataset_id)
        v = _current(s, ds)
        versions = s.scalars(select(DatasetVersion).where(DatasetVersion.dataset_id == ds.id)
                             .order_by(DatasetVersion.version.desc())).all()
        columns = tuple(ColumnProfile(c["name"], c["original_name"], c["kind"], c["null_count"], tuple(c["examples"]))
                        for c in v.columns)
        return DatasetDetail(
            _summary(ds, s), columns,
            tuple(VersionInfo(x.version, x.filename, x.row_count, x.size_bytes, x.created_at) for x in versions),
            dict(v.info or {}),
        )


def load_table(store: Store, ctx: Context, dataset_id: uuid.UUID, *, version: int | None = None,
               limit: int | None = None) -> pl.DataFrame:
    """The typed table of a data set version (the current one by default)."""
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        ds = _get(s, dataset_id)
        v = _current(s, ds, version)
        content = blob_store(store.settings).get(s, v.storage_key)
    if limit is not None:
        return pl.scan_parquet(io.BytesIO(content)).head(limit).collect()
    return pl.read_parquet(io.BytesIO(content))


def rename(store: Store, ctx: Context, dataset_id: uuid.UUID, new_name: str) -> None:
    clean = new_name.strip()
    if not clean:
        raise ValidationFailed("A data set needs a name.")
    if len(clean) > MAX_NAME:
        raise ValidationFailed(f"Keep the name under {MAX_NAME} characters.")
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        ds = _get(s, dataset_id)
        if clean == ds.name:
            return
        if s.scalar(select(func.count()).select_from(Dataset).where(Dataset.name == clean)):
            raise ValidationFailed(f"Another data set is already called {clean!r}.")
        old, ds.name, ds.updated_at = ds.name, clean, utcnow()
        audit.record(s, "dataset.rename", object_type="dataset", object_id=ds.id, summary=f"Renamed {old!r} to {clean!r}")


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
