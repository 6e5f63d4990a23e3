"""The public API's rows: API keys (only a SHA-256 of the secret is kept) and idempotency records."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from studio.store.base import Base, TenantMixin, new_id, utcnow


class ApiKey(TenantMixin, Base):
    """One key of a workspace: acts for its creator with at most `role`, within `scopes`."""

    __tablename__ = "api_keys"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(24))  # "dotoro_sk_" + the first characters: shown in lists
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    role: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_used_address: Mapped[str | None] = mapped_column(String(64), default=None)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class IdempotencyRecord(TenantMixin, Base):
    """The response to a POST sent with an Idempotency-Key, replayed when the same key and route come again."""

    __tablename__ = "api_idempotency"
    __table_args__ = (UniqueConstraint("key_id", "route", "idempotency_key", name="uq_api_idempotency"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    key_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"))
    route: Mapped[str] = mapped_column(String(300))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    body_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    headers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
