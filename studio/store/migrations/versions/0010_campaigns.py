"""campaign structure, review and approval (issue 13)

Review: an edited variation remembers what the latest run generated for it (source_hash), so an
edit whose source changed since is shown as a conflict; the workspace says who may approve.

Revision ID: 0010
Revises: 0009
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _review_upgrade()
    _structure_upgrade()


def downgrade() -> None:
    _structure_downgrade()
    _review_downgrade()


def _structure_upgrade() -> None:
    """A run keeps the figures it generated (kept, skipped, duplicates, over a limit, per-field problems)."""
    with op.batch_alter_table("generation_runs") as batch:
        batch.add_column(sa.Column("figures", sa.JSON(), nullable=False, server_default=sa.text("'{}'")))


def _structure_downgrade() -> None:
    with op.batch_alter_table("generation_runs") as batch:
        batch.drop_column("figures")


def _review_upgrade() -> None:
    with op.batch_alter_table("variations") as batch:
        batch.add_column(sa.Column("source_hash", sa.String(length=32), nullable=False, server_default=""))
    with op.batch_alter_table("workspaces") as batch:
        batch.add_column(sa.Column("approval", sa.String(length=16), nullable=False, server_default="editors"))


def _review_downgrade() -> None:
    with op.batch_alter_table("workspaces") as batch:
        batch.drop_column("approval")
    with op.batch_alter_table("variations") as batch:
        batch.drop_column("source_hash")
