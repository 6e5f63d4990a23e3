"""A notebook's cells: add one where you want it, save its text or settings, move it, delete it and undo that."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update

from studio.context import Context, Permission
from studio.errors import NotFound, ValidationFailed
from studio.notebook_rows import CELL_KINDS, MAX_CELLS, MAX_SOURCE, Cell, _book, _cell, _count, _rows, _touch
from studio.permissions import requires
from studio.store.base import utcnow
from studio.store.notebook_models import NotebookCell
from studio.store.session import Store, TenantSession


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


def _make_room(s: TenantSession, notebook_id: uuid.UUID, position: int, count: int) -> int:
    """Shift the cells from `position` (kept within the notebook's `count` cells) down; returns the free place."""
    at = max(0, min(position, count))
    s.execute(update(NotebookCell).where(NotebookCell.notebook_id == notebook_id, NotebookCell.position >= at)
              .values(position=NotebookCell.position + 1))
    return at


@requires(Permission.EDIT)
def add_cell(store: Store, ctx: Context, kind: str, *, source: str = "", config: dict[str, Any] | None = None,
             position: int | None = None, notebook_id: uuid.UUID | None = None) -> Cell:
    """Insert a cell at `position` (the end by default) of a notebook (the most recently changed one)."""
    _check(kind, source)
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        book = _book(s, notebook_id).id
        count = _count(s, book)
        if count >= MAX_CELLS:
            raise ValidationFailed(f"A notebook holds at most {MAX_CELLS} cells; delete some first.")
        at = _make_room(s, book, count if position is None else position, count)
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
        at = _make_room(s, book, cell.position, _count(s, book))
        row = NotebookCell(id=cell.id, notebook_id=book, position=at, kind=cell.kind, source=cell.source,
                           config=dict(cell.config), created_by=ctx.user_id)
        s.add(row)
        s.flush()
        return _cell(row)
