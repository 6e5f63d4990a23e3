"""sign-in hardening (issue 15): password generations for reset links; the users table protected on Postgres

Revision ID: 0009
Revises: 0008

Why SECURITY DEFINER functions (with row-level security for what remains readable), not RLS alone:
row-level security decides which *rows* a role sees, but signing in must find a row by e-mail before
anyone is known, and the row it finds holds the bcrypt hash. Any RLS policy loose enough for sign-in
lets the app role read that hash; one tight enough to hide it makes sign-in impossible. So:

- The app role gets no privilege on `password_hash`, `failed_attempts`, `locked_until` or
  `password_generation` (column grants: SELECT on id, email, name, created_at, last_sign_in_at;
  UPDATE on name; no INSERT or DELETE). It cannot read anyone's hash, nor set one.
- Signing in, signing up, changing and resetting a password go through SECURITY DEFINER functions
  owned by the schema owner. The password is compared *inside* the database with pgcrypto's bcrypt
  (`crypt`), so no hash ever leaves it; the sign-in function counts failures under a row lock, which
  also makes the lockout atomic (concurrent attempts on one account take turns; exactly the limit is
  counted). New hashes use bcrypt's `$2a$` prefix, the one pgcrypto reads; this migration rewrites
  existing `$2b$` hashes, which are the same bcrypt for passwords up to 72 bytes (the studio's limit).
- RLS (enabled, not forced, so the definer functions see every row) limits the readable rows to the
  acting user, the members and audit actors of the current workspace, and operators — the same
  `app.*` settings that isolate tenants.

What it does not stop: a fully compromised app process can still ask for a reset link for an e-mail
it knows (issuing links is the app's job), and it sets `app.user_id` itself. It can no longer read or
overwrite hashes, list every user, or guess passwords faster than the lockout allows.
SQLite (embedded mode, one process) gets the new column only; its lockout is atomic in studio/credentials.py.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from studio.store.user_security import DROP_POLICIES, FUNCTION_SIGNATURES, FUNCTIONS, POLICIES

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("password_generation", sa.Integer(), nullable=False, server_default="0"))
    op.execute("UPDATE users SET password_hash = '$2a$' || substr(password_hash, 5) WHERE password_hash LIKE '$2b$%'")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pgcrypto")
        for stmt in FUNCTIONS + POLICIES:
            op.execute(stmt)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for stmt in DROP_POLICIES:
            op.execute(stmt)
        for signature in FUNCTION_SIGNATURES:
            op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("password_generation")
