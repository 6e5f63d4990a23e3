"""generation throughput (issue 18): reserved

Revision ID: 0018
Revises: 0017

A reserved slot: empty until its issue fills it (the chain stays linear while several changes are made at once).
"""
from __future__ import annotations

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
