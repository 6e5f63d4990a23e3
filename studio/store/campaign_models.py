"""Models of the content side: saved templates and rule sets, campaign sets, generation runs, variations."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from studio.store.base import Base, TenantMixin, new_id, utcnow


class Template(TenantMixin, Base):
    """A saved template: one source per field of a platform format; every save is a new version."""

    __tablename__ = "templates"
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="uq_template_name"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(120))
    platform: Mapped[str] = mapped_column(String(40))
    format: Mapped[str] = mapped_column(String(40))
    fields: Mapped[dict[str, str]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=1)
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class RuleSet(TenantMixin, Base):
    __tablename__ = "rule_sets"
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="uq_rule_set_name"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(120))
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")  # every save is a version
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CampaignSet(TenantMixin, Base):
    """A configuration frozen from the preview: data set version × rules × templates → variations."""

    __tablename__ = "campaign_sets"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(120))
    dataset_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("datasets.id", ondelete="SET NULL"))
    dataset_version: Mapped[int] = mapped_column(Integer)
    platform: Mapped[str] = mapped_column(String(40))
    format: Mapped[str] = mapped_column(String(40))
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    status_reason: Mapped[str] = mapped_column(Text, default="")
    variation_count: Mapped[int] = mapped_column(BigInteger, default=0)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Following the data (issue 19, migration 0015). key_column is frozen when the set is made: its variations'
    # ids derive from (set, key, variation) instead of (set, row, variation); None keeps row identity.
    key_column: Mapped[str | None] = mapped_column(String(120))
    follow_mode: Mapped[str] = mapped_column(String(16), default="review", server_default="review")  # off/review/auto
    held: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))  # nothing publishes yet


class GenerationRun(TenantMixin, Base):
    __tablename__ = "generation_runs"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    campaign_set_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaign_sets.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued/running/done/cancelled/error
    rows_total: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_done: Mapped[int] = mapped_column(BigInteger, default=0)
    chunks_total: Mapped[int] = mapped_column(Integer, default=0)
    variations: Mapped[int] = mapped_column(BigInteger, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    overwrite_edits: Mapped[bool] = mapped_column(Boolean, default=False)
    diff: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # What the run generated, counted from its variations as the preview counts them (PreviewStats.figures)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default=text("'{}'"))
    # the set's variation count when the run started: the last chunk adds the run's diff to it (migration 0023)
    variations_before: Mapped[int | None] = mapped_column(BigInteger)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
    seconds: Mapped[float] = mapped_column(Float, default=0.0)


class GenerationChunk(TenantMixin, Base):
    __tablename__ = "generation_chunks"
    __table_args__ = (UniqueConstraint("run_id", "index", name="uq_chunk"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("generation_runs.id", ondelete="CASCADE"), index=True)
    index: Mapped[int] = mapped_column(Integer)
    row_start: Mapped[int] = mapped_column(BigInteger)
    row_end: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued/running/done/failed/cancelled
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    variations: Mapped[int] = mapped_column(BigInteger, default=0)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Variation(TenantMixin, Base):
    """One generated item; its id is derived from (set, row, variation) so re-runs never duplicate."""

    __tablename__ = "variations"
    __table_args__ = (
        # the page's sort and a chunk's range; the tenant and status in its leaves make counts index-only (0024)
        Index("ix_variation_set_row", "campaign_set_id", "row_index", "variation_index",
              postgresql_include=["workspace_id", "status"]),
        # reviewed rows only: a generation run (all pending) writes nothing into it (migration 0024)
        Index("ix_variation_set_reviewed", "campaign_set_id", "status", "row_index", "variation_index",
              postgresql_where=text("status <> 'pending'"), sqlite_where=text("status <> 'pending'")),
    )
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    # no foreign key nor index on the tenant (migration 0013): RLS checks it on write, the set's cascade deletes
    workspace_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    campaign_set_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaign_sets.id", ondelete="CASCADE"))
    row_index: Mapped[int] = mapped_column(BigInteger)
    variation_index: Mapped[int] = mapped_column(Integer)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)
    title: Mapped[str] = mapped_column(Text, default="")
    subreddit: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending/approved/rejected
    valid: Mapped[bool] = mapped_column(Boolean, default=True)
    problems: Mapped[str] = mapped_column(Text, default="")
    edited: Mapped[bool] = mapped_column(Boolean, default=False)
    content_hash: Mapped[str] = mapped_column(String(32), default="")
    # Of an edited variation: the hash of what the latest run generated for it (the edit kept). It differs
    # from content_hash (the generated text the edit started from) when the source changed: a conflict.
    source_hash: Mapped[str] = mapped_column(String(32), default="", server_default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))      # add_tag rules
    groups: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))    # add_to_group rules
    run_id: Mapped[uuid.UUID | None] = mapped_column()  # provenance only: no foreign key (migration 0013)
    row_key: Mapped[str | None] = mapped_column(Text)  # the row's key of a keyed set (migration 0015)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
