"""Data sets fed from a URL (issue 19): the source and its schedule, and the log of every fetch."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from studio.store.base import Base, TenantMixin, new_id, utcnow


class FeedSource(TenantMixin, Base):
    """Where a data set's versions come from: an HTTP(S) address fetched now or every `interval_minutes`.

    Credentials are one encrypted JSON object (`credentials_enc`, studio.publishing.crypto); `auth_label`
    is what the page may show of them (the user name or the header's name, never a password or value)."""

    __tablename__ = "feed_sources"
    __table_args__ = (UniqueConstraint("dataset_id", name="uq_feed_source_dataset"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    dataset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2000))
    format: Mapped[str] = mapped_column(String(16), default="auto")
    auth_kind: Mapped[str] = mapped_column(String(16), default="none")  # none / basic / header
    auth_label: Mapped[str] = mapped_column(String(200), default="")
    credentials_enc: Mapped[str | None] = mapped_column(Text)
    interval_minutes: Mapped[int | None] = mapped_column(Integer)  # None: fetched only on demand
    next_fetch_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    queued_at: Mapped[dt.datetime | None]  # a sweep handed a fetch to the workers (cleared when it ran)
    paused: Mapped[bool] = mapped_column(default=False)
    paused_reason: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_fetch_at: Mapped[dt.datetime | None]
    last_success_at: Mapped[dt.datetime | None]
    last_change_at: Mapped[dt.datetime | None]
    last_outcome: Mapped[str | None] = mapped_column(String(16))
    last_error: Mapped[str | None] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class FeedFetch(TenantMixin, Base):
    """One fetch of a source: new_version / unchanged / not_modified / failed, and why it failed."""

    __tablename__ = "feed_fetches"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    source_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("feed_sources.id", ondelete="CASCADE"), index=True)
    trigger: Mapped[str] = mapped_column(String(16), default="schedule")  # schedule / manual / create
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    outcome: Mapped[str] = mapped_column(String(16))
    http_status: Mapped[int | None] = mapped_column(Integer)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    version: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
