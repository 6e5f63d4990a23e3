"""feeds (issue 19): sets that follow their data — diffs, apply, word lists

Campaign sets gain key_column (frozen at creation: variation ids derive from the row's key instead of
its position, so a row inserted in the middle of a feed shifts nothing), follow_mode (off / review /
auto) and held (made paused: nothing publishes until a member approves the set). Variations gain
row_key (nullable: sets without a key keep row identity, and an added nullable column rewrites no row).
feed_diffs records what each new data set version changes in a set; feed_apply_chunks make applying it
exactly-once and resumable like generation chunks; follow_conflicts hold what the new version
generates for a hand-edited variation until a member keeps the edit or takes the new text.

Revision ID: 0015
Revises: 0014
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from studio.store.rls import drop_policy_sql, tenant_policy_sql

TABLES = ("feed_diffs", "feed_apply_chunks", "follow_conflicts")

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def _tenant(table: str) -> list[sa.schema.SchemaItem]:
    return [sa.Column("workspace_id", sa.Uuid(), nullable=False),
            sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], name=op.f(f"fk_{table}_workspace_id_workspaces"),
                                    ondelete="CASCADE")]


def upgrade() -> None:
    with op.batch_alter_table("campaign_sets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_column", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("follow_mode", sa.String(length=16), nullable=False, server_default="review"))
        batch_op.add_column(sa.Column("held", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("variations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("row_key", sa.Text(), nullable=True))
    op.create_table(
        "feed_diffs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("campaign_set_id", sa.Uuid(), nullable=False),
        sa.Column("dataset_id", sa.Uuid(), nullable=True),
        sa.Column("from_version", sa.Integer(), nullable=False),
        sa.Column("to_version", sa.Integer(), nullable=False),
        sa.Column("key_column", sa.String(length=120), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("by_field", sa.JSON(), nullable=False),
        sa.Column("samples", sa.JSON(), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("removed", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("chunks_total", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("automatic", sa.Boolean(), nullable=False),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        *_tenant("feed_diffs"),
        sa.ForeignKeyConstraint(["campaign_set_id"], ["campaign_sets.id"],
                                name=op.f("fk_feed_diffs_campaign_set_id_campaign_sets"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"], name=op.f("fk_feed_diffs_dataset_id_datasets"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"], name=op.f("fk_feed_diffs_decided_by_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_diffs")),
        sa.UniqueConstraint("campaign_set_id", "from_version", "to_version", name="uq_feed_diff"),
    )
    op.create_table(
        "feed_apply_chunks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("diff_id", sa.Uuid(), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("row_start", sa.BigInteger(), nullable=False),
        sa.Column("row_end", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("written", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        *_tenant("feed_apply_chunks"),
        sa.ForeignKeyConstraint(["diff_id"], ["feed_diffs.id"], name=op.f("fk_feed_apply_chunks_diff_id_feed_diffs"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_apply_chunks")),
        sa.UniqueConstraint("diff_id", "index", name="uq_feed_apply_chunk"),
    )
    op.create_table(
        "follow_conflicts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("diff_id", sa.Uuid(), nullable=False),
        sa.Column("campaign_set_id", sa.Uuid(), nullable=False),
        sa.Column("variation_id", sa.Uuid(), nullable=False),
        sa.Column("row_key", sa.Text(), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=32), nullable=False),
        sa.Column("resolution", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        *_tenant("follow_conflicts"),
        sa.ForeignKeyConstraint(["diff_id"], ["feed_diffs.id"], name=op.f("fk_follow_conflicts_diff_id_feed_diffs"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["campaign_set_id"], ["campaign_sets.id"],
                                name=op.f("fk_follow_conflicts_campaign_set_id_campaign_sets"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_conflicts")),
        sa.UniqueConstraint("diff_id", "variation_id", name="uq_follow_conflict"),
    )
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(batch_op.f(f"ix_{table}_workspace_id"), ["workspace_id"], unique=False)
    with op.batch_alter_table("feed_diffs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feed_diffs_campaign_set_id"), ["campaign_set_id"], unique=False)
    with op.batch_alter_table("feed_apply_chunks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feed_apply_chunks_diff_id"), ["diff_id"], unique=False)
    with op.batch_alter_table("follow_conflicts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_follow_conflicts_diff_id"), ["diff_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_follow_conflicts_campaign_set_id"), ["campaign_set_id"], unique=False)
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
    with op.batch_alter_table("variations", schema=None) as batch_op:
        batch_op.drop_column("row_key")
    with op.batch_alter_table("campaign_sets", schema=None) as batch_op:
        batch_op.drop_column("held")
        batch_op.drop_column("follow_mode")
        batch_op.drop_column("key_column")
