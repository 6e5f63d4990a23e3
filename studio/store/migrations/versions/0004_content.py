"""content: templates, rule sets, campaign sets, runs, variations

Revision ID: 0004
Revises: 0002
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from studio.store.rls import drop_policy_sql, tenant_policy_sql

TABLES = ("templates", "rule_sets", "campaign_sets", "generation_runs", "generation_chunks", "variations")

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rule_sets',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('rules', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('workspace_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_rule_sets_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rule_sets')),
    sa.UniqueConstraint('workspace_id', 'name', name='uq_rule_set_name')
    )
    with op.batch_alter_table('rule_sets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rule_sets_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('templates',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('platform', sa.String(length=40), nullable=False),
    sa.Column('format', sa.String(length=40), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('history', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('workspace_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_templates_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_templates_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_templates')),
    sa.UniqueConstraint('workspace_id', 'name', name='uq_template_name')
    )
    with op.batch_alter_table('templates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_templates_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('campaign_sets',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('dataset_id', sa.Uuid(), nullable=True),
    sa.Column('dataset_version', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=40), nullable=False),
    sa.Column('format', sa.String(length=40), nullable=False),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('status_reason', sa.Text(), nullable=False),
    sa.Column('variation_count', sa.BigInteger(), nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('workspace_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_campaign_sets_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_campaign_sets_dataset_id_datasets'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_campaign_sets_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_sets'))
    )
    with op.batch_alter_table('campaign_sets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_sets_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_sets_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('generation_runs',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('campaign_set_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('rows_total', sa.BigInteger(), nullable=False),
    sa.Column('rows_done', sa.BigInteger(), nullable=False),
    sa.Column('chunks_total', sa.Integer(), nullable=False),
    sa.Column('variations', sa.BigInteger(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('overwrite_edits', sa.Boolean(), nullable=False),
    sa.Column('diff', sa.JSON(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.Column('workspace_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_set_id'], ['campaign_sets.id'], name=op.f('fk_generation_runs_campaign_set_id_campaign_sets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_generation_runs_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_generation_runs'))
    )
    with op.batch_alter_table('generation_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_generation_runs_campaign_set_id'), ['campaign_set_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_generation_runs_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('generation_chunks',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('run_id', sa.Uuid(), nullable=False),
    sa.Column('index', sa.Integer(), nullable=False),
    sa.Column('row_start', sa.BigInteger(), nullable=False),
    sa.Column('row_end', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('variations', sa.BigInteger(), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('workspace_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['generation_runs.id'], name=op.f('fk_generation_chunks_run_id_generation_runs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_generation_chunks_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_generation_chunks')),
    sa.UniqueConstraint('run_id', 'index', name='uq_chunk')
    )
    with op.batch_alter_table('generation_chunks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_generation_chunks_run_id'), ['run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_generation_chunks_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('variations',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('campaign_set_id', sa.Uuid(), nullable=False),
    sa.Column('row_index', sa.BigInteger(), nullable=False),
    sa.Column('variation_index', sa.Integer(), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('subreddit', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('valid', sa.Boolean(), nullable=False),
    sa.Column('problems', sa.Text(), nullable=False),
    sa.Column('edited', sa.Boolean(), nullable=False),
    sa.Column('content_hash', sa.String(length=32), nullable=False),
    sa.Column('run_id', sa.Uuid(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('workspace_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_set_id'], ['campaign_sets.id'], name=op.f('fk_variations_campaign_set_id_campaign_sets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['generation_runs.id'], name=op.f('fk_variations_run_id_generation_runs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_variations_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_variations'))
    )
    with op.batch_alter_table('variations', schema=None) as batch_op:
        batch_op.create_index('ix_variation_set_row', ['campaign_set_id', 'row_index', 'variation_index'], unique=False)
        batch_op.create_index('ix_variation_set_status', ['campaign_set_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_variations_workspace_id'), ['workspace_id'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            for stmt in tenant_policy_sql(table):
                op.execute(stmt)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            for stmt in drop_policy_sql(table):
                op.execute(stmt)
    with op.batch_alter_table('variations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_variations_workspace_id'))
        batch_op.drop_index('ix_variation_set_status')
        batch_op.drop_index('ix_variation_set_row')

    op.drop_table('variations')
    with op.batch_alter_table('generation_chunks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_generation_chunks_workspace_id'))
        batch_op.drop_index(batch_op.f('ix_generation_chunks_run_id'))

    op.drop_table('generation_chunks')
    with op.batch_alter_table('generation_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_generation_runs_workspace_id'))
        batch_op.drop_index(batch_op.f('ix_generation_runs_campaign_set_id'))

    op.drop_table('generation_runs')
    with op.batch_alter_table('campaign_sets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_sets_workspace_id'))
        batch_op.drop_index(batch_op.f('ix_campaign_sets_status'))

    op.drop_table('campaign_sets')
    with op.batch_alter_table('templates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_templates_workspace_id'))

    op.drop_table('templates')
    with op.batch_alter_table('rule_sets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rule_sets_workspace_id'))

    op.drop_table('rule_sets')
