"""Running the explore notebook's cells: SQL in the sandbox, no-code group-bys, and a result saved (and later
refreshed) as a derived data set.

SQL is the analysts' own and untrusted: it runs in ``engine.sql_sandbox`` (a killable child process)
and only ever receives the Parquet bytes of the current workspace's data sets.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import polars as pl

from engine.sql_sandbox import SandboxLimits, SqlError, SqlTimeout, to_frame
from engine.sql_sandbox import run_sql as sandbox_sql
from engine.transforms import TransformError, TransformSpec, group_by
from studio import datasets, derived_datasets, sql_tables
from studio.context import Context, Permission
from studio.dataset_versions import DatasetSummary
from studio.errors import ValidationFailed
from studio.permissions import requires
from studio.store.session import Store

RUN_LIMITS = SandboxLimits(timeout_s=10.0, memory_mb=512, max_rows=10_000)
SAVE_LIMITS = SandboxLimits(timeout_s=30.0, memory_mb=1024, max_rows=derived_datasets.MAX_DERIVED_ROWS,
                            max_result_mb=128)


class QueryFailed(ValidationFailed):
    """A cell that could not run; the message says where and what to change."""


@dataclass(frozen=True)
class CellResult:
    table: pl.DataFrame
    truncated: bool
    elapsed_s: float  # wall time the analyst waited, process start included
    source: dict[str, Any]  # what produced it, remembered by "save as data set"

    @property
    def row_label(self) -> str:
        """'1,234 rows', or 'first 10,000 rows (more not shown)'."""
        n = self.table.height
        if self.truncated:
            return f"first {n:,} rows (more not shown)"
        return f"{n:,} row" + ("" if n == 1 else "s")


def _position(exc: SqlError) -> str:
    if exc.line is None:
        return ""
    return f"Line {exc.line}" + (f", column {exc.column}" if exc.column else "") + ": "


@requires(Permission.VIEW)
def run_sql(store: Store, ctx: Context, sql: str, *, limits: SandboxLimits = RUN_LIMITS) -> CellResult:
    """Run the analyst's SQL in the sandbox over this workspace's tables only."""
    if not sql.strip():
        raise QueryFailed("This SQL cell is empty: write a query such as SELECT * FROM <table> LIMIT 100.")
    started = time.perf_counter()
    tables = sql_tables.current_parquet(store, ctx)  # checks VIEW; never another workspace's bytes
    try:
        result = sandbox_sql(sql, tables, limits=limits)
        frame = to_frame(result.table)  # unique names; polars' own errors become a SqlError
    except SqlTimeout as exc:
        raise QueryFailed(str(exc)) from None
    except SqlError as exc:
        raise QueryFailed(_position(exc) + str(exc)) from None
    return CellResult(frame, result.truncated, time.perf_counter() - started, {"kind": "sql", "sql": sql})


def _table(store: Store, ctx: Context, config: dict[str, Any]) -> sql_tables.SqlTable:
    wanted = str(config.get("dataset_id") or "")
    tables = sql_tables.sql_tables(store, ctx)
    found = next((t for t in tables if str(t.dataset_id) == wanted), None)
    if found is None:
        found = next((t for t in tables if t.name == config.get("table")), None)
    if found is None:
        raise QueryFailed("Choose a data set to group (the one this cell used is gone).")
    return found


@requires(Permission.VIEW)
def suggest_group_by(store: Store, ctx: Context, dataset_id: uuid.UUID) -> list[str]:
    """A first column to group by: the text column with the fewest distinct values (at least two)."""
    table = next((t for t in sql_tables.sql_tables(store, ctx) if t.dataset_id == dataset_id), None)
    texts = [c.name for c in table.columns if c.kind == "text"] if table else []
    if not texts:
        return []
    df = datasets.load_table(store, ctx, dataset_id, limit=10_000).select(texts)
    counts = {name: df[name].n_unique() for name in texts}
    useful = [name for name in texts if counts[name] >= 2] or texts
    return [min(useful, key=lambda name: counts[name])]


@requires(Permission.VIEW)
def run_group_by(store: Store, ctx: Context, config: dict[str, Any]) -> CellResult:
    """Run a no-code group-by cell: `config` = {dataset_id, group_by: [...], aggregations: [...]}."""
    started = time.perf_counter()
    table = _table(store, ctx, config)
    df = datasets.load_table(store, ctx, table.dataset_id)
    try:
        spec = TransformSpec.from_dict(config)
        out = _largest_first(group_by(df, spec, schema={c.name: c.kind for c in table.columns}), spec)
    except TransformError as exc:
        raise QueryFailed(str(exc)) from None
    source = {"kind": "group_by", "dataset_id": str(table.dataset_id), "table": table.name, **spec.to_dict()}
    return CellResult(out, False, time.perf_counter() - started, source)


def _largest_first(out: pl.DataFrame, spec: TransformSpec) -> pl.DataFrame:
    """The biggest groups first: by the first COUNT column, descending; ties in the order of the keys."""
    for agg in spec.aggregations:
        if agg.op.upper() == "COUNT":
            name = agg.output or ("count" + (f"_{agg.field}" if agg.field else ""))
            if name in out.columns:
                keys = [k for k in spec.group_by if k in out.columns]
                return out.sort([name, *keys], descending=[True] + [False] * len(keys), nulls_last=True)
    return out


@requires(Permission.VIEW)
def run_cell(store: Store, ctx: Context, kind: str, source: str, config: dict[str, Any]) -> CellResult | None:
    """Run one cell as written (Markdown has nothing to run)."""
    if kind == "sql":
        return run_sql(store, ctx, source)
    if kind == "group_by":
        return run_group_by(store, ctx, config)
    return None


def _rerun(store: Store, ctx: Context, source: dict[str, Any]) -> pl.DataFrame:
    """A remembered source run in full, for saving or refreshing a derived data set."""
    if source.get("kind") == "group_by":
        return run_group_by(store, ctx, source).table
    result = run_sql(store, ctx, str(source.get("sql") or ""), limits=SAVE_LIMITS)
    if result.truncated:
        raise QueryFailed(f"The query returns more than {SAVE_LIMITS.max_rows:,} rows, too many for a data set: "
                          "filter or aggregate it first.")
    return result.table


@requires(Permission.EDIT)
def save_as_dataset(store: Store, ctx: Context, name: str, source: dict[str, Any]) -> DatasetSummary:
    """Run `source` in full and store it as a derived data set that remembers its query."""
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
    table = _rerun(store, ctx, source)
    return derived_datasets.save_derived(store, ctx, name, table, source)


@requires(Permission.EDIT)
def refresh(store: Store, ctx: Context, dataset_id: uuid.UUID) -> DatasetSummary:
    """Re-run a derived data set's query over the current data; the result becomes its next version."""
    return derived_datasets.refresh_derived(store, ctx, dataset_id, lambda source: _rerun(store, ctx, source))


def describe_source(source: dict[str, Any]) -> str:
    """A derived data set's source in one line, for the tables list."""
    if source.get("kind") == "group_by":
        aggs = ", ".join(f"{a.get('op')}({a.get('field') or '*'})" for a in source.get("aggregations") or [])
        return f"group {source.get('table')} by {', '.join(source.get('group_by') or [])}: {aggs}"
    return " ".join(str(source.get("sql") or "").split())
