"""Models of the explore notebook: one ordered list of cells per workspace."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from studio.store.base import Base, TenantMixin, new_id, utcnow


class NotebookCell(TenantMixin, Base):
    """A SQL, Markdown or group-by cell; `position` orders the workspace's notebook."""

    __tablename__ = "notebook_cells"
    __table_args__ = (Index("ix_notebook_cell_order", "workspace_id", "position"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # sql / markdown / group_by
    source: Mapped[str] = mapped_column(Text, default="")
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # group-by spec, chart choices
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
