"""operators may read Reddit accounts across workspaces (the admin page's "reconnect needed" list)

Revision ID: 0007
Revises: 0006
"""
from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

OPERATOR_USING = "current_setting('app.operator', true) = 'on'"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP POLICY IF EXISTS operator_read ON reddit_accounts")
        op.execute(f"CREATE POLICY operator_read ON reddit_accounts FOR SELECT USING ({OPERATOR_USING})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP POLICY IF EXISTS operator_read ON reddit_accounts")
