"""billing: accounts, usage, stripe events, operator actions; RLS, and the operators' read-only policy

Revision ID: 0003
Revises: 0002
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from studio.store.rls import drop_policy_sql, tenant_policy_sql

TENANT_TABLES = ("billing_accounts", "usage_events", "stripe_events")
# What the admin pages read across workspaces; SELECT only, and only in a transaction where
# studio/admin.py has set app.operator after checking OPERATOR_EMAILS (see studio/admin.py).
OPERATOR_READ_TABLES = ("workspaces", "workspace_members", "billing_accounts", "usage_events", "dataset_versions")
OPERATOR_USING = "current_setting('app.operator', true) = 'on'"

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('operator_actions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('operator_id', sa.Uuid(), nullable=True),
    sa.Column('operator_email', sa.String(length=254), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['operator_id'], ['users.id'], name=op.f('fk_operator_actions_operator_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operator_actions'))
    )
    with op.batch_alter_table('operator_actions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_operator_actions_at'), ['at'], unique=False)

    op.create_table('billing_accounts',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('stripe_customer_id', sa.String(length=64), nullable=True),
    sa.Column('subscription_id', sa.String(length=64), nullable=True),
    sa.Column('subscription_plan', sa.String(length=32), nullable=True),
    sa.Column('subscription_status', sa.String(length=32), nullable=True),
    sa.Column('subscription_created', sa.BigInteger(), nullable=True),
    sa.Column('period_start', sa.BigInteger(), nullable=True),
    sa.Column('period_end', sa.BigInteger(), nullable=True),
    sa.Column('cancel_at_period_end', sa.Boolean(), nullable=False),
    sa.Column('state_as_of', sa.BigInteger(), nullable=True),
    sa.Column('last_invoice_status', sa.String(length=32), nullable=True),
    sa.Column('last_invoice_at', sa.BigInteger(), nullable=True),
    sa.Column('override_plan', sa.String(length=32), nullable=True),
    sa.Column('override_reason', sa.Text(), nullable=True),
    sa.Column('override_by', sa.Uuid(), nullable=True),
    sa.Column('override_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('workspace_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['override_by'], ['users.id'], name=op.f('fk_billing_accounts_override_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_billing_accounts_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_accounts')),
    sa.UniqueConstraint('workspace_id', name='uq_billing_account_workspace')
    )
    with op.batch_alter_table('billing_accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_accounts_stripe_customer_id'), ['stripe_customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_billing_accounts_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('stripe_events',
    sa.Column('id', sa.String(length=255), nullable=False),
    sa.Column('type', sa.String(length=64), nullable=False),
    sa.Column('created', sa.BigInteger(), nullable=False),
    sa.Column('outcome', sa.String(length=200), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('workspace_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_stripe_events_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stripe_events'))
    )
    with op.batch_alter_table('stripe_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stripe_events_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('usage_events',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('metric', sa.String(length=32), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('meter_batch', sa.String(length=64), nullable=True),
    sa.Column('meter_reported_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('workspace_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_usage_events_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_events')),
    sa.UniqueConstraint('workspace_id', 'idempotency_key', name='uq_usage_key')
    )
    with op.batch_alter_table('usage_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_usage_events_meter_batch'), ['meter_batch'], unique=False)
        batch_op.create_index(batch_op.f('ix_usage_events_period'), ['period'], unique=False)
        batch_op.create_index(batch_op.f('ix_usage_events_workspace_id'), ['workspace_id'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        for table in TENANT_TABLES:
            for stmt in tenant_policy_sql(table):
                op.execute(stmt)
        for table in OPERATOR_READ_TABLES:
            op.execute(f"DROP POLICY IF EXISTS operator_read ON {table}")
            op.execute(f"CREATE POLICY operator_read ON {table} FOR SELECT USING ({OPERATOR_USING})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in OPERATOR_READ_TABLES:
            op.execute(f"DROP POLICY IF EXISTS operator_read ON {table}")
        for table in TENANT_TABLES:
            for stmt in drop_policy_sql(table):
                op.execute(stmt)
    with op.batch_alter_table('usage_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_usage_events_workspace_id'))
        batch_op.drop_index(batch_op.f('ix_usage_events_period'))
        batch_op.drop_index(batch_op.f('ix_usage_events_meter_batch'))

    op.drop_table('usage_events')
    with op.batch_alter_table('stripe_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stripe_events_workspace_id'))

    op.drop_table('stripe_events')
    with op.batch_alter_table('billing_accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_billing_accounts_workspace_id'))
        batch_op.drop_index(batch_op.f('ix_billing_accounts_stripe_customer_id'))

    op.drop_table('billing_accounts')
    with op.batch_alter_table('operator_actions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_operator_actions_at'))

    op.drop_table('operator_actions')
