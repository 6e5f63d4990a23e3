"""Alembic environment: runs with the connection handed over by studio.store.migrate."""

from __future__ import annotations

from alembic import context

from studio.store.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Run migrations with `python -m studio.store.migrate`, which supplies the connection.")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
