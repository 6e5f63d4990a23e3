"""text hygiene (issue 19): a workspace word list (banned words, brand spellings)

Revision ID: 0020
Revises: 0019

A reserved slot: empty until its issue fills it.
"""
from __future__ import annotations

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
