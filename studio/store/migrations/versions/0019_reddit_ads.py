"""Reddit paid ads (issue 21): ads accounts, synced entities, metrics

Revision ID: 0019
Revises: 0018

A reserved slot: empty until its issue fills it (the chain stays linear while several changes are made at once).
"""
from __future__ import annotations

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
