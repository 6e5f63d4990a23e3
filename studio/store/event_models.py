"""Models of events (issues 19, 20): the outbox, in-app notifications, preferences, webhook endpoints, deliveries."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from studio.store.base import Base, TenantMixin, new_id, utcnow


class Event(TenantMixin, Base):
    """One significant outcome, written in the transaction that caused it; `dispatched_at` once fanned out."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_pending", "workspace_id", "dispatched_at", "created_at"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(48))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    dispatched_at: Mapped[dt.datetime | None]


class Notification(TenantMixin, Base):
    """An in-app notification of one event for one member."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("event_id", "user_id", name="uq_notification_event_user"),
        Index("ix_notifications_inbox", "workspace_id", "user_id", "read_at", "created_at"),
    )
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(48))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    read_at: Mapped[dt.datetime | None]


class NotificationPreference(TenantMixin, Base):
    """A member's choice for one event kind (absent: the kind's defaults)."""

    __tablename__ = "notification_preferences"
    __table_args__ = (UniqueConstraint("workspace_id", "user_id", "kind", name="uq_notification_preference"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(48))
    in_app: Mapped[bool] = mapped_column(Boolean, default=True)
    email: Mapped[bool] = mapped_column(Boolean, default=False)


class WebhookEndpoint(TenantMixin, Base):
    """Where events are POSTed: a signed outgoing webhook, or a Slack-compatible incoming webhook (format)."""

    __tablename__ = "webhook_endpoints"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    format: Mapped[str] = mapped_column(String(16), default="signed")  # signed / slack
    url_enc: Mapped[str] = mapped_column(Text)  # Slack URLs are themselves secrets: every URL is encrypted
    url_host: Mapped[str] = mapped_column(String(255), default="")  # shown in lists
    description: Mapped[str] = mapped_column(String(200), default="")
    kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    secret_enc: Mapped[str | None] = mapped_column(Text)
    previous_secret_enc: Mapped[str | None] = mapped_column(Text)
    previous_secret_expires_at: Mapped[dt.datetime | None]
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Delivery(TenantMixin, Base):
    """One event to one destination (webhook endpoint, Slack, a member's e-mail), tried until it succeeds or 24 h pass.

    state: pending → delivering (a worker holds `lease_until`) → succeeded / failed (gave up); a lease that
    runs out (the worker died) makes it due again, so nothing is lost, and the row is never duplicated.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "channel", "target", name="uq_delivery_event_target"),
        Index("ix_deliveries_due", "workspace_id", "state", "next_attempt_at"),
    )
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))  # webhook / slack / email
    target: Mapped[str] = mapped_column(String(64))  # endpoint id or user id
    endpoint_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"),
                                                          index=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[dt.datetime | None]
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_latency_ms: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    succeeded_at: Mapped[dt.datetime | None]


class DeliveryAttempt(TenantMixin, Base):
    """The log of a delivery: one row per try, with the response code, latency and error."""

    __tablename__ = "delivery_attempts"
    __table_args__ = (UniqueConstraint("delivery_id", "number", name="uq_delivery_attempt_number"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    delivery_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    status: Mapped[int | None] = mapped_column(Integer)
    ok: Mapped[bool] = mapped_column(Boolean, default=False)
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str] = mapped_column(Text, default="")
    manual: Mapped[bool] = mapped_column(Boolean, default=False)
