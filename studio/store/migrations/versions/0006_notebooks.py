"""notebooks: the explore notebook's cells (RLS)

Revision ID: 0006
Revises: 0005
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from studio.store.rls import drop_policy_sql, tenant_policy_sql

TABLES = ("notebook_cells",)

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('notebook_cells',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('workspace_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_notebook_cells_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_notebook_cells_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notebook_cells'))
    )
    with op.batch_alter_table('notebook_cells', schema=None) as batch_op:
        batch_op.create_index('ix_notebook_cell_order', ['workspace_id', 'position'], unique=False)
        batch_op.create_index(batch_op.f('ix_notebook_cells_workspace_id'), ['workspace_id'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            for stmt in tenant_policy_sql(table):
                op.execute(stmt)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            for stmt in drop_policy_sql(table):
                op.execute(stmt)
    with op.batch_alter_table('notebook_cells', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notebook_cells_workspace_id'))
        batch_op.drop_index('ix_notebook_cell_order')

    op.drop_table('notebook_cells')
