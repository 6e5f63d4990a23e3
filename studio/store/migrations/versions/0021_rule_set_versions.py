"""rule set versions (issue 20): every save of a rule set is a version, kept like a template's

Revision ID: 0021
Revises: 0020

`version` counts saves (existing rule sets start at 1); `history` keeps the last 100 versions' rules, who saved
them and when, so the API and the Rules page can list and restore them (a restore is saved as the newest).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rule_sets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("history", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))


def downgrade() -> None:
    with op.batch_alter_table("rule_sets", schema=None) as batch_op:
        batch_op.drop_column("history")
        batch_op.drop_column("version")
