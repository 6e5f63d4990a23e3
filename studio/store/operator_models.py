"""Operators granted in the store (besides the OPERATOR_EMAILS setting): `python -m studio.admin grant-operator`."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from studio.store.base import Base, utcnow


class OperatorGrant(Base):
    """An account that operates the studio (the Admin pages across workspaces); not a tenant row."""

    __tablename__ = "operator_grants"
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    granted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    note: Mapped[str] = mapped_column(String(200), default="")
