"""The explore notebooks' stored rows: the limits, the records the services hand out (Cell, NotebookInfo), and the
look-ups of a workspace's notebooks and their cells that studio.notebooks and studio.notebook_cells share."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update

from studio.errors import NotFound
from studio.store.base import aware, utcnow
from studio.store.notebook_models import Notebook as NotebookRow
from studio.store.notebook_models import NotebookCell
from studio.store.session import TenantSession

CELL_KINDS = {"sql": "SQL", "markdown": "Markdown", "group_by": "Group by"}
CHART_TYPES = ("bar", "line", "point", "area")
MAX_CELLS = 200
MAX_NOTEBOOKS = 100
DEFAULT_NOTEBOOK = "Notebook"
MAX_SOURCE = 100_000


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


def _cell(row: NotebookCell) -> Cell:
    return Cell(row.id, row.position, row.kind, row.source, dict(row.config or {}), row.updated_at, row.notebook_id)


def _rows(s: TenantSession, notebook_id: uuid.UUID) -> list[NotebookCell]:
    return list(s.scalars(select(NotebookCell).where(NotebookCell.notebook_id == notebook_id)
                          .order_by(NotebookCell.position, NotebookCell.created_at)))


def _count(s: TenantSession, notebook_id: uuid.UUID) -> int:
    """How many cells the notebook holds."""
    return s.scalar(select(func.count()).select_from(NotebookCell).where(NotebookCell.notebook_id == notebook_id)) or 0


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


def _touch(s: TenantSession, notebook_id: uuid.UUID | None) -> None:
    if notebook_id is not None:
        s.execute(update(NotebookRow).where(NotebookRow.id == notebook_id).values(updated_at=utcnow()))
