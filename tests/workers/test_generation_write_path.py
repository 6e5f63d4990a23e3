"""The write path without the tenant and run foreign keys (migration 0013): nothing outlives its set or workspace."""

from __future__ import annotations

import threading
import time

from sqlalchemy import create_engine, delete, func, select, text

from studio import campaigns, workspaces
from studio.store.campaign_models import CampaignSet, GenerationRun, Variation
from studio.store.models import Workspace
from tests.workers.test_generation import CONFIG, _start, _stored, _work, env, workspace  # noqa: F401
from workers import chunk_render, generation, variation_store


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


def test_a_deleted_set_takes_its_variations_without_a_per_row_foreign_key(env, pg_store, workspace):  # noqa: F811
    ctx, ds = workspace
    keep = campaigns.create(pg_store, ctx, "Kept", ds.id, CONFIG)
    gone = campaigns.create(pg_store, ctx, "Deleted", ds.id, CONFIG)
    for set_id in (keep, gone):
        _start(pg_store, env, ctx, set_id)
    _work(env)
    kept = _stored(pg_store, ctx, keep)
    assert kept and _left(env, ctx.workspace_id) == 2 * len(kept)
    with pg_store.session_scope(ctx) as s:  # a tenant deleting a set: the statement trigger of migration 0018
        s.delete(s.get(CampaignSet, gone))
    assert _left(env, ctx.workspace_id) == len(kept) and _stored(pg_store, ctx, keep) == kept


def test_a_set_deleted_while_a_chunk_writes_leaves_no_variation_behind(env, pg_store, workspace, monkeypatch):  # noqa: F811
    ctx, ds = workspace
    set_id = campaigns.create(pg_store, ctx, "Racing", ds.id, CONFIG)
    _start(pg_store, env, ctx, set_id, chunk_rows=5_000)  # one chunk
    real, deleting = variation_store.write_chunk, []

    def delete_set() -> None:
        with pg_store.session_scope(ctx) as s:
            s.execute(delete(CampaignSet).where(CampaignSet.id == set_id))

    def write_then_race(*args, **kwargs):
        diff = real(*args, **kwargs)  # written, not committed: the deletion has to wait for the commit
        deleting.append(threading.Thread(target=delete_set))
        deleting[0].start()
        time.sleep(0.5)
        return diff

    monkeypatch.setattr(variation_store, "write_chunk", write_then_race)
    _work(env)
    deleting[0].join(timeout=60)
    assert not deleting[0].is_alive()
    assert _left(env, ctx.workspace_id) == 0


def _figures(store, ctx, set_id):
    run = campaigns.latest_run(store, ctx, set_id)
    with store.session_scope(ctx) as s:
        return s.get(GenerationRun, run.id).figures, run


def test_a_chunk_rendered_in_parts_stores_what_one_piece_would(env, pg_store, workspace, monkeypatch):  # noqa: F811
    """Chunks render part by part while earlier parts are written; keep-first dedup and the run's figures
    cross the parts' borders exactly as they cross chunk borders."""
    ctx, ds = workspace
    whole = campaigns.create(pg_store, ctx, "Whole chunks", ds.id, CONFIG)
    _start(pg_store, env, ctx, whole, chunk_rows=1_000)
    _work(env)
    monkeypatch.setattr(chunk_render, "PART_ROWS", 90)  # parts divide the chunk: 1,000 rows in 10 parts of 100
    assert chunk_render.part_rows(1_000) == 100 and chunk_render.part_rows(999) == 111
    parted = campaigns.create(pg_store, ctx, "Parted chunks", ds.id, CONFIG)
    _start(pg_store, env, ctx, parted, chunk_rows=1_000)
    _work(env)
    stored = _stored(pg_store, ctx, whole)
    assert stored and _stored(pg_store, ctx, parted) == stored
    (figures, run), (parted_figures, parted_run) = _figures(pg_store, ctx, whole), _figures(pg_store, ctx, parted)
    assert figures["duplicates"] > 0 and parted_figures == figures  # the 2k rows repeat titles: dedup crossed parts
    assert parted_run.status == "done" and parted_run.variations == run.variations == len(stored)


def test_a_part_that_fails_after_others_were_written_keeps_nothing_of_its_chunk(env, pg_store, workspace, monkeypatch):  # noqa: F811
    ctx, ds = workspace
    set_id = campaigns.create(pg_store, ctx, "Failing part", ds.id, CONFIG)
    monkeypatch.setattr(chunk_render, "PART_ROWS", 100)
    real, calls = chunk_render.records_of, []

    def fail_the_third(produced, set_id, con=None):
        calls.append(produced.num_rows)
        if len(calls) == 3:
            raise ValueError("the disk is on fire")
        return real(produced, set_id, con)

    monkeypatch.setattr(chunk_render, "records_of", fail_the_third)
    _start(pg_store, env, ctx, set_id, chunk_rows=2_000)  # one chunk of 20 parts
    _work(env)
    run = campaigns.latest_run(pg_store, ctx, set_id)
    assert run.status == "error" and len(calls) >= 3
    with pg_store.session_scope(ctx) as s:
        error = s.get(GenerationRun, run.id).error
        assert s.get(CampaignSet, set_id).status == "error"
    assert error == "Generation failed on rows 1–2,000: the disk is on fire"
    assert _left(env, ctx.workspace_id) == 0  # the two parts already written rolled back with the chunk


def _count(store, ctx, set_id) -> tuple[int, int]:
    """(the set's variation_count, the variations the store holds for it)."""
    with store.session_scope(ctx) as s:
        held = s.scalar(select(func.count()).select_from(Variation).where(Variation.campaign_set_id == set_id))
        return s.get(CampaignSet, set_id).variation_count, held


def test_a_fresh_sets_count_comes_from_its_chunks_and_a_later_run_still_counts_exactly(env, pg_store, workspace):  # noqa: F811
    ctx, ds = workspace
    set_id = campaigns.create(pg_store, ctx, "Counted", ds.id, CONFIG)
    run_id = campaigns.start_run(pg_store, ctx, set_id, chunk_rows=300, row_limit=900)  # a first look at 900 rows
    generation.enqueue_run(env, ctx.workspace_id, run_id, campaigns.latest_run(pg_store, ctx, set_id).chunks_total)
    _work(env)
    first, held = _count(pg_store, ctx, set_id)
    with pg_store.session_scope(ctx) as s:
        assert s.get(GenerationRun, run_id).variations_before == 0  # fresh: plain inserts, counted as they went
    assert first == held > 0
    run_id = campaigns.start_run(pg_store, ctx, set_id, chunk_rows=300)  # then every row: rows 900+ were empty
    generation.enqueue_run(env, ctx.workspace_id, run_id, campaigns.latest_run(pg_store, ctx, set_id).chunks_total)
    _work(env)
    total, held = _count(pg_store, ctx, set_id)
    with pg_store.session_scope(ctx) as s:
        assert s.get(GenerationRun, run_id).variations_before == first
    assert total == held > first
    assert campaigns.latest_run(pg_store, ctx, set_id).status == "done"


def test_status_filters_follow_review_and_a_rerun_that_changes_reviewed_rows(env, pg_store, workspace):  # noqa: F811
    """A run writes pending rows only; reviewed rows have their own index (migration 0024). The page's status
    filters, counts and order follow approving, rejecting and a re-run that changes some reviewed rows."""
    from studio import review, variations
    from studio.store.campaign_models import CampaignSet

    ctx, ds = workspace
    set_id = campaigns.create(pg_store, ctx, "Reviewed", ds.id, CONFIG)
    _start(pg_store, env, ctx, set_id)
    _work(env)

    def view(status: str | None = None, **kw) -> variations.Page:
        return variations.page(pg_store, ctx, set_id, variations.VariationFilter(status=status, **kw), limit=1000)

    first = view()
    everything, total = first.rows, first.total  # the first 1,000 in row order
    assert total > 200 and view("pending").total == total and view("approved").total == view("rejected").total == 0
    approved, rejected = everything[:120], everything[120:150]
    review.set_status(pg_store, ctx, set_id, "approved", ids=[r["id"] for r in approved])
    review.set_status(pg_store, ctx, set_id, "rejected", ids=[r["id"] for r in rejected])
    assert [r["id"] for r in view("approved").rows] == [r["id"] for r in approved]  # in row order
    assert [r["id"] for r in view("rejected").rows] == [r["id"] for r in rejected]
    assert view("pending").total == total - 150 and view("approved", valid=True).total == 120

    # a re-run that changes the subreddit of one category only: those reviewed rows go back to pending
    moved = approved[0]["subreddit"]
    with pg_store.session_scope(ctx) as s:
        s.get(CampaignSet, set_id).config = {
            **CONFIG, "templates": {**CONFIG["templates"],
                                    "subreddit": "{{ 'moved' if category == '" + moved + "' else category }}"}}
    _start(pg_store, env, ctx, set_id)
    _work(env)
    still = [r["id"] for r in approved if r["subreddit"] != moved]
    assert 0 < len(still) < len(approved)
    assert [r["id"] for r in view("approved").rows] == still
    assert view("rejected").total == sum(r["subreddit"] != moved for r in rejected)
    assert sum(view(st).total for st in review.STATUSES) == view().total == total
    review.set_status(pg_store, ctx, set_id, "pending", ids=still)  # a reset leaves the reviewed rows' index
    assert view("approved").total == 0 and view("pending").total == total - view("rejected").total
