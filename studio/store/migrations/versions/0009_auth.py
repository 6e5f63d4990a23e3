"""sign-in hardening (issue 15) — reserved slot; filled by the change that needs it

Revision ID: 0009
Revises: 0008
"""
from __future__ import annotations

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
