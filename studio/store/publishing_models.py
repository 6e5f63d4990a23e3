"""Models of publishing: Reddit accounts, OAuth states, per-set publish settings, the outbox, its events, metrics."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from studio.store.base import Base, TenantMixin, new_id, utcnow


class RedditAccount(TenantMixin, Base):
    """A connected Reddit account; every secret column holds MultiFernet ciphertext, never plain text."""

    __tablename__ = "reddit_accounts"
    __table_args__ = (UniqueConstraint("workspace_id", "username", name="uq_reddit_account_name"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(64))
    auth_kind: Mapped[str] = mapped_column(String(16))  # oauth / script
    client_id: Mapped[str] = mapped_column(String(120), default="")
    client_secret_enc: Mapped[str | None] = mapped_column(Text)
    password_enc: Mapped[str | None] = mapped_column(Text)
    refresh_token_enc: Mapped[str | None] = mapped_column(Text)
    scopes: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(20), default="active")  # active / reconnect_needed / disabled
    status_reason: Mapped[str] = mapped_column(Text, default="")
    link_karma: Mapped[int] = mapped_column(Integer, default=0)
    comment_karma: Mapped[int] = mapped_column(Integer, default=0)
    reddit_created_at: Mapped[dt.datetime | None]
    validated_at: Mapped[dt.datetime | None]
    connected_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class RedditOAuthState(TenantMixin, Base):
    """An authorization-code flow in progress: the hash of its `state`, who started it, until when."""

    __tablename__ = "reddit_oauth_states"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    expires_at: Mapped[dt.datetime]


class PublishSettings(TenantMixin, Base):
    """How a campaign set is published: accounts, time zone, preferred hours, flair column, comments."""

    __tablename__ = "publish_settings"
    __table_args__ = (UniqueConstraint("campaign_set_id", name="uq_publish_settings_set"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    campaign_set_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaign_sets.id", ondelete="CASCADE"))
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PublishItem(TenantMixin, Base):
    """One post or comment to publish: the outbox row whose state machine guarantees exactly once."""

    __tablename__ = "publish_items"
    __table_args__ = (
        UniqueConstraint("workspace_id", "dedupe_key", name="uq_publish_item_key"),
        Index("ix_publish_items_state_due", "state", "scheduled_at"),
        Index("ix_publish_items_account_time", "account_id", "scheduled_at"),
    )
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    campaign_set_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaign_sets.id", ondelete="CASCADE"), index=True)
    variation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("variations.id", ondelete="SET NULL"))
    dedupe_key: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(16))  # thread / comment
    account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("reddit_accounts.id", ondelete="SET NULL"))
    subreddit: Mapped[str] = mapped_column(String(64), default="")
    title: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(Text, default="")
    flair_id: Mapped[str] = mapped_column(String(64), default="")
    flair_text: Mapped[str] = mapped_column(String(64), default="")
    parent_item_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("publish_items.id", ondelete="SET NULL"))
    parent_fullname: Mapped[str] = mapped_column(String(32), default="")
    scheduled_at: Mapped[dt.datetime]
    jitter_seconds: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(16), default="scheduled")
    reason: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    job_gen: Mapped[int] = mapped_column(Integer, default=0)
    submitting_at: Mapped[dt.datetime | None]
    posted_at: Mapped[dt.datetime | None]
    reddit_id: Mapped[str] = mapped_column(String(32), default="")
    reddit_url: Mapped[str] = mapped_column(Text, default="")
    removed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PublishEvent(TenantMixin, Base):
    """One transition of an outbox item, with Reddit's words when it gave any."""

    __tablename__ = "publish_events"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("publish_items.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    from_state: Mapped[str] = mapped_column(String(16), default="")
    to_state: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text, default="")


class PostMetric(TenantMixin, Base):
    """A reading of a posted item's score, ratio, comments and removal, taken by the hourly sync."""

    __tablename__ = "post_metrics"
    __table_args__ = (Index("ix_post_metrics_item_at", "item_id", "at"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("publish_items.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    score: Mapped[int] = mapped_column(Integer, default=0)
    upvote_ratio: Mapped[float] = mapped_column(Float, default=0.0)
    num_comments: Mapped[int] = mapped_column(Integer, default=0)
    removed: Mapped[bool] = mapped_column(Boolean, default=False)
