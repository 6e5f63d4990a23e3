"""The explore notebooks: a workspace's named notebooks of ordered cells (SQL, Markdown, group by), run over
its data sets. Each cell's last output is kept (studio.notebook_outputs) so a reload shows it.

Here: the notebooks themselves (list, create, rename, delete, open). Their cells are edited in
studio.notebook_cells and run in studio.notebook_runs; every public name of both imports from here too.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select

from studio import audit, notebook_outputs, sql_tables
from studio.context import Context, Permission, allows
from studio.errors import ValidationFailed
from studio.naming import check_printable
from studio.notebook_cells import add_cell, delete_cell, move_cell, restore_cell, update_cell
from studio.notebook_rows import (
    CELL_KINDS,
    CHART_TYPES,
    DEFAULT_NOTEBOOK,
    MAX_CELLS,
    MAX_NOTEBOOKS,
    MAX_SOURCE,
    Cell,
    NotebookInfo,
    _book,
    _books,
    _cell,
    _count,
    _rows,
)
from studio.notebook_runs import (
    RUN_LIMITS,
    SAVE_LIMITS,
    CellResult,
    QueryFailed,
    describe_source,
    refresh,
    run_cell,
    run_group_by,
    run_sql,
    save_as_dataset,
    suggest_group_by,
)
from studio.permissions import requires
from studio.store.base import aware, utcnow
from studio.store.models import Dataset
from studio.store.notebook_models import Notebook as NotebookRow
from studio.store.notebook_models import NotebookCell
from studio.store.session import Store, TenantSession

__all__ = [  # the public names, with those that live in the sibling modules
    "CELL_KINDS", "CHART_TYPES", "DEFAULT_NOTEBOOK", "MAX_CELLS", "MAX_NOTEBOOKS", "MAX_SOURCE", "RUN_LIMITS",
    "SAVE_LIMITS", "Cell", "CellResult", "Notebook", "NotebookInfo", "QueryFailed", "add_cell", "create_notebook",
    "delete_cell", "delete_notebook", "describe_source", "list_notebooks", "move_cell", "open_notebook", "refresh",
    "rename_notebook", "restore_cell", "run_cell", "run_group_by", "run_sql", "save_as_dataset", "suggest_group_by",
    "update_cell",
]


@dataclass(frozen=True)
class Notebook:
    """Everything the explore page draws: the notebook, its cells and their kept outputs, the tables SQL
    can use (and the newest, which new cells start from), and whether you may edit."""

    cells: tuple[Cell, ...]
    tables: tuple[sql_tables.SqlTable, ...]
    can_edit: bool
    id: uuid.UUID | None = None
    name: str = DEFAULT_NOTEBOOK
    outputs: dict[uuid.UUID, Any] = field(default_factory=dict)  # cell id → notebook_outputs.StoredOutput
    newest: sql_tables.SqlTable | None = None


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
        return NotebookInfo(row.id, row.name, _count(s, row.id), aware(row.updated_at))


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


@requires(Permission.VIEW)
def open_notebook(store: Store, ctx: Context, notebook_id: uuid.UUID | None = None) -> Notebook:
    """A notebook's cells in order with their kept outputs, and the workspace's data sets as SQL tables
    (`notebook_id` None: the most recently changed notebook)."""
    tables = sql_tables.sql_tables(store, ctx)
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        can_edit = s.info.get("system") or allows(s.role, Permission.EDIT)
        book = _book(s, notebook_id)
        cells = tuple(_cell(r) for r in _rows(s, book.id))
        outputs = notebook_outputs.load(s, [c.id for c in cells])
        newest_id = s.scalar(select(Dataset.id).order_by(Dataset.updated_at.desc(), Dataset.created_at.desc()).limit(1))
        newest = next((t for t in tables if t.dataset_id == newest_id), tables[0] if tables else None)
        return Notebook(cells, tuple(tables), bool(can_edit), book.id, book.name, outputs, newest)
