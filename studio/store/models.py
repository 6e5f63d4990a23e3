"""Typed models of the store. Tenant tables carry workspace_id NOT NULL (TenantMixin)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from studio.store.base import Base, TenantMixin, new_id, utcnow


class User(Base):
    __tablename__ = "users"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(100))
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_sign_in_at: Mapped[dt.datetime | None]
    # Bumped by every password change or reset: a reset link carries it, so it works once (issue #15).
    password_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class AuthSession(Base):
    """A signed-in browser: the cookie is only honoured while its row is active (server-side sign-out)."""

    __tablename__ = "auth_sessions"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]
    client_address: Mapped[str | None] = mapped_column(String(64))


class Workspace(Base):
    __tablename__ = "workspaces"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Who may approve or reject variations: "editors" (any member who can edit) or "admins" (admins and owners).
    approval: Mapped[str] = mapped_column(String(16), default="editors", server_default="editors")


class WorkspaceMember(TenantMixin, Base):
    __tablename__ = "workspace_members"
    __table_args__ = (UniqueConstraint("workspace_id", "user_id", name="uq_member"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Dataset(TenantMixin, Base):
    __tablename__ = "datasets"
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="uq_dataset_name"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(120))
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Row identity (issue 19): the column whose value names a row across versions; detected at upload
    # (engine.row_keys), changeable; None when no column qualifies. Each version's info["keys"] reports it.
    key_column: Mapped[str | None] = mapped_column(String(120))
    key_column_chosen: Mapped[bool] = mapped_column(default=False, server_default=false())  # set by a person: kept


class DatasetVersion(TenantMixin, Base):
    __tablename__ = "dataset_versions"
    __table_args__ = (UniqueConstraint("dataset_id", "version", name="uq_dataset_version"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    dataset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(255))
    row_count: Mapped[int] = mapped_column(BigInteger)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    columns: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    info: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    storage_key: Mapped[str] = mapped_column(String(255))
    content_hash: Mapped[str | None] = mapped_column(String(64))  # sha256 of the uploaded bytes: duplicates are recognised
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class DatasetBlob(TenantMixin, Base):
    """Parquet bytes of a data set version in team mode, so every worker on every machine can read them."""

    __tablename__ = "dataset_blobs"
    storage_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AuditEvent(TenantMixin, Base):
    __tablename__ = "audit_events"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    client_address: Mapped[str | None] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(Text, default="")



class Invitation(TenantMixin, Base):
    """A single-use, expiring invitation by email with a role; only the token's hash is stored."""

    __tablename__ = "invitations"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(254), index=True)
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    sent_count: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending/accepted/declined/revoked
    responded_at: Mapped[dt.datetime | None]


class BillingAccount(TenantMixin, Base):
    """A workspace's plan: its Stripe customer and the newest subscription state applied (no row: Free)."""

    __tablename__ = "billing_accounts"
    __table_args__ = (UniqueConstraint("workspace_id", name="uq_billing_account_workspace"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    stripe_customer_id: Mapped[str | None] = mapped_column(String(64), index=True)
    subscription_id: Mapped[str | None] = mapped_column(String(64))
    subscription_plan: Mapped[str | None] = mapped_column(String(32))
    subscription_status: Mapped[str | None] = mapped_column(String(32))
    # Stripe's epoch seconds: which subscription, which period, and as of when (an older state never wins)
    subscription_created: Mapped[int | None] = mapped_column(BigInteger)
    period_start: Mapped[int | None] = mapped_column(BigInteger)
    period_end: Mapped[int | None] = mapped_column(BigInteger)
    cancel_at_period_end: Mapped[bool] = mapped_column(default=False)
    state_as_of: Mapped[int | None] = mapped_column(BigInteger)
    last_invoice_status: Mapped[str | None] = mapped_column(String(32))
    last_invoice_at: Mapped[int | None] = mapped_column(BigInteger)
    override_plan: Mapped[str | None] = mapped_column(String(32))
    override_reason: Mapped[str | None] = mapped_column(Text)
    override_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    override_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class UsageEvent(TenantMixin, Base):
    """Metered usage as it happens; the key makes a retried recording count once; batches go to Stripe."""

    __tablename__ = "usage_events"
    __table_args__ = (UniqueConstraint("workspace_id", "idempotency_key", name="uq_usage_key"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    metric: Mapped[str] = mapped_column(String(32))
    amount: Mapped[int] = mapped_column(BigInteger)
    period: Mapped[str] = mapped_column(String(7), index=True)  # "2026-05", UTC calendar month
    idempotency_key: Mapped[str] = mapped_column(String(200))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    meter_batch: Mapped[str | None] = mapped_column(String(64), index=True)
    meter_reported_at: Mapped[dt.datetime | None]


class StripeEvent(TenantMixin, Base):
    """A Stripe webhook event already applied to this workspace (deliveries repeat; apply once)."""

    __tablename__ = "stripe_events"
    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    created: Mapped[int] = mapped_column(BigInteger)
    outcome: Mapped[str] = mapped_column(String(200), default="")
    processed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class OperatorAction(Base):
    """What a studio operator looked at or changed across workspaces (not a tenant table: operators are above them)."""

    __tablename__ = "operator_actions"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    operator_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    operator_email: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


TENANT_MODELS: tuple[type, ...] = tuple(m.class_ for m in Base.registry.mappers if issubclass(m.class_, TenantMixin))
