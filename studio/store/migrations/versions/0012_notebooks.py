"""notebooks people keep (issue 14): named notebooks per workspace, and each cell's last output (RLS)

Cells made before this revision have no notebook; the service moves them into the workspace's first
notebook when it is opened (a tenant session can; a migration as the schema owner under forced RLS
could not see them).

Revision ID: 0012
Revises: 0011
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from studio.store.rls import drop_policy_sql, tenant_policy_sql

TABLES = ("notebooks", "notebook_outputs")

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notebooks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_notebooks_created_by_users"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], name=op.f("fk_notebooks_workspace_id_workspaces"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notebooks")),
        sa.UniqueConstraint("workspace_id", "name", name="uq_notebook_name"),
    )
    with op.batch_alter_table("notebooks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notebooks_workspace_id"), ["workspace_id"], unique=False)

    with op.batch_alter_table("notebook_cells", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notebook_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_notebook_cells_notebook_id_notebooks"), "notebooks", ["notebook_id"], ["id"],
                                    ondelete="CASCADE")
        batch_op.create_index(batch_op.f("ix_notebook_cells_notebook_id"), ["notebook_id"], unique=False)

    op.create_table(
        "notebook_outputs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("cell_id", sa.Uuid(), nullable=False),
        sa.Column("query_hash", sa.String(length=64), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("rows_kept", sa.Integer(), nullable=False),
        sa.Column("rows_shown", sa.Integer(), nullable=False),
        sa.Column("truncated", sa.Boolean(), nullable=False),
        sa.Column("elapsed_s", sa.Float(), nullable=False),
        sa.Column("source", sa.JSON(), nullable=False),
        sa.Column("ran_by", sa.Uuid(), nullable=True),
        sa.Column("ran_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["cell_id"], ["notebook_cells.id"], name=op.f("fk_notebook_outputs_cell_id_notebook_cells"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["ran_by"], ["users.id"], name=op.f("fk_notebook_outputs_ran_by_users"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"],
                                name=op.f("fk_notebook_outputs_workspace_id_workspaces"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notebook_outputs")),
        sa.UniqueConstraint("cell_id", name="uq_notebook_output_cell"),
    )
    with op.batch_alter_table("notebook_outputs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notebook_outputs_workspace_id"), ["workspace_id"], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            for stmt in tenant_policy_sql(table):
                op.execute(stmt)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            for stmt in drop_policy_sql(table):
                op.execute(stmt)
    with op.batch_alter_table("notebook_outputs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notebook_outputs_workspace_id"))
    op.drop_table("notebook_outputs")
    with op.batch_alter_table("notebook_cells", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notebook_cells_notebook_id"))
        batch_op.drop_constraint(batch_op.f("fk_notebook_cells_notebook_id_notebooks"), type_="foreignkey")
        batch_op.drop_column("notebook_id")
    with op.batch_alter_table("notebooks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notebooks_workspace_id"))
    op.drop_table("notebooks")
