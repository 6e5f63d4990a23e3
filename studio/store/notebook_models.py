"""Models of the explore notebooks: named notebooks per workspace, their ordered cells, each cell's last output."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from studio.store.base import Base, TenantMixin, new_id, utcnow


class Notebook(TenantMixin, Base):
    """A named notebook of a workspace (a workspace keeps several: one per question, client, report)."""

    __tablename__ = "notebooks"
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="uq_notebook_name"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(120))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class NotebookCell(TenantMixin, Base):
    """A SQL, Markdown or group-by cell; `position` orders its notebook (cells from before named notebooks
    have no notebook yet and join the workspace's first one when it is opened)."""

    __tablename__ = "notebook_cells"
    __table_args__ = (Index("ix_notebook_cell_order", "workspace_id", "position"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    notebook_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("notebooks.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # sql / markdown / group_by
    source: Mapped[str] = mapped_column(Text, default="")
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # group-by spec, chart choices
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class NotebookOutput(TenantMixin, Base):
    """A cell's last result (or error), kept so a reload shows it: the first rows as Parquet, capped.

    `query_hash` is the hash of what ran (kind, source, settings) and `inputs` the data set versions it
    read; when either differs from the cell now, the output is stale.
    """

    __tablename__ = "notebook_outputs"
    __table_args__ = (UniqueConstraint("cell_id", name="uq_notebook_output_cell"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    cell_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("notebook_cells.id", ondelete="CASCADE"))
    query_hash: Mapped[str] = mapped_column(String(64))
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # data set id → version read
    error: Mapped[str | None] = mapped_column(Text)
    content: Mapped[bytes | None] = mapped_column(LargeBinary)  # Parquet of the kept rows
    rows_kept: Mapped[int] = mapped_column(Integer, default=0)
    rows_shown: Mapped[int] = mapped_column(Integer, default=0)  # what the run returned (up to its row limit)
    truncated: Mapped[bool] = mapped_column(default=False)  # the run itself hit its row limit
    elapsed_s: Mapped[float] = mapped_column(Float, default=0.0)
    source: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # for "save as data set"
    ran_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    ran_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
