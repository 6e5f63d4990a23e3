"""public API (issue 20): API keys, idempotency records, rate-limit bookkeeping

Revision ID: 0017
Revises: 0016

API keys are tenant rows like any other, with one narrow exception in their policy: a request that
knows a key's SHA-256 (set as ``app.api_key_hash`` in its transaction) may read that one row before it
knows the workspace, which is how a request is authenticated. Rate-limit counters live in Redis (or in
process in the embedded mode), not here.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from studio.store.rls import CURRENT_WS, drop_policy_sql, tenant_policy_sql

KEY_HASH = "NULLIF(current_setting('app.api_key_hash', true), '')"

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=24), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_address", sa.String(length=64), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_api_keys_created_by_users"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], name=op.f("fk_api_keys_workspace_id_workspaces"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_keys_workspace_id"), ["workspace_id"], unique=False)
    op.create_table(
        "api_idempotency",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("key_id", sa.Uuid(), nullable=False),
        sa.Column("route", sa.String(length=300), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("body_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["key_id"], ["api_keys.id"], name=op.f("fk_api_idempotency_key_id_api_keys"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"],
                                name=op.f("fk_api_idempotency_workspace_id_workspaces"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_idempotency")),
        sa.UniqueConstraint("key_id", "route", "idempotency_key", name="uq_api_idempotency"),
    )
    with op.batch_alter_table("api_idempotency", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_idempotency_workspace_id"), ["workspace_id"], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        for stmt in tenant_policy_sql("api_idempotency"):
            op.execute(stmt)
        for stmt in tenant_policy_sql("api_keys"):
            if stmt.startswith("CREATE POLICY"):  # reading one key by its hash, before the workspace is known
                stmt = (f"CREATE POLICY tenant_isolation ON api_keys USING (workspace_id = {CURRENT_WS} "
                        f"OR key_hash = {KEY_HASH}) WITH CHECK (workspace_id = {CURRENT_WS})")
            op.execute(stmt)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in ("api_idempotency", "api_keys"):
            for stmt in drop_policy_sql(table):
                op.execute(stmt)
    with op.batch_alter_table("api_idempotency", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_idempotency_workspace_id"))
    op.drop_table("api_idempotency")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_workspace_id"))
    op.drop_table("api_keys")
