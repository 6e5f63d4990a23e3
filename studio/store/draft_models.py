"""Authoring drafts: what a user was writing (data set, format, template text, rules, options), per workspace."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from studio.store.base import Base, TenantMixin, new_id, utcnow


class Draft(TenantMixin, Base):
    """One user's draft of one kind ("preview", "templates") in one workspace; saved as they type."""

    __tablename__ = "drafts"
    __table_args__ = (UniqueConstraint("workspace_id", "user_id", "kind", name="uq_draft"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
