"""Data sets: upload (ingest → Parquet version), list, preview, rename, replace, delete."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import io
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import duckdb
import polars as pl
from polars.exceptions import PanicException
from sqlalchemy import func, select

from engine.ingest import ColumnProfile, IngestOptions, IngestResult, ingest, snake_case
from engine.row_keys import detect_key_column, key_report
from studio import audit
from studio.context import Context, Permission
from studio.errors import NotFound, ValidationFailed
from studio.naming import check_printable, printable
from studio.permissions import requires
from studio.storage import blob_store, in_memory, local_file
from studio.store.base import utcnow
from studio.store.models import Dataset, DatasetVersion
from studio.store.rerun import per_rerun
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


def _ingest(store: Store, filename: str, data: bytes, sheet: str | None,
            options: IngestOptions | None = None) -> IngestResult:
    return ingest(data, filename, sheet=sheet, max_bytes=store.settings.max_upload_bytes, options=options)


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
        ds = Dataset(name=_unique_name(s, wanted[:MAX_NAME]), current_version=1, created_by=ctx.user_id)
        s.add(ds)
        s.flush()
        _add_version(s, blobs, ds, 1, filename, result, ctx, content_hash=content_hash(data), options=options)
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
        latest = s.scalar(select(func.max(DatasetVersion.version)).where(DatasetVersion.dataset_id == ds.id)) or 0
        ds.current_version = latest + 1
        ds.updated_at = utcnow()
        _add_version(s, blobs, ds, ds.current_version, filename, result, ctx, content_hash=content_hash(data),
                     options=options)
        audit.record(s, "dataset.replace", object_type="dataset", object_id=ds.id,
                     summary=f"Replaced {ds.name!r} with {filename!r} (version {ds.current_version})")
        summary = _summary(ds, s)
    from studio import set_follow

    set_follow.version_added(store, ctx, dataset_id)  # campaign sets following it get a diff (issue 19)
    return summary


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


def _key_info(ds: Dataset, result: IngestResult) -> dict[str, Any] | None:
    """The version's key report (engine.row_keys); the key column is detected again until a person picks one."""
    if not ds.key_column_chosen:
        ds.key_column = detect_key_column([c.name for c in result.columns])
    return key_report(result.table, ds.key_column).to_dict() if ds.key_column else None


def content_hash(data: bytes) -> str:
    """The fingerprint of uploaded bytes: the same file uploaded twice has the same hash."""
    return hashlib.sha256(data).hexdigest()


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


@requires(Permission.VIEW)
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
        summary = DatasetSummary(ds.id, ds.name, v.version, v.filename, v.row_count, len(v.columns), v.size_bytes,
                                 ds.updated_at)  # from v: _summary would read the same version again
        return DatasetDetail(
            summary, columns,
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


def _valid_name(name: str) -> str:
    """The name trimmed, or a clear error when it is empty or too long."""
    check_printable(name, "data set")
    clean = name.strip()
    if not clean:
        raise ValidationFailed("A data set needs a name.")
    if len(clean) > MAX_NAME:
        raise ValidationFailed(f"Keep the name under {MAX_NAME} characters.")
    return clean


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


# --- SQL tables and derived data sets (the explore notebook) -------------------------------------

DERIVED_SOURCE = "notebook"
MAX_DERIVED_ROWS = 1_000_000


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


def _frame_parquet(table: pl.DataFrame) -> bytes:
    if table.height > MAX_DERIVED_ROWS:
        raise ValidationFailed(f"A derived data set holds at most {MAX_DERIVED_ROWS:,} rows; this result has "
                               f"{table.height:,}. Filter or aggregate it first.")
    if not table.width:
        raise ValidationFailed("This result has no columns to save.")
    buf = io.BytesIO()
    try:
        table.write_parquet(buf, compression="zstd")
    # A Rust panic inside polars is a BaseException: caught around this one call, said in plain words.
    except (pl.exceptions.PolarsError, PanicException):
        raise ValidationFailed("This result has a column that cannot be saved as a data set: cast unusual "
                               "columns to text in the query (for example col::VARCHAR) and save again.") from None
    return buf.getvalue()


def _mark_derived(s: TenantSession, ds: Dataset, source: dict[str, Any]) -> None:
    v = _current(s, ds)
    v.info = {**(v.info or {}), "source": DERIVED_SOURCE, "source_query": source.get("sql"), "derived": source}


@requires(Permission.EDIT)
def save_derived(store: Store, ctx: Context, name: str, table: pl.DataFrame, source: dict[str, Any]) -> DatasetSummary:
    """A new data set from a notebook result that remembers `source` (its query) for refreshes."""
    clean = _valid_name(name)
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        if s.scalar(select(func.count()).select_from(Dataset).where(Dataset.name == clean)):
            raise ValidationFailed(f"Another data set is already called {clean!r}: pick another name.")
    content = _frame_parquet(table)
    result = _ingest(store, f"{sql_table_name(clean)}.parquet", content, None)
    blobs = blob_store(store.settings)
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        ds = Dataset(name=_unique_name(s, clean), current_version=1, created_by=ctx.user_id)
        s.add(ds)
        s.flush()
        _add_version(s, blobs, ds, 1, f"{sql_table_name(clean)}.parquet", result, ctx)
        _mark_derived(s, ds, source)
        audit.record(s, "dataset.derive", object_type="dataset", object_id=ds.id,
                     summary=f"Saved a notebook result as {ds.name!r} ({result.row_count:,} rows)")
        return _summary(ds, s)


@requires(Permission.VIEW)
def derived_source(store: Store, ctx: Context, dataset_id: uuid.UUID) -> dict[str, Any] | None:
    """How a derived data set was made (its query), or None for an uploaded one."""
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        source = (_current(s, _get(s, dataset_id)).info or {}).get("derived")
        return dict(source) if isinstance(source, dict) else None


@requires(Permission.EDIT)
def refresh_derived(store: Store, ctx: Context, dataset_id: uuid.UUID,
                    run: Callable[[dict[str, Any]], pl.DataFrame]) -> DatasetSummary:
    """Re-run a derived data set's source with `run` and store the result as its next version."""
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        ds = _get(s, dataset_id)
        source = (_current(s, ds).info or {}).get("derived")
        if not isinstance(source, dict):
            raise ValidationFailed(f"{ds.name!r} was uploaded, not saved from a query: replace it with a new file instead.")
    table = run(dict(source))
    result = _ingest(store, f"{sql_table_name(ds.name)}.parquet", _frame_parquet(table), None)
    blobs = blob_store(store.settings)
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        ds = _get(s, dataset_id, lock=True)
        latest = s.scalar(select(func.max(DatasetVersion.version)).where(DatasetVersion.dataset_id == ds.id)) or 0
        ds.current_version = latest + 1
        ds.updated_at = utcnow()
        _add_version(s, blobs, ds, ds.current_version, f"{sql_table_name(ds.name)}.parquet", result, ctx)
        _mark_derived(s, ds, source)
        audit.record(s, "dataset.refresh", object_type="dataset", object_id=ds.id,
                     summary=f"Refreshed {ds.name!r} from its query (version {ds.current_version}, "
                             f"{result.row_count:,} rows)")
        summary = _summary(ds, s)
    from studio import set_follow

    set_follow.version_added(store, ctx, dataset_id)  # campaign sets following it get a diff (issue 19)
    return summary
