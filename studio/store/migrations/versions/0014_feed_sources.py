"""feeds (issue 19): data sets from a URL, refresh schedules, fetch log, row keys

Revision ID: 0014
Revises: 0013

A reserved slot: empty until its issue fills it (the chain stays linear while several changes are made at once).
"""
from __future__ import annotations

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
