"""The write path without the tenant and run foreign keys (migration 0013): nothing outlives its set or workspace."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from studio import campaigns, workspaces
from studio.store.models import Workspace
from tests.workers.test_generation import CONFIG, _start, _stored, _work, env, workspace  # noqa: F401


def _left(settings, ws) -> int:
    """Variations of the workspace still in the table, counted by the schema owner (RLS scoped to it)."""
    engine = create_engine(settings.migration_database_url)
    try:
        with engine.begin() as c:
            c.execute(text("select set_config('app.workspace_id', :w, true)"), {"w": str(ws)})
            return int(c.execute(text("select count(*) from variations where workspace_id = :w"), {"w": ws}).scalar_one())
    finally:
        engine.dispose()


def test_a_rerun_over_written_rows_upserts_and_a_deleted_workspace_leaves_no_variations(env, pg_store, workspace):  # noqa: F811
    ctx, ds = workspace
    set_id = campaigns.create(pg_store, ctx, "Write path", ds.id, CONFIG)
    _start(pg_store, env, ctx, set_id)
    _work(env)
    first = _stored(pg_store, ctx, set_id)
    assert first and _left(env, ctx.workspace_id) == len(first)
    _start(pg_store, env, ctx, set_id)  # every chunk finds its rows written: the upsert path, same rows
    _work(env)
    assert _stored(pg_store, ctx, set_id) == first
    assert campaigns.latest_run(pg_store, ctx, set_id).status == "done"
    with pg_store.session_scope(ctx) as s:
        name = s.get(Workspace, ctx.workspace_id).name
    workspaces.delete_workspace(pg_store, ctx, name)
    assert _left(env, ctx.workspace_id) == 0  # the set's cascade took them, without a tenant foreign key
