"""feeds (issue 19): sets that follow their data — diffs, apply, word lists

Revision ID: 0015
Revises: 0014

A reserved slot: empty until its issue fills it (the chain stays linear while several changes are made at once).
"""
from __future__ import annotations

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
