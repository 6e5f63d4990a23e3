"""The explore notebooks: a workspace's named notebooks of ordered cells (SQL, Markdown, group by), run over
its data sets. Each cell's last output is kept (studio.notebook_outputs) so a reload shows it.

SQL is the analysts' own and untrusted: it runs in ``engine.sql_sandbox`` (a killable child process)
and only ever receives the Parquet bytes of the current workspace's data sets.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from sqlalchemy import delete, func, select, update

from engine.sql_sandbox import SandboxLimits, SqlError, SqlTimeout, to_frame
from engine.sql_sandbox import run_sql as sandbox_sql
from engine.transforms import TransformError, TransformSpec, group_by
from studio import audit, datasets, notebook_outputs
from studio.context import Context, Permission, allows
from studio.errors import NotFound, ValidationFailed
from studio.naming import check_printable
from studio.permissions import requires
from studio.store.base import aware, utcnow
from studio.store.models import Dataset
from studio.store.notebook_models import Notebook as NotebookRow
from studio.store.notebook_models import NotebookCell
from studio.store.session import Store, TenantSession

CELL_KINDS = {"sql": "SQL", "markdown": "Markdown", "group_by": "Group by"}
CHART_TYPES = ("bar", "line", "point", "area")
MAX_CELLS = 200
MAX_NOTEBOOKS = 100
DEFAULT_NOTEBOOK = "Notebook"
MAX_SOURCE = 100_000
RUN_LIMITS = SandboxLimits(timeout_s=10.0, memory_mb=512, max_rows=10_000)
SAVE_LIMITS = SandboxLimits(timeout_s=30.0, memory_mb=1024, max_rows=datasets.MAX_DERIVED_ROWS, max_result_mb=128)


class QueryFailed(ValidationFailed):
    """A cell that could not run; the message says where and what to change."""


@dataclass(frozen=True)
class Cell:
    id: uuid.UUID
    position: int
    kind: str
    source: str
    config: dict[str, Any]
    updated_at: dt.datetime
    notebook_id: uuid.UUID | None = None


@dataclass(frozen=True)
class NotebookInfo:
    id: uuid.UUID
    name: str
    cells: int
    updated_at: dt.datetime


@dataclass(frozen=True)
class Notebook:
    """Everything the explore page draws: the notebook, its cells and their kept outputs, the tables SQL
    can use (and the newest, which new cells start from), and whether you may edit."""

    cells: tuple[Cell, ...]
    tables: tuple[datasets.SqlTable, ...]
    can_edit: bool
    id: uuid.UUID | None = None
    name: str = DEFAULT_NOTEBOOK
    outputs: dict[uuid.UUID, Any] = field(default_factory=dict)  # cell id → notebook_outputs.StoredOutput
    newest: datasets.SqlTable | None = None


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


def _cell(row: NotebookCell) -> Cell:
    return Cell(row.id, row.position, row.kind, row.source, dict(row.config or {}), row.updated_at, row.notebook_id)


def _rows(s: TenantSession, notebook_id: uuid.UUID) -> list[NotebookCell]:
    return list(s.scalars(select(NotebookCell).where(NotebookCell.notebook_id == notebook_id)
                          .order_by(NotebookCell.position, NotebookCell.created_at)))


def _books(s: TenantSession, user_id: uuid.UUID | None) -> list[NotebookRow]:
    """The workspace's notebooks, oldest first; the first is made (and gets any cells from before named
    notebooks) when there is none."""
    books = list(s.scalars(select(NotebookRow).order_by(NotebookRow.created_at, NotebookRow.name)))
    if not books:
        books = [NotebookRow(name=DEFAULT_NOTEBOOK, created_by=user_id)]
        s.add(books[0])
        s.flush()
    s.execute(update(NotebookCell).where(NotebookCell.notebook_id.is_(None)).values(notebook_id=books[0].id))
    return books


def _book(s: TenantSession, notebook_id: uuid.UUID | None) -> NotebookRow:
    """The notebook asked for, or the most recently changed one (None: the page has not picked one yet)."""
    books = _books(s, s.info.get("user_id"))
    if notebook_id is None:
        return max(books, key=lambda b: (aware(b.updated_at), b.name))
    found = next((b for b in books if b.id == notebook_id), None)
    if found is None:
        raise NotFound("This notebook does not exist (any more) in this workspace: pick another.")
    return found


def _name(s: TenantSession, name: str, *, other_than: uuid.UUID | None = None) -> str:
    check_printable(name, "notebook")
    name = " ".join(name.split())
    if not name:
        raise ValidationFailed("Give the notebook a name, e.g. 'Prices by category'.")
    if len(name) > 120:
        raise ValidationFailed("Keep a notebook's name under 120 characters.")
    clash = s.scalar(select(NotebookRow.id).where(func.lower(NotebookRow.name) == name.lower()))
    if clash is not None and clash != other_than:
        raise ValidationFailed(f"A notebook named {name!r} already exists here; choose another name.")
    return name


def _touch(s: TenantSession, notebook_id: uuid.UUID | None) -> None:
    if notebook_id is not None:
        s.execute(update(NotebookRow).where(NotebookRow.id == notebook_id).values(updated_at=utcnow()))


@requires(Permission.VIEW)
def list_notebooks(store: Store, ctx: Context) -> list[NotebookInfo]:
    """The workspace's notebooks, oldest first, with their cell counts."""
    with store.session_scope(ctx) as s:
        books = _books(s, ctx.user_id)
        counts = dict(s.execute(select(NotebookCell.notebook_id, func.count()).group_by(NotebookCell.notebook_id)).all())
        return [NotebookInfo(b.id, b.name, int(counts.get(b.id, 0)), aware(b.updated_at)) for b in books]


@requires(Permission.EDIT)
def create_notebook(store: Store, ctx: Context, name: str) -> NotebookInfo:
    """A new, empty notebook."""
    with store.session_scope(ctx) as s:
        books = _books(s, ctx.user_id)
        if len(books) >= MAX_NOTEBOOKS:
            raise ValidationFailed(f"A workspace keeps at most {MAX_NOTEBOOKS} notebooks; delete one first.")
        row = NotebookRow(name=_name(s, name), created_by=ctx.user_id)
        s.add(row)
        s.flush()
        audit.record(s, "notebook.create", object_type="notebook", object_id=row.id, summary=f"Created notebook {row.name!r}")
        return NotebookInfo(row.id, row.name, 0, aware(row.updated_at))


@requires(Permission.EDIT)
def rename_notebook(store: Store, ctx: Context, notebook_id: uuid.UUID, name: str) -> NotebookInfo:
    with store.session_scope(ctx) as s:
        row = _book(s, notebook_id)
        old, row.name, row.updated_at = row.name, _name(s, name, other_than=row.id), utcnow()
        audit.record(s, "notebook.rename", object_type="notebook", object_id=row.id,
                     summary=f"Renamed notebook {old!r} to {row.name!r}")
        count = s.scalar(select(func.count()).select_from(NotebookCell).where(NotebookCell.notebook_id == row.id)) or 0
        return NotebookInfo(row.id, row.name, count, aware(row.updated_at))


@requires(Permission.EDIT)
def delete_notebook(store: Store, ctx: Context, notebook_id: uuid.UUID) -> str:
    """Delete a notebook with its cells and their outputs; returns its name. The last one is replaced by an
    empty one the next time the page opens."""
    with store.session_scope(ctx) as s:
        row = _book(s, notebook_id)
        name = row.name
        s.execute(delete(NotebookCell).where(NotebookCell.notebook_id == row.id))  # outputs go with their cells
        s.delete(row)
        audit.record(s, "notebook.delete", object_type="notebook", object_id=notebook_id, summary=f"Deleted notebook {name!r}")
        return name


def _get(s: TenantSession, cell_id: uuid.UUID) -> NotebookCell:
    row = s.scalar(select(NotebookCell).where(NotebookCell.id == cell_id))
    if row is None:
        raise NotFound("This cell does not exist (any more) in this workspace's notebook.")
    return row


def _check(kind: str, source: str) -> None:
    if kind not in CELL_KINDS:
        raise ValidationFailed(f"Unknown cell kind {kind!r}; use one of: {', '.join(CELL_KINDS)}.")
    if len(source) > MAX_SOURCE:
        raise ValidationFailed(f"Keep a cell under {MAX_SOURCE:,} characters.")
    if "\x00" in source:  # Postgres text cannot hold it; it only arrives by pasting binary data
        raise ValidationFailed("This cell contains a NUL character (\\0), which cannot be stored: delete it "
                               "(it usually comes from pasting binary data) and save again.")
    if not source.isascii() and not _utf8(source):
        raise ValidationFailed("This cell contains an invalid character (a lone surrogate such as \\ud800), which "
                               "cannot be stored: delete it and save again.")


def _utf8(text: str) -> bool:
    """Whether UTF-8 (and so Postgres) can hold ``text``: not when it has lone surrogates."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@requires(Permission.VIEW)
def open_notebook(store: Store, ctx: Context, notebook_id: uuid.UUID | None = None) -> Notebook:
    """A notebook's cells in order with their kept outputs, and the workspace's data sets as SQL tables
    (`notebook_id` None: the most recently changed notebook)."""
    tables = datasets.sql_tables(store, ctx)
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        can_edit = s.info.get("system") or allows(s.role, Permission.EDIT)
        book = _book(s, notebook_id)
        cells = tuple(_cell(r) for r in _rows(s, book.id))
        outputs = notebook_outputs.load(s, [c.id for c in cells])
        newest_id = s.scalar(select(Dataset.id).order_by(Dataset.updated_at.desc(), Dataset.created_at.desc()).limit(1))
        newest = next((t for t in tables if t.dataset_id == newest_id), tables[0] if tables else None)
        return Notebook(cells, tuple(tables), bool(can_edit), book.id, book.name, outputs, newest)


@requires(Permission.EDIT)
def add_cell(store: Store, ctx: Context, kind: str, *, source: str = "", config: dict[str, Any] | None = None,
             position: int | None = None, notebook_id: uuid.UUID | None = None) -> Cell:
    """Insert a cell at `position` (the end by default) of a notebook (the most recently changed one)."""
    _check(kind, source)
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        book = _book(s, notebook_id).id
        count = s.scalar(select(func.count()).select_from(NotebookCell).where(NotebookCell.notebook_id == book)) or 0
        if count >= MAX_CELLS:
            raise ValidationFailed(f"A notebook holds at most {MAX_CELLS} cells; delete some first.")
        at = count if position is None else max(0, min(position, count))
        s.execute(update(NotebookCell).where(NotebookCell.notebook_id == book, NotebookCell.position >= at)
                  .values(position=NotebookCell.position + 1))
        row = NotebookCell(notebook_id=book, position=at, kind=kind, source=source, config=dict(config or {}),
                           created_by=ctx.user_id)
        s.add(row)
        _touch(s, book)
        s.flush()
        return _cell(row)


@requires(Permission.EDIT)
def update_cell(store: Store, ctx: Context, cell_id: uuid.UUID, *, source: str | None = None,
                config: dict[str, Any] | None = None) -> Cell:
    """Save a cell's text and/or its settings (group-by spec, chart)."""
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        row = _get(s, cell_id)
        if source is not None:
            _check(row.kind, source)
            row.source = source
        if config is not None:
            row.config = dict(config)
        row.updated_at = utcnow()
        _touch(s, row.notebook_id)
        return _cell(row)


@requires(Permission.EDIT)
def move_cell(store: Store, ctx: Context, cell_id: uuid.UUID, offset: int) -> None:
    """Move a cell up (-1) or down (+1); at either end nothing moves."""
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        rows = _rows(s, _get(s, cell_id).notebook_id)  # type: ignore[arg-type]
        index = next(i for i, r in enumerate(rows) if r.id == cell_id)
        target = index + offset
        if 0 <= target < len(rows):
            rows.insert(target, rows.pop(index))
        for i, r in enumerate(rows):
            r.position = i


@requires(Permission.EDIT)
def delete_cell(store: Store, ctx: Context, cell_id: uuid.UUID) -> Cell:
    """Delete a cell; returns it so the page can offer an undo (`restore_cell`)."""
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        row = _get(s, cell_id)
        gone = _cell(row)
        s.delete(row)
        s.flush()
        s.execute(update(NotebookCell).where(NotebookCell.notebook_id == gone.notebook_id, NotebookCell.position > gone.position)
                  .values(position=NotebookCell.position - 1))
        _touch(s, gone.notebook_id)
        return gone


@requires(Permission.EDIT)
def restore_cell(store: Store, ctx: Context, cell: Cell) -> Cell:
    """Undo a delete: the same cell back at its place."""
    _check(cell.kind, cell.source)
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        if s.scalar(select(NotebookCell.id).where(NotebookCell.id == cell.id)) is not None:
            return cell
        book = _book(s, cell.notebook_id).id
        count = s.scalar(select(func.count()).select_from(NotebookCell).where(NotebookCell.notebook_id == book)) or 0
        at = max(0, min(cell.position, count))
        s.execute(update(NotebookCell).where(NotebookCell.notebook_id == book, NotebookCell.position >= at)
                  .values(position=NotebookCell.position + 1))
        row = NotebookCell(id=cell.id, notebook_id=book, position=at, kind=cell.kind, source=cell.source,
                           config=dict(cell.config), created_by=ctx.user_id)
        s.add(row)
        s.flush()
        return _cell(row)


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
    tables = datasets.current_parquet(store, ctx)  # checks VIEW; never another workspace's bytes
    try:
        result = sandbox_sql(sql, tables, limits=limits)
        frame = to_frame(result.table)  # unique names; polars' own errors become a SqlError
    except SqlTimeout as exc:
        raise QueryFailed(str(exc)) from None
    except SqlError as exc:
        raise QueryFailed(_position(exc) + str(exc)) from None
    return CellResult(frame, result.truncated, time.perf_counter() - started, {"kind": "sql", "sql": sql})


def _table(store: Store, ctx: Context, config: dict[str, Any]) -> datasets.SqlTable:
    wanted = str(config.get("dataset_id") or "")
    tables = datasets.sql_tables(store, ctx)
    found = next((t for t in tables if str(t.dataset_id) == wanted), None)
    if found is None:
        found = next((t for t in tables if t.name == config.get("table")), None)
    if found is None:
        raise QueryFailed("Choose a data set to group (the one this cell used is gone).")
    return found


@requires(Permission.VIEW)
def suggest_group_by(store: Store, ctx: Context, dataset_id: uuid.UUID) -> list[str]:
    """A first column to group by: the text column with the fewest distinct values (at least two)."""
    table = next((t for t in datasets.sql_tables(store, ctx) if t.dataset_id == dataset_id), None)
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
def save_as_dataset(store: Store, ctx: Context, name: str, source: dict[str, Any]) -> datasets.DatasetSummary:
    """Run `source` in full and store it as a derived data set that remembers its query."""
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
    table = _rerun(store, ctx, source)
    return datasets.save_derived(store, ctx, name, table, source)


@requires(Permission.EDIT)
def refresh(store: Store, ctx: Context, dataset_id: uuid.UUID) -> datasets.DatasetSummary:
    """Re-run a derived data set's query over the current data; the result becomes its next version."""
    return datasets.refresh_derived(store, ctx, dataset_id, lambda source: _rerun(store, ctx, source))


def describe_source(source: dict[str, Any]) -> str:
    """A derived data set's source in one line, for the tables list."""
    if source.get("kind") == "group_by":
        aggs = ", ".join(f"{a.get('op')}({a.get('field') or '*'})" for a in source.get("aggregations") or [])
        return f"group {source.get('table')} by {', '.join(source.get('group_by') or [])}: {aggs}"
    return " ".join(str(source.get("sql") or "").split())
