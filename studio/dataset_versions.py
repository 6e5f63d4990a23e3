"""A data set's stored versions: a file ingested into a Parquet version (its column profiles, key report and how
it was read), the look-ups of a data set and its current version, and the names data sets get.

The building blocks of studio.datasets, studio.derived_datasets, studio.sql_tables and studio.feeds; the
services a person calls live there.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from engine.ingest import ColumnProfile, IngestOptions, IngestResult, ingest
from engine.row_keys import detect_key_column, key_report
from studio.context import Context
from studio.errors import NotFound, ValidationFailed
from studio.naming import check_printable, printable
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


# --- names ------------------------------------------------------------------------------------------

def _default_name(filename: str) -> str:
    stem = re.sub(r"\.[A-Za-z0-9]+$", "", printable(filename).rsplit("/", 1)[-1]).strip()
    return (stem or "data set")[:MAX_NAME]


def _unique_name(s: TenantSession, wanted: str) -> str:
    taken = set(s.scalars(select(Dataset.name)))
    if wanted not in taken:
        return wanted
    n = 2
    while _numbered(wanted, n) in taken:
        n += 1
    return _numbered(wanted, n)


def _numbered(wanted: str, n: int) -> str:
    """'name (2)', the name shortened so that the number still fits in MAX_NAME."""
    suffix = f" ({n})"
    return wanted[:MAX_NAME - len(suffix)].rstrip() + suffix


def _valid_name(name: str) -> str:
    """The name trimmed, or a clear error when it is empty or too long."""
    check_printable(name, "data set")
    clean = name.strip()
    if not clean:
        raise ValidationFailed("A data set needs a name.")
    if len(clean) > MAX_NAME:
        raise ValidationFailed(f"Keep the name under {MAX_NAME} characters.")
    return clean


# --- a file into a stored version -------------------------------------------------------------------

def _ingest(store: Store, filename: str, data: bytes, sheet: str | None,
            options: IngestOptions | None = None) -> IngestResult:
    return ingest(data, filename, sheet=sheet, max_bytes=store.settings.max_upload_bytes, options=options)


def content_hash(data: bytes) -> str:
    """The fingerprint of uploaded bytes: the same file uploaded twice has the same hash."""
    return hashlib.sha256(data).hexdigest()


def _to_parquet(result: IngestResult) -> bytes:
    buf = io.BytesIO()
    result.table.write_parquet(buf, compression="zstd")
    return buf.getvalue()


def _profiles_json(result: IngestResult) -> list[dict[str, Any]]:
    return [
        {"name": c.name, "original_name": c.original_name, "kind": c.kind, "null_count": c.null_count,
         "examples": list(c.examples), **({"format": c.format} if c.format else {}),
         **({"text_column": c.text_column} if c.text_column else {})}
        for c in result.columns
    ]


def _column_profile(c: dict[str, Any]) -> ColumnProfile:
    """A stored column profile (versions stored before formats existed have none)."""
    return ColumnProfile(c["name"], c["original_name"], c["kind"], c["null_count"], tuple(c["examples"]),
                         c.get("format"), c.get("text_column"))


def _key_info(ds: Dataset, result: IngestResult) -> dict[str, Any] | None:
    """The version's key report (engine.row_keys); the key column is detected again until a person picks one."""
    if not ds.key_column_chosen:
        ds.key_column = detect_key_column([c.name for c in result.columns])
    return key_report(result.table, ds.key_column).to_dict() if ds.key_column else None


def _add_version(s: TenantSession, blobs: Any, ds: Dataset, version: int, filename: str,
                 result: IngestResult, ctx: Context, *, content_hash: str | None = None,
                 options: IngestOptions | None = None) -> None:
    content = _to_parquet(result)
    key = f"{ds.id}-v{version}.parquet"
    keys = _key_info(ds, result)
    blobs.put(s, key, content)
    s.add(DatasetVersion(
        dataset_id=ds.id, version=version, filename=printable(filename)[:255], row_count=result.row_count,
        size_bytes=len(content), columns=_profiles_json(result), storage_key=key, created_by=ctx.user_id,
        content_hash=content_hash,
        info={"encoding": result.encoding, "delimiter": result.delimiter, "warnings": list(result.warnings),
              **({"options": options.to_dict()} if options is not None and options.to_dict() else {}),
              **({"keys": keys} if keys else {})},
    ))


def _create(s: TenantSession, blobs: Any, wanted: str, filename: str, result: IngestResult, ctx: Context, *,
            content_hash: str | None = None, options: IngestOptions | None = None) -> Dataset:
    """A new data set holding `result` as version 1, named `wanted` (numbered when the name is taken)."""
    ds = Dataset(name=_unique_name(s, wanted[:MAX_NAME]), current_version=1, created_by=ctx.user_id)
    s.add(ds)
    s.flush()
    _add_version(s, blobs, ds, 1, filename, result, ctx, content_hash=content_hash, options=options)
    return ds


def _append(s: TenantSession, blobs: Any, ds: Dataset, filename: str, result: IngestResult, ctx: Context, *,
            content_hash: str | None = None, options: IngestOptions | None = None,
            at: dt.datetime | None = None) -> int:
    """`result` as the data set's next version (after the highest stored one), made current at `at` (now);
    `ds` is locked. Returns the version that was highest before (0: none)."""
    latest = s.scalar(select(func.max(DatasetVersion.version)).where(DatasetVersion.dataset_id == ds.id)) or 0
    ds.current_version = latest + 1
    ds.updated_at = at or utcnow()
    _add_version(s, blobs, ds, ds.current_version, filename, result, ctx, content_hash=content_hash, options=options)
    return latest


# --- look-ups ---------------------------------------------------------------------------------------

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


def _summary_of(ds: Dataset, v: DatasetVersion) -> DatasetSummary:
    return DatasetSummary(ds.id, ds.name, v.version, v.filename, v.row_count, len(v.columns), v.size_bytes,
                          ds.updated_at)


def _summary(ds: Dataset, s: TenantSession) -> DatasetSummary:
    return _summary_of(ds, _current(s, ds))
