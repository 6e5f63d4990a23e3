"""Reddit paid ads (issue 21): ads connections, OAuth states, the sync ledger, sync runs, daily ad metrics

Revision ID: 0019
Revises: 0018

The ledger (ads_entities) is what makes a sync idempotent: one row per campaign, ad group, post and ad of a
set, keyed by the studio's own key (names for campaigns and ad groups, the variation for an ad, the content
for a post), holding Reddit's id as soon as Reddit answered a create and the fields last sent (a remote edit
is a conflict). All five tables are tenant tables under row-level security.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from studio.store.rls import drop_policy_sql, tenant_policy_sql

TABLES = ("ads_connections", "ads_oauth_states", "ads_entities", "ads_syncs", "ads_metrics")

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def _tenant(table: str) -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], name=f"fk_{table}_workspace_id_workspaces",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
    ]


def _user_fk(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], ["users.id"], name=f"fk_{table}_{column}_users", ondelete="SET NULL")


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "ads_connections",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("refresh_token_enc", sa.Text(), nullable=True),
        sa.Column("scopes", sa.String(200), nullable=False),
        sa.Column("business_id", sa.String(64), nullable=False),
        sa.Column("ad_account_id", sa.String(64), nullable=False),
        sa.Column("ad_account_name", sa.String(200), nullable=False),
        sa.Column("funding_instrument_id", sa.String(64), nullable=False),
        sa.Column("profile_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=False),
        sa.Column("connected_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("updated_at", ts, nullable=False),
        _user_fk("ads_connections", "connected_by"),
        sa.UniqueConstraint("workspace_id", "username", name="uq_ads_connection_user"),
        *_tenant("ads_connections"),
    )
    op.create_table(
        "ads_oauth_states",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("state_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("expires_at", ts, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_ads_oauth_states_user_id_users", ondelete="CASCADE"),
        sa.UniqueConstraint("state_hash", name="uq_ads_oauth_states_state_hash"),
        *_tenant("ads_oauth_states"),
    )
    def set_fk() -> list[sa.Column]:
        return [sa.Column("campaign_set_id", sa.Uuid(), nullable=False),
                sa.Column("connection_id", sa.Uuid(), nullable=False)]

    def parents(table: str) -> list[sa.ForeignKeyConstraint]:
        return [sa.ForeignKeyConstraint(["campaign_set_id"], ["campaign_sets.id"],
                                        name=f"fk_{table}_campaign_set_id_campaign_sets", ondelete="CASCADE"),
                sa.ForeignKeyConstraint(["connection_id"], ["ads_connections.id"],
                                        name=f"fk_{table}_connection_id_ads_connections", ondelete="CASCADE")]

    op.create_table(
        "ads_entities",
        sa.Column("id", sa.Uuid(), nullable=False),
        *set_fk(),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("parent_key", sa.Text(), nullable=False),
        sa.Column("variation_id", sa.Uuid(), nullable=True),
        sa.Column("platform_id", sa.String(64), nullable=False),
        sa.Column("sent", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("synced_at", ts, nullable=True),
        *parents("ads_entities"),
        sa.UniqueConstraint("campaign_set_id", "connection_id", "kind", "key", name="uq_ads_entity_key"),
        *_tenant("ads_entities"),
    )
    op.create_table(
        "ads_syncs",
        sa.Column("id", sa.Uuid(), nullable=False),
        *set_fk(),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("go_live", sa.Boolean(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("started_at", ts, nullable=True),
        sa.Column("finished_at", ts, nullable=True),
        *parents("ads_syncs"),
        _user_fk("ads_syncs", "requested_by"),
        *_tenant("ads_syncs"),
    )
    op.create_table(
        "ads_metrics",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("connection_id", sa.Uuid(), nullable=False),
        sa.Column("ad_id", sa.String(64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("impressions", sa.BigInteger(), nullable=False),
        sa.Column("clicks", sa.BigInteger(), nullable=False),
        sa.Column("spend_micro", sa.BigInteger(), nullable=False),
        sa.Column("conversions", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", ts, nullable=False),
        sa.ForeignKeyConstraint(["connection_id"], ["ads_connections.id"],
                                name="fk_ads_metrics_connection_id_ads_connections", ondelete="CASCADE"),
        sa.UniqueConstraint("connection_id", "ad_id", "day", name="uq_ads_metric_day"),
        *_tenant("ads_metrics"),
    )
    for table in TABLES:
        op.create_index(f"ix_{table}_workspace_id", table, ["workspace_id"])
    op.create_index("ix_ads_entities_campaign_set_id", "ads_entities", ["campaign_set_id"])
    op.create_index("ix_ads_entity_platform", "ads_entities", ["connection_id", "platform_id"])
    op.create_index("ix_ads_syncs_campaign_set_id", "ads_syncs", ["campaign_set_id"])
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
