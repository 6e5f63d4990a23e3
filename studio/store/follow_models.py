"""Sets that follow their data (issue 19): a diff per new data set version, its apply chunks, its conflicts."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from studio.store.base import Base, TenantMixin, new_id, utcnow

DIFF_STATUSES = ("review", "applying", "applied", "dismissed", "superseded", "error")


class FeedDiff(TenantMixin, Base):
    """What a new version of a set's data set changes in the set: counts and samples per kind, by field.

    One per (set, from_version, to_version): computing it again finds this row instead of a second one.
    `result` holds what applying it wrote (counts per kind of write), summed chunk by chunk.
    """

    __tablename__ = "feed_diffs"
    __table_args__ = (UniqueConstraint("campaign_set_id", "from_version", "to_version", name="uq_feed_diff"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    campaign_set_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaign_sets.id", ondelete="CASCADE"), index=True)
    dataset_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("datasets.id", ondelete="SET NULL"))
    from_version: Mapped[int] = mapped_column(Integer)
    to_version: Mapped[int] = mapped_column(Integer)
    key_column: Mapped[str | None] = mapped_column(String(120))  # None: rows are matched by position
    status: Mapped[str] = mapped_column(String(16), default="review")
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)    # added/removed/changed/unchanged/moved
    by_field: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # changed rows per source column
    samples: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)   # a few rows of each kind
    columns: Mapped[list[str]] = mapped_column(JSON, default=list)        # the source columns compared
    removed: Mapped[list[Any]] = mapped_column(JSON, default=list)        # [key, old row] of removed rows (keyed sets)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)    # what applying wrote
    chunks_total: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    automatic: Mapped[bool] = mapped_column(default=False)  # applied without review (the set's follow mode)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]


class FeedApplyChunk(TenantMixin, Base):
    """Rows [row_start, row_end) of the new version, applied in one transaction (exactly once)."""

    __tablename__ = "feed_apply_chunks"
    __table_args__ = (UniqueConstraint("diff_id", "index", name="uq_feed_apply_chunk"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    diff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("feed_diffs.id", ondelete="CASCADE"), index=True)
    index: Mapped[int] = mapped_column(Integer)
    row_start: Mapped[int] = mapped_column(BigInteger)
    row_end: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued/running/done
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    written: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class FollowConflict(TenantMixin, Base):
    """A hand-edited variation whose source row changed: what the new version generates, to take or leave."""

    __tablename__ = "follow_conflicts"
    __table_args__ = (UniqueConstraint("diff_id", "variation_id", name="uq_follow_conflict"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    diff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("feed_diffs.id", ondelete="CASCADE"), index=True)
    campaign_set_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaign_sets.id", ondelete="CASCADE"), index=True)
    variation_id: Mapped[uuid.UUID] = mapped_column()  # no foreign key: variations are written in bulk (0013)
    row_key: Mapped[str | None] = mapped_column(Text)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)
    title: Mapped[str] = mapped_column(Text, default="")
    content_hash: Mapped[str] = mapped_column(String(32))
    resolution: Mapped[str] = mapped_column(String(16), default="")  # "" open / mine / new
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
