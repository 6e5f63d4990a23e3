"""Models of Reddit paid ads (issue 21): ads connections, the sync ledger, sync runs and daily ad metrics."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from studio.store.base import Base, TenantMixin, new_id, utcnow


class AdsConnection(TenantMixin, Base):
    """A Reddit Ads business connected through OAuth, with the ad account, funding instrument and profile picked.

    ``refresh_token_enc`` is MultiFernet ciphertext (studio.publishing.crypto), never plain text.
    """

    __tablename__ = "ads_connections"
    __table_args__ = (UniqueConstraint("workspace_id", "username", name="uq_ads_connection_user"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(64))
    refresh_token_enc: Mapped[str | None] = mapped_column(Text)
    scopes: Mapped[str] = mapped_column(String(200), default="")
    business_id: Mapped[str] = mapped_column(String(64), default="")
    ad_account_id: Mapped[str] = mapped_column(String(64), default="")
    ad_account_name: Mapped[str] = mapped_column(String(200), default="")
    funding_instrument_id: Mapped[str] = mapped_column(String(64), default="")
    profile_id: Mapped[str] = mapped_column(String(64), default="")
    currency: Mapped[str] = mapped_column(String(3), default="", server_default="")  # ISO 4217; "" = not known yet
    status: Mapped[str] = mapped_column(String(20), default="active")  # active / reconnect_needed
    status_reason: Mapped[str] = mapped_column(Text, default="")
    connected_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AdsOAuthState(TenantMixin, Base):
    """An ads authorization in progress: the hash of its `state`, who started it, until when."""

    __tablename__ = "ads_oauth_states"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    expires_at: Mapped[dt.datetime] = mapped_column()


class AdsEntity(TenantMixin, Base):
    """The ledger: one campaign, ad group, post or ad of a set as the studio last sent it to Reddit.

    ``platform_id`` is written in its own committed step right after Reddit answers a create, and before a
    create the entity is looked up by name (posts: by content) under its parent, so a crash between the
    answer and the write adopts the entity instead of creating a twin. ``sent`` holds the fields last sent:
    a remote value that differs from it was edited on Reddit (a conflict, never overwritten silently).
    """

    __tablename__ = "ads_entities"
    __table_args__ = (
        UniqueConstraint("campaign_set_id", "connection_id", "kind", "key", name="uq_ads_entity_key"),
        Index("ix_ads_entity_platform", "connection_id", "platform_id"),
    )
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    campaign_set_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaign_sets.id", ondelete="CASCADE"), index=True)
    connection_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ads_connections.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # campaign / ad_group / post / ad
    key: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text, default="")
    parent_key: Mapped[str] = mapped_column(Text, default="")
    variation_id: Mapped[uuid.UUID | None] = mapped_column()
    platform_id: Mapped[str] = mapped_column(String(64), default="")
    sent: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending/synced/conflict/failed/removed
    paused: Mapped[bool] = mapped_column(Boolean, default=True)
    message: Mapped[str] = mapped_column(Text, default="")
    synced_at: Mapped[dt.datetime | None] = mapped_column()


class AdsSync(TenantMixin, Base):
    """One sync of a set to an ads connection: queued → running → done / failed / reconnect."""

    __tablename__ = "ads_syncs"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    campaign_set_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaign_sets.id", ondelete="CASCADE"), index=True)
    connection_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ads_connections.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    go_live: Mapped[bool] = mapped_column(Boolean, default=False)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    requested_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column()
    finished_at: Mapped[dt.datetime | None] = mapped_column()


class AdsMetric(TenantMixin, Base):
    """Reddit's daily delivery figures of one ad (money in micro-currency)."""

    __tablename__ = "ads_metrics"
    __table_args__ = (UniqueConstraint("connection_id", "ad_id", "day", name="uq_ads_metric_day"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    connection_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ads_connections.id", ondelete="CASCADE"))
    ad_id: Mapped[str] = mapped_column(String(64))
    day: Mapped[dt.date] = mapped_column(Date)
    impressions: Mapped[int] = mapped_column(BigInteger, default=0)
    clicks: Mapped[int] = mapped_column(BigInteger, default=0)
    spend_micro: Mapped[int] = mapped_column(BigInteger, default=0)
    conversions: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
