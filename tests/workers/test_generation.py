"""Generation on the real Redis + Postgres: exact counts and text, parallel workers, SIGKILL, cancel, deletion."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from redis import Redis
from rq import SimpleWorker
from sqlalchemy import func, select

from engine.generation import build_plan, preview
from studio import auth, campaigns, datasets
from studio.context import Context
from studio.errors import ValidationFailed
from studio.store.campaign_models import Variation
from workers import generation, queues

ROOT = Path(__file__).resolve().parents[2]
CONFIG = {
    "platform": "reddit", "format": "thread",
    "templates": {"subreddit": "{{ category }}",
                  "title": "Best {{ product_name }} in {{ city | default('your area') }} — only ${{ price }}",
                  "body": "{{ description }}\n\nRated {{ rating | default('new') }} by our customers."},
    "rules": [{"id": "cheap", "name": "Skip cheap", "enabled": True, "priority": 1,
               "conditions": {"logic": "and", "items": [{"field": "price", "operator": "less_than", "value": 20}]},
               "actions": [{"type": "skip", "params": {}}]}],
    "dedup_fields": ["title"],
}


@pytest.fixture()
def env(pg_settings, services, monkeypatch):
    """Jobs read their settings from the environment, like a worker process does."""
    monkeypatch.setenv("DATABASE_URL", pg_settings.database_url)
    monkeypatch.setenv("DOTORO_HOME", str(pg_settings.home))
    monkeypatch.setenv("REDIS_URL", services["REDIS_URL"])
    monkeypatch.setenv("SECRET_KEY", "test-secret")
    Redis.from_url(services["REDIS_URL"]).flushdb()
    return pg_settings


@pytest.fixture()
def workspace(pg_store, shared_data):
    account, ws = auth.sign_up(pg_store, f"g{uuid.uuid4().hex[:8]}@example.com", "Gen Tester", "longenough")
    ctx = Context(user_id=account.id, workspace_id=ws)
    ds = datasets.upload(pg_store, ctx, "products_2k.csv", (shared_data / "products_2k.csv").read_bytes())
    return ctx, ds


def _stored(store, ctx, set_id):
    with store.session_scope(ctx) as s:
        rows = s.execute(select(Variation.row_index, Variation.variation_index, Variation.fields)
                         .where(Variation.campaign_set_id == set_id)
                         .order_by(Variation.row_index, Variation.variation_index)).all()
    return [(r, v, f["title"], f["body"]) for r, v, f in rows]


def _work(settings):
    conn = Redis.from_url(settings.redis_url)
    q = queues.queue(settings, "generation", connection=conn)
    SimpleWorker([q], connection=conn, serializer=q.serializer).work(burst=True)


def _start(store, settings, ctx, set_id, chunk_rows=500):
    run_id = campaigns.start_run(store, ctx, set_id, chunk_rows=chunk_rows)
    info = campaigns.latest_run(store, ctx, set_id)
    generation.enqueue_run(settings, ctx.workspace_id, run_id, info.chunks_total)
    return run_id


def test_a_run_produces_exactly_what_the_preview_promised(env, pg_store, workspace):
    ctx, ds = workspace
    set_id = campaigns.create(pg_store, ctx, "Spring threads", ds.id, CONFIG)
    _start(pg_store, env, ctx, set_id)
    _work(env)
    info = campaigns.latest_run(pg_store, ctx, set_id)
    assert (info.status, info.chunks_done, info.rows_done) == ("done", 4, 2000)
    table = datasets.load_table(pg_store, ctx, ds.id)
    with build_plan(table, CONFIG) as plan:
        promised = preview(plan, limit=50)
        everything = plan.to_arrow()
    stored = _stored(pg_store, ctx, set_id)
    assert len(stored) == promised.stats.kept == everything.num_rows
    assert [s[2] for s in stored] == everything.column("title").to_pylist()
    assert [s[3] for s in stored[:50]] == promised.variations["body"].to_list()
    assert [s for s in campaigns.list_sets(pg_store, ctx) if s.id == set_id][0].status == "ready"


def test_a_double_click_enqueues_each_chunk_once(env, pg_store, workspace):
    ctx, ds = workspace
    set_id = campaigns.create(pg_store, ctx, "Once", ds.id, CONFIG)
    run_id = _start(pg_store, env, ctx, set_id)
    generation.enqueue_run(env, ctx.workspace_id, run_id, 4)
    assert queues.queue(env, "generation").count == 4


def _spawn_worker(env_settings, *, fork=False):
    cmd = [sys.executable, "-m", "workers.worker", "--burst", "generation"]  # `make worker`, draining one queue
    if fork:
        cmd.append("--fork")
    return subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_two_workers_give_the_same_result_as_one(env, pg_store, workspace):
    ctx, ds = workspace
    one = campaigns.create(pg_store, ctx, "One worker", ds.id, CONFIG)
    _start(pg_store, env, ctx, one, chunk_rows=250)
    _work(env)
    two = campaigns.create(pg_store, ctx, "Two workers", ds.id, CONFIG)
    _start(pg_store, env, ctx, two, chunk_rows=250)
    workers = [_spawn_worker(env, fork=i == 1) for i in range(2)]  # jobs in the worker, and in forked children
    for w in workers:
        assert w.wait(timeout=120) == 0
    assert campaigns.latest_run(pg_store, ctx, two).status == "done"
    a, b = _stored(pg_store, ctx, one), _stored(pg_store, ctx, two)
    assert a == b and len(a) > 1000


def test_sigkill_mid_run_loses_and_duplicates_nothing(env, pg_store, workspace):
    ctx, ds = workspace
    set_id = campaigns.create(pg_store, ctx, "Killed", ds.id, CONFIG)
    run_id = _start(pg_store, env, ctx, set_id, chunk_rows=20)  # 100 small chunks
    worker = _spawn_worker(env)
    deadline = time.time() + 120
    while time.time() < deadline and campaigns.latest_run(pg_store, ctx, set_id).chunks_done < 2:
        time.sleep(0.01)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    info = campaigns.latest_run(pg_store, ctx, set_id)
    assert 0 < info.chunks_done < info.chunks_total, f"the kill should land mid-run: {info}"
    assert generation.recover_run(env, ctx.workspace_id, run_id) > 0
    _work(env)
    info = campaigns.latest_run(pg_store, ctx, set_id)
    assert info.status == "done"
    stored = _stored(pg_store, ctx, set_id)
    keys = [(r, v) for r, v, _, _ in stored]
    assert len(keys) == len(set(keys))
    with build_plan(datasets.load_table(pg_store, ctx, ds.id), CONFIG) as plan:
        assert len(stored) == plan.to_arrow().num_rows


def test_cancel_stops_the_remaining_chunks(env, pg_store, workspace):
    ctx, ds = workspace
    set_id = campaigns.create(pg_store, ctx, "Cancelled", ds.id, CONFIG)
    run_id = _start(pg_store, env, ctx, set_id, chunk_rows=500)
    generation.run_chunk(str(ctx.workspace_id), str(run_id), 0)
    campaigns.cancel(pg_store, ctx, run_id)
    _work(env)
    info = campaigns.latest_run(pg_store, ctx, set_id)
    assert (info.status, info.chunks_done) == ("cancelled", 1)
    rows = {r for r, _, _, _ in _stored(pg_store, ctx, set_id)}
    assert rows and max(rows) < 500


def test_data_set_deleted_mid_run_ends_in_error_with_a_reason(env, pg_store, workspace):
    ctx, ds = workspace
    set_id = campaigns.create(pg_store, ctx, "Orphan", ds.id, CONFIG)
    run_id = _start(pg_store, env, ctx, set_id, chunk_rows=500)
    generation.run_chunk(str(ctx.workspace_id), str(run_id), 0)
    copies = env.home / "cache" / "blobs" / str(ctx.workspace_id)
    assert len(list(copies.iterdir())) == 1  # the chunk read the data set from this machine's copy
    datasets.delete(pg_store, ctx, ds.id)
    _work(env)
    info = campaigns.latest_run(pg_store, ctx, set_id)
    assert info.status == "error"
    assert "data set" in info.error and "deleted" in info.error
    cs = [s for s in campaigns.list_sets(pg_store, ctx) if s.id == set_id][0]
    assert cs.status == "error" and "deleted" in cs.status_reason


def test_regeneration_keeps_edits_and_reports_changes(env, pg_store, workspace):
    ctx, ds = workspace
    set_id = campaigns.create(pg_store, ctx, "Edited", ds.id, CONFIG)
    _start(pg_store, env, ctx, set_id)
    _work(env)
    with pg_store.session_scope(ctx) as s:
        first = s.scalars(select(Variation).where(Variation.campaign_set_id == set_id).order_by(Variation.row_index).limit(1)).one()
        first.fields = {**first.fields, "title": "Hand-written title"}
        first.edited = True
        edited_id = first.id
    with pg_store.session_scope(ctx) as s:
        from studio.store.campaign_models import CampaignSet
        cs = s.get(CampaignSet, set_id)
        cs.config = {**CONFIG, "templates": {**CONFIG["templates"], "title": "NEW {{ product_name }} — ${{ price }}"}}
    _start(pg_store, env, ctx, set_id)
    _work(env)
    info = campaigns.latest_run(pg_store, ctx, set_id)
    assert info.diff["changed"] > 0 and info.diff["kept_edits"] == 1
    with pg_store.session_scope(ctx) as s:
        assert s.get(Variation, edited_id).fields["title"] == "Hand-written title"
        assert s.scalar(select(func.count()).select_from(Variation).where(Variation.campaign_set_id == set_id,
                                                                          Variation.title.startswith("NEW "))) > 0


def test_a_run_whose_worker_died_is_flagged_stalled_and_resumes_exactly(env, pg_store, workspace):
    import datetime as dt

    from studio.store.campaign_models import GenerationChunk

    ctx, ds = workspace
    set_id = campaigns.create(pg_store, ctx, "Stalled", ds.id, CONFIG)
    run_id = _start(pg_store, env, ctx, set_id, chunk_rows=500)
    generation.run_chunk(str(ctx.workspace_id), str(run_id), 0)
    Redis.from_url(env.redis_url).flushdb()  # the queued jobs are lost with their worker's machine
    assert not campaigns.latest_run(pg_store, ctx, set_id).stalled()  # recent progress: not flagged yet
    long_ago = dt.datetime.now(dt.UTC) - campaigns.STALL_AFTER - dt.timedelta(seconds=5)
    with pg_store.session_scope(ctx) as s:  # a chunk claimed by the worker that died, minutes ago
        s.query(GenerationChunk).filter_by(run_id=run_id).update({"updated_at": long_ago})
        s.query(GenerationChunk).filter_by(run_id=run_id, index=1).update({"status": "running"})
        from studio.store.campaign_models import GenerationRun
        s.query(GenerationRun).filter_by(id=run_id).update({"started_at": long_ago})
    info = campaigns.latest_run(pg_store, ctx, set_id)
    assert info.stalled() and info.chunks_done == 1
    assert campaigns.resume(pg_store, ctx, run_id) == 3
    assert not campaigns.latest_run(pg_store, ctx, set_id).stalled()
    _work(env)
    info = campaigns.latest_run(pg_store, ctx, set_id)
    assert (info.status, info.chunks_done, info.rows_done) == ("done", 4, 2000)
    table = datasets.load_table(pg_store, ctx, ds.id)
    with build_plan(table, CONFIG) as plan:
        assert [s[2] for s in _stored(pg_store, ctx, set_id)] == plan.to_arrow().column("title").to_pylist()
    with pytest.raises(ValidationFailed, match="already ended"):
        campaigns.resume(pg_store, ctx, run_id)


def test_tags_and_groups_from_rules_are_stored_with_each_variation(env, pg_store, workspace):
    from studio import variations

    ctx, ds = workspace
    rules = [*CONFIG["rules"],
             {"id": "shoes", "name": "Shoes", "enabled": True, "priority": 2,
              "conditions": {"logic": "and", "items": [{"field": "category", "operator": "equals", "value": "shoes"}]},
              "actions": [{"type": "add_tag", "params": {"tag": "footwear"}},
                          {"type": "add_to_group", "params": {"group": "Feet \"first\""}}]}]
    config = {**CONFIG, "rules": rules}
    set_id = campaigns.create(pg_store, ctx, "Tagged", ds.id, config)
    _start(pg_store, env, ctx, set_id, chunk_rows=700)
    _work(env)
    table = datasets.load_table(pg_store, ctx, ds.id)
    with build_plan(table, config) as plan:
        expected = plan.to_arrow()
    tagged = sum(1 for t in expected.column("__tags").to_pylist() if t == ["footwear"])
    assert tagged > 0
    assert variations.labels(pg_store, ctx, set_id) == ['Feet "first"', "footwear"]
    assert variations.page(pg_store, ctx, set_id, variations.VariationFilter(tag="footwear")).total == tagged
    assert variations.page(pg_store, ctx, set_id, variations.VariationFilter(tag='Feet "first"')).total == tagged
    rows = variations.page(pg_store, ctx, set_id, variations.VariationFilter(tag="footwear"), limit=5).rows
    assert all(r["tags"] == ["footwear"] and r["groups"] == ['Feet "first"'] for r in rows)
