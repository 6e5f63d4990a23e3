"""events (issues 19, 20): event outbox, notifications, preferences, outgoing webhooks

Revision ID: 0016
Revises: 0015

A reserved slot: empty until its issue fills it (the chain stays linear while several changes are made at once).
"""
from __future__ import annotations

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
