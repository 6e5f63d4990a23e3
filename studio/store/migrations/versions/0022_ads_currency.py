"""ads connection currency: the ad account's ISO 4217 code, so Reddit Ads spend reads as $1,234.50 / €… / … CAD

Revision ID: 0022
Revises: 0021

'' means the studio does not know it yet (connections made before this revision): their figures keep the plain
format until the next pick of the ad account or the next metrics pull fills it.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ads_connections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("currency", sa.String(3), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("ads_connections", schema=None) as batch_op:
        batch_op.drop_column("currency")
