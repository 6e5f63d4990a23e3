"""text hygiene (issue 19): a workspace word list (banned words, brand spellings)

Revision ID: 0020
Revises: 0019

One row per workspace (word_lists), under row-level security like every tenant table.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from studio.store.rls import drop_policy_sql, tenant_policy_sql

TABLES = ("word_lists",)

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "word_lists",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("banned", sa.JSON(), nullable=False),
        sa.Column("banned_mode", sa.String(length=16), nullable=False),
        sa.Column("replacement", sa.String(length=100), nullable=False),
        sa.Column("brands", sa.JSON(), nullable=False),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["updated_by"], ["users.id"], name=op.f("fk_word_lists_updated_by_users"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], name=op.f("fk_word_lists_workspace_id_workspaces"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_word_lists")),
        sa.UniqueConstraint("workspace_id", name="uq_word_list_workspace"),
    )
    with op.batch_alter_table("word_lists", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_word_lists_workspace_id"), ["workspace_id"], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            for stmt in tenant_policy_sql(table):
                op.execute(stmt)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            for stmt in drop_policy_sql(table):
                op.execute(stmt)
    with op.batch_alter_table("word_lists", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_word_lists_workspace_id"))
    op.drop_table("word_lists")
