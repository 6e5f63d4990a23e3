"""public API (issue 20): API keys, idempotency records, rate-limit bookkeeping

Revision ID: 0017
Revises: 0016

A reserved slot: empty until its issue fills it (the chain stays linear while several changes are made at once).
"""
from __future__ import annotations

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
