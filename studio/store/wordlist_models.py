"""The workspace word list (issue 19 item 6): banned words and brand spellings that every generated set applies."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from studio.store.base import Base, TenantMixin, new_id, utcnow


class WordListRow(TenantMixin, Base):
    """A workspace's one word list; the engine's WordList (engine/generation/hygiene_step.py) in store form."""

    __tablename__ = "word_lists"
    __table_args__ = (UniqueConstraint("workspace_id", name="uq_word_list_workspace"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    banned: Mapped[list[str]] = mapped_column(JSON, default=list)
    banned_mode: Mapped[str] = mapped_column(String(16), default="refuse")
    replacement: Mapped[str] = mapped_column(String(100), default="")
    brands: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
