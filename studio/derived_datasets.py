"""Derived data sets: a notebook result saved as a data set that remembers its query, and refreshed by running
that query again (each refresh is a new version)."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from typing import Any

import polars as pl
from polars.exceptions import PanicException
from sqlalchemy import func, select

from studio import audit
from studio.context import Context, Permission
from studio.dataset_versions import DatasetSummary, _append, _create, _current, _get, _ingest, _summary, _valid_name
from studio.errors import ValidationFailed
from studio.permissions import requires
from studio.sql_tables import sql_table_name
from studio.storage import blob_store
from studio.store.models import Dataset
from studio.store.session import Store, TenantSession

DERIVED_SOURCE = "notebook"
MAX_DERIVED_ROWS = 1_000_000


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
        ds = _create(s, blobs, clean, f"{sql_table_name(clean)}.parquet", result, ctx)
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
        _append(s, blobs, ds, f"{sql_table_name(ds.name)}.parquet", result, ctx)
        _mark_derived(s, ds, source)
        audit.record(s, "dataset.refresh", object_type="dataset", object_id=ds.id,
                     summary=f"Refreshed {ds.name!r} from its query (version {ds.current_version}, "
                             f"{result.row_count:,} rows)")
        summary = _summary(ds, s)
    from studio import set_follow

    set_follow.version_added(store, ctx, dataset_id)  # campaign sets following it get a diff (issue 19)
    return summary
