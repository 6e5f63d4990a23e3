"""events (issues 19, 20): event outbox, notifications, preferences, outgoing webhooks

Revision ID: 0016
Revises: 0015
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from studio.store.rls import drop_policy_sql, tenant_policy_sql

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

TABLES = ("events", "notifications", "notification_preferences", "webhook_endpoints", "deliveries",
          "delivery_attempts")


def _tenant() -> sa.Column:
    return sa.Column("workspace_id", sa.Uuid(), sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False,
                     index=True)


def _user(name: str = "user_id", *, nullable: bool = False, ondelete: str = "CASCADE") -> sa.Column:
    return sa.Column(name, sa.Uuid(), sa.ForeignKey("users.id", ondelete=ondelete), nullable=nullable)


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "events",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("kind", sa.String(48), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        _user(nullable=True, ondelete="SET NULL"),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("dispatched_at", ts, nullable=True),
        _tenant(),
    )
    op.create_index("ix_events_pending", "events", ["workspace_id", "dispatched_at", "created_at"])
    op.create_table(
        "notifications",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("event_id", sa.Uuid(), sa.ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
        _user(),
        sa.Column("kind", sa.String(48), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.String(300), nullable=False),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("read_at", ts, nullable=True),
        _tenant(),
        sa.UniqueConstraint("event_id", "user_id", name="uq_notification_event_user"),
    )
    op.create_index("ix_notifications_inbox", "notifications", ["workspace_id", "user_id", "read_at", "created_at"])
    op.create_table(
        "notification_preferences",
        sa.Column("id", sa.Uuid(), primary_key=True),
        _user(),
        sa.Column("kind", sa.String(48), nullable=False),
        sa.Column("in_app", sa.Boolean(), nullable=False),
        sa.Column("email", sa.Boolean(), nullable=False),
        _tenant(),
        sa.UniqueConstraint("workspace_id", "user_id", "kind", name="uq_notification_preference"),
    )
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("url_enc", sa.Text(), nullable=False),
        sa.Column("url_host", sa.String(255), nullable=False),
        sa.Column("description", sa.String(200), nullable=False),
        sa.Column("kinds", sa.JSON(), nullable=False),
        sa.Column("secret_enc", sa.Text(), nullable=True),
        sa.Column("previous_secret_enc", sa.Text(), nullable=True),
        sa.Column("previous_secret_expires_at", ts, nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        _user("created_by", nullable=True, ondelete="SET NULL"),
        sa.Column("created_at", ts, nullable=False),
        _tenant(),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("event_id", sa.Uuid(), sa.ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("endpoint_id", sa.Uuid(), sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=True,
                  index=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", ts, nullable=False),
        sa.Column("lease_until", ts, nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("last_latency_ms", sa.Integer(), nullable=True),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("succeeded_at", ts, nullable=True),
        _tenant(),
        sa.UniqueConstraint("event_id", "channel", "target", name="uq_delivery_event_target"),
    )
    op.create_index("ix_deliveries_due", "deliveries", ["workspace_id", "state", "next_attempt_at"])
    op.create_table(
        "delivery_attempts",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("delivery_id", sa.Uuid(), sa.ForeignKey("deliveries.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("started_at", ts, nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("manual", sa.Boolean(), nullable=False),
        _tenant(),
        sa.UniqueConstraint("delivery_id", "number", name="uq_delivery_attempt_number"),
    )
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            for stmt in tenant_policy_sql(table):
                op.execute(stmt)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            for stmt in drop_policy_sql(table):
                op.execute(stmt)
    for table in reversed(TABLES):
        op.drop_table(table)
