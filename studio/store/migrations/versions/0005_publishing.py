"""publishing: Reddit accounts, OAuth states, publish settings, the outbox, its events, post metrics (RLS)

Revision ID: 0005
Revises: 0004
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from studio.store.rls import drop_policy_sql, tenant_policy_sql

TABLES = ("reddit_accounts", "reddit_oauth_states", "publish_settings", "publish_items", "publish_events", "post_metrics")
# `python -m studio.publishing.crypto rotate` reads every account's ciphertext (and nothing else) across
# workspaces, transaction-locally, to re-encrypt it; the writes go through each workspace's own policy.
KEY_ROTATION_USING = "current_setting('app.key_rotation', true) = 'on'"

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reddit_accounts',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('auth_kind', sa.String(length=16), nullable=False),
    sa.Column('client_id', sa.String(length=120), nullable=False),
    sa.Column('client_secret_enc', sa.Text(), nullable=True),
    sa.Column('password_enc', sa.Text(), nullable=True),
    sa.Column('refresh_token_enc', sa.Text(), nullable=True),
    sa.Column('scopes', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('status_reason', sa.Text(), nullable=False),
    sa.Column('link_karma', sa.Integer(), nullable=False),
    sa.Column('comment_karma', sa.Integer(), nullable=False),
    sa.Column('reddit_created_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('validated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('connected_by', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('workspace_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['connected_by'], ['users.id'], name=op.f('fk_reddit_accounts_connected_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_reddit_accounts_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reddit_accounts')),
    sa.UniqueConstraint('workspace_id', 'username', name='uq_reddit_account_name')
    )
    with op.batch_alter_table('reddit_accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reddit_accounts_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('reddit_oauth_states',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('state_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('workspace_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_reddit_oauth_states_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_reddit_oauth_states_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reddit_oauth_states')),
    sa.UniqueConstraint('state_hash', name=op.f('uq_reddit_oauth_states_state_hash'))
    )
    with op.batch_alter_table('reddit_oauth_states', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reddit_oauth_states_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('publish_settings',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('campaign_set_id', sa.Uuid(), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('workspace_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_set_id'], ['campaign_sets.id'], name=op.f('fk_publish_settings_campaign_set_id_campaign_sets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_publish_settings_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_publish_settings')),
    sa.UniqueConstraint('campaign_set_id', name='uq_publish_settings_set')
    )
    with op.batch_alter_table('publish_settings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_publish_settings_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('publish_items',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('campaign_set_id', sa.Uuid(), nullable=False),
    sa.Column('variation_id', sa.Uuid(), nullable=True),
    sa.Column('dedupe_key', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=True),
    sa.Column('subreddit', sa.String(length=64), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('flair_id', sa.String(length=64), nullable=False),
    sa.Column('flair_text', sa.String(length=64), nullable=False),
    sa.Column('parent_item_id', sa.Uuid(), nullable=True),
    sa.Column('parent_fullname', sa.String(length=32), nullable=False),
    sa.Column('scheduled_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('jitter_seconds', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('job_gen', sa.Integer(), nullable=False),
    sa.Column('submitting_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reddit_id', sa.String(length=32), nullable=False),
    sa.Column('reddit_url', sa.Text(), nullable=False),
    sa.Column('removed', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('workspace_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['reddit_accounts.id'], name=op.f('fk_publish_items_account_id_reddit_accounts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['campaign_set_id'], ['campaign_sets.id'], name=op.f('fk_publish_items_campaign_set_id_campaign_sets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['parent_item_id'], ['publish_items.id'], name=op.f('fk_publish_items_parent_item_id_publish_items'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['variation_id'], ['variations.id'], name=op.f('fk_publish_items_variation_id_variations'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_publish_items_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_publish_items')),
    sa.UniqueConstraint('workspace_id', 'dedupe_key', name='uq_publish_item_key')
    )
    with op.batch_alter_table('publish_items', schema=None) as batch_op:
        batch_op.create_index('ix_publish_items_account_time', ['account_id', 'scheduled_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_publish_items_campaign_set_id'), ['campaign_set_id'], unique=False)
        batch_op.create_index('ix_publish_items_state_due', ['state', 'scheduled_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_publish_items_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('post_metrics',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('item_id', sa.Uuid(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('upvote_ratio', sa.Float(), nullable=False),
    sa.Column('num_comments', sa.Integer(), nullable=False),
    sa.Column('removed', sa.Boolean(), nullable=False),
    sa.Column('workspace_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['publish_items.id'], name=op.f('fk_post_metrics_item_id_publish_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_post_metrics_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_post_metrics'))
    )
    with op.batch_alter_table('post_metrics', schema=None) as batch_op:
        batch_op.create_index('ix_post_metrics_item_at', ['item_id', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_post_metrics_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('publish_events',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('item_id', sa.Uuid(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('from_state', sa.String(length=16), nullable=False),
    sa.Column('to_state', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('workspace_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['publish_items.id'], name=op.f('fk_publish_events_item_id_publish_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_publish_events_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_publish_events'))
    )
    with op.batch_alter_table('publish_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_publish_events_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_publish_events_workspace_id'), ['workspace_id'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            for stmt in tenant_policy_sql(table):
                op.execute(stmt)
        op.execute("DROP POLICY IF EXISTS key_rotation_read ON reddit_accounts")
        op.execute(f"CREATE POLICY key_rotation_read ON reddit_accounts FOR SELECT USING ({KEY_ROTATION_USING})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP POLICY IF EXISTS key_rotation_read ON reddit_accounts")
        for table in TABLES:
            for stmt in drop_policy_sql(table):
                op.execute(stmt)
    with op.batch_alter_table('publish_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_publish_events_workspace_id'))
        batch_op.drop_index(batch_op.f('ix_publish_events_item_id'))

    op.drop_table('publish_events')
    with op.batch_alter_table('post_metrics', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_post_metrics_workspace_id'))
        batch_op.drop_index('ix_post_metrics_item_at')

    op.drop_table('post_metrics')
    with op.batch_alter_table('publish_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_publish_items_workspace_id'))
        batch_op.drop_index('ix_publish_items_state_due')
        batch_op.drop_index(batch_op.f('ix_publish_items_campaign_set_id'))
        batch_op.drop_index('ix_publish_items_account_time')

    op.drop_table('publish_items')
    with op.batch_alter_table('publish_settings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_publish_settings_workspace_id'))

    op.drop_table('publish_settings')
    with op.batch_alter_table('reddit_oauth_states', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reddit_oauth_states_workspace_id'))

    op.drop_table('reddit_oauth_states')
    with op.batch_alter_table('reddit_accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reddit_accounts_workspace_id'))

    op.drop_table('reddit_accounts')
