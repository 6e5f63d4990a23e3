"""Sets that follow their data (issue 19): a diff per new version, applied exactly, conflicts, auto mode,
sets made paused; on the real Postgres + Redis, jobs run by an RQ worker."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
import uuid

import pytest
from redis import Redis
from rq import SimpleWorker
from sqlalchemy import select

from studio import auth, campaigns, datasets, review, set_follow
from studio.context import Context
from studio.errors import ValidationFailed
from studio.publishing import execute
from studio.store.campaign_models import CampaignSet, Variation
from studio.store.publishing_models import PublishItem
from tests.workers.test_generation import ROOT, env  # noqa: F401
from workers import feed_apply, generation, queues

CONFIG = {"platform": "reddit", "format": "thread",
          "templates": {"subreddit": "deals", "title": "{{ title }} for ${{ price }}", "body": "In {{ category }}."},
          "rules": [{"id": "skip", "name": "Skip free", "enabled": True, "priority": 1,
                     "conditions": {"logic": "and", "items": [{"field": "price", "operator": "less_than", "value": 1}]},
                     "actions": [{"type": "skip", "params": {}}]}]}

HEADER = "sku,title,price,category,stock"
V1 = [f"s{i:02d},Item {i},{10 + i},cat{i % 3},{i}" for i in range(12)]


def v2_rows() -> list[str]:
    """From V1: s03 and s07 removed, s02's title and s05's price changed, s04's stock changed (no template uses
    it), n1 inserted in the middle (every later row moves), n2 at the end, s11 moved to the top."""
    rows = [r for r in V1 if not r.startswith(("s03", "s07"))]
    rows = [r.replace("Item 2,", "Item two,") if r.startswith("s02") else r for r in rows]
    rows = [r.replace(",15,", ",99,") if r.startswith("s05") else r for r in rows]
    rows = [r.replace(",cat1,4", ",cat1,400") if r.startswith("s04") else r for r in rows]
    s11 = rows.pop()
    rows.insert(0, s11)
    rows.insert(3, "n1,New one,50,cat0,1")
    rows.append("n2,New two,60,cat1,1")
    return rows


def csv(rows: list[str]) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode()


def work(settings) -> None:
    conn = Redis.from_url(settings.redis_url)
    q = queues.queue(settings, "generation", connection=conn)
    SimpleWorker([q], connection=conn, serializer=q.serializer).work(burst=True)


@pytest.fixture()
def team(pg_store, env):  # noqa: F811
    account, ws = auth.sign_up(pg_store, f"f{uuid.uuid4().hex[:8]}@example.com", "Follower", "longenough")
    ctx = Context(user_id=account.id, workspace_id=ws)
    ds = datasets.upload(pg_store, ctx, "feed.csv", csv(V1))
    return ctx, ds.id


def generated(store, settings, ctx, set_id, chunk_rows=5) -> None:
    run_id = campaigns.start_run(store, ctx, set_id, chunk_rows=chunk_rows)
    generation.enqueue_run(settings, ctx.workspace_id, run_id, campaigns.latest_run(store, ctx, set_id).chunks_total)
    work(settings)
    assert campaigns.latest_run(store, ctx, set_id).status == "done"


def stored(store, ctx, set_id, *, active=True):
    """(key, variation, row, fields) of the set's variations; `active`: without the paused ones."""
    with store.session_scope(ctx) as s:
        stmt = select(Variation).where(Variation.campaign_set_id == set_id)
        if active:
            stmt = stmt.where(Variation.status != "paused")
        return sorted((v.row_key, v.variation_index, v.row_index, dict(v.fields)) for v in s.scalars(stmt))


def variation(store, ctx, set_id, key):
    with store.session_scope(ctx) as s:
        v = s.scalar(select(Variation).where(Variation.campaign_set_id == set_id, Variation.row_key == key))
        s.expunge(v)
        return v


def following_set(store, settings, ctx, dataset_id, **kw):
    set_id = campaigns.create(store, ctx, f"Follows {uuid.uuid4().hex[:4]}", dataset_id, CONFIG, **kw)
    generated(store, settings, ctx, set_id)
    return set_id


def new_version(store, settings, ctx, dataset_id, rows) -> None:
    datasets.replace(store, ctx, dataset_id, "feed.csv", csv(rows))
    work(settings)  # the diff job (and, in auto mode, the apply chunks)


def test_a_new_version_brings_a_diff_with_exact_counts_samples_and_fields(pg_store, env, team):  # noqa: F811
    ctx, ds_id = team
    set_id = following_set(pg_store, env, ctx, ds_id)
    with pg_store.session_scope(ctx) as s:
        assert s.get(CampaignSet, set_id).key_column == "sku"
    new_version(pg_store, env, ctx, ds_id, v2_rows())
    [d] = set_follow.diffs(pg_store, ctx, set_id)
    assert (d.status, d.from_version, d.to_version, d.key_column) == ("review", 1, 2, "sku")
    assert {k: d.counts[k] for k in ("added", "removed", "changed", "unchanged")} == \
        {"added": 2, "removed": 2, "changed": 2, "unchanged": 8}
    # s11 went first, n1 came in at 3 and s03 and s07 left: s00-s06 and s11 moved, s08-s10 are back in place
    assert d.counts["moved"] == 7
    assert d.by_field == {"title": 1, "price": 1}  # s04's stock is no template's: unchanged
    assert [x["key"] for x in d.samples["added"]] == ["n1", "n2"]
    assert [x["key"] for x in d.samples["removed"]] == ["s03", "s07"]
    changed = {x["key"]: x["fields"] for x in d.samples["changed"]}
    assert changed == {"s02": {"title": ["Item 2", "Item two"]}, "s05": {"price": ["15", "99"]}}
    assert "stock" not in d.columns
    with pg_store.session_scope(ctx) as s:  # nothing changed before a member decides
        assert s.get(CampaignSet, set_id).dataset_version == 1
    assert len(stored(pg_store, ctx, set_id)) == 12
    from studio.store.event_models import Event
    with pg_store.session_scope(ctx) as s:
        kinds = [e.data for e in s.scalars(select(Event).where(Event.kind == "diff.ready"))]
    assert [(k["diff_id"], k["added"], k["removed"]) for k in kinds] == [(str(d.id), 2, 2)]


def test_apply_writes_only_what_changed_and_equals_a_fresh_generate(pg_store, env, team):  # noqa: F811
    ctx, ds_id = team
    set_id = following_set(pg_store, env, ctx, ds_id)
    before = {v[0]: v for v in stored(pg_store, ctx, set_id)}
    ids_before = {variation(pg_store, ctx, set_id, k).id for k in ("s00", "s06")}
    removed = variation(pg_store, ctx, set_id, "s03")
    with pg_store.session_scope(ctx) as s:
        s.add_all([PublishItem(campaign_set_id=set_id, variation_id=removed.id, dedupe_key=f"t-{removed.id}", kind="thread",
                               title="x", scheduled_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)),
                   PublishItem(campaign_set_id=set_id, variation_id=variation(pg_store, ctx, set_id, "s06").id,
                               dedupe_key="kept", kind="thread", title="y",
                               scheduled_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))])
    new_version(pg_store, env, ctx, ds_id, v2_rows())
    [d] = set_follow.diffs(pg_store, ctx, set_id)
    set_follow.apply(pg_store, ctx, d.id, chunk_rows=4)
    work(env)
    d = set_follow.get_diff(pg_store, ctx, d.id)
    assert (d.status, d.chunks_done, d.chunks_total) == ("applied", 3, 3)
    # s04 changed a column no template uses: not rewritten, only moved (with s00, s01, s06, s11)
    assert d.result == {"inserted": 2, "rewritten": 2, "moved": 5, "restored": 0, "conflicts": 0, "paused": 2,
                        "cancelled_items": 1}

    fresh = campaigns.create(pg_store, ctx, "Fresh on v2", ds_id, CONFIG)
    generated(pg_store, env, ctx, fresh)
    assert stored(pg_store, ctx, set_id) == stored(pg_store, ctx, fresh)
    after = {v[0]: v for v in stored(pg_store, ctx, set_id, active=False)}
    assert after["s03"] == before["s03"] and after["s07"] == before["s07"]  # paused, kept as they were
    assert variation(pg_store, ctx, set_id, "s03").status == "paused"
    assert {variation(pg_store, ctx, set_id, k).id for k in ("s00", "s06")} == ids_before  # identity by key
    with pg_store.session_scope(ctx) as s:
        states = dict(s.execute(select(PublishItem.dedupe_key, PublishItem.state)
                                .where(PublishItem.campaign_set_id == set_id)).all())
        cs = s.get(CampaignSet, set_id)
        assert (cs.dataset_version, cs.status, cs.variation_count) == (2, "ready", 14)
    assert states == {f"t-{removed.id}": "cancelled", "kept": "scheduled"}

    # the same data again (a re-upload): a diff of nothing, whose apply writes nothing
    new_version(pg_store, env, ctx, ds_id, v2_rows())
    d2 = set_follow.diffs(pg_store, ctx, set_id)[0]
    assert (d2.from_version, d2.to_version, d2.counts["changed"], d2.counts["added"]) == (2, 3, 0, 0)
    set_follow.apply(pg_store, ctx, d2.id)
    work(env)
    d2 = set_follow.get_diff(pg_store, ctx, d2.id)
    assert d2.status == "applied" and sum(d2.result.values()) == 0
    for i in range(d.chunks_total):  # a chunk job delivered twice does nothing the second time
        assert feed_apply.apply_chunk(str(ctx.workspace_id), str(d.id), i) == {"skipped": "already done"}
    with pytest.raises(ValidationFailed, match="applied"):
        set_follow.apply(pg_store, ctx, d.id)


def test_a_hand_edit_whose_row_changed_is_a_conflict_settled_either_way(pg_store, env, team):  # noqa: F811
    ctx, ds_id = team
    set_id = following_set(pg_store, env, ctx, ds_id)
    for key in ("s02", "s05", "s08"):  # s02 and s05 change in v2, s08 does not
        review.edit(pg_store, ctx, variation(pg_store, ctx, set_id, key).id, {"title": f"My own {key}"})
    new_version(pg_store, env, ctx, ds_id, v2_rows())
    [d] = set_follow.diffs(pg_store, ctx, set_id)
    set_follow.apply(pg_store, ctx, d.id)
    work(env)
    d = set_follow.get_diff(pg_store, ctx, d.id)
    assert (d.result["conflicts"], d.result["rewritten"], d.conflicts_open) == (2, 0, 2)
    found = {c.row_key: c for c in set_follow.conflicts(pg_store, ctx, set_id)}
    assert set(found) == {"s02", "s05"}
    assert found["s02"].mine["title"] == "My own s02" and found["s02"].new["title"] == "Item two for $12"
    assert variation(pg_store, ctx, set_id, "s08").fields["title"] == "My own s08"  # no conflict: kept silently

    assert set_follow.resolve(pg_store, ctx, set_id, [found["s02"].id], take_new=True) == 1
    assert set_follow.resolve(pg_store, ctx, set_id, [found["s05"].id], take_new=False) == 1
    s02, s05 = variation(pg_store, ctx, set_id, "s02"), variation(pg_store, ctx, set_id, "s05")
    assert (s02.fields["title"], s02.edited) == ("Item two for $12", False)
    assert (s05.fields["title"], s05.edited) == ("My own s05", True)
    assert set_follow.conflicts(pg_store, ctx, set_id) == []
    assert set_follow.resolve(pg_store, ctx, set_id, [found["s02"].id], take_new=False) == 0  # settled once


def test_auto_mode_applies_without_review(pg_store, env, team):  # noqa: F811
    ctx, ds_id = team
    set_id = following_set(pg_store, env, ctx, ds_id, follow_mode="auto")
    new_version(pg_store, env, ctx, ds_id, v2_rows())
    [d] = set_follow.diffs(pg_store, ctx, set_id)
    assert d.status == "applied", d.error
    assert (d.automatic, d.result["inserted"], d.result["paused"]) == (True, 2, 2)
    fresh = campaigns.create(pg_store, ctx, "Fresh", ds_id, CONFIG, follow_mode="off")
    generated(pg_store, env, ctx, fresh)
    assert stored(pg_store, ctx, set_id) == stored(pg_store, ctx, fresh)


def test_dismiss_leaves_the_set_and_off_mode_makes_no_diff(pg_store, env, team):  # noqa: F811
    ctx, ds_id = team
    reviewed = following_set(pg_store, env, ctx, ds_id)
    off = following_set(pg_store, env, ctx, ds_id, follow_mode="off")
    new_version(pg_store, env, ctx, ds_id, v2_rows())
    assert set_follow.diffs(pg_store, ctx, off) == []
    [d] = set_follow.diffs(pg_store, ctx, reviewed)
    set_follow.dismiss(pg_store, ctx, d.id)
    assert set_follow.get_diff(pg_store, ctx, d.id).status == "dismissed"
    assert len(stored(pg_store, ctx, reviewed)) == 12
    with pytest.raises(ValidationFailed, match="dismissed"):
        set_follow.apply(pg_store, ctx, d.id)


def test_a_viewer_cannot_apply_or_resolve(pg_store, env, team):  # noqa: F811
    from studio import invitations
    from studio.context import Role
    from studio.errors import PermissionDenied

    ctx, ds_id = team
    set_id = following_set(pg_store, env, ctx, ds_id)
    new_version(pg_store, env, ctx, ds_id, v2_rows())
    [d] = set_follow.diffs(pg_store, ctx, set_id)
    email = f"v{uuid.uuid4().hex[:8]}@example.com"
    link = invitations.invite(pg_store, ctx, email, Role.VIEWER)
    viewer, _ = auth.sign_up(pg_store, email, "Viewer", "longenough")
    vctx = Context(user_id=viewer.id, workspace_id=invitations.accept(pg_store, link.url.split("invite=")[1], viewer))
    assert set_follow.get_diff(pg_store, vctx, d.id).counts["added"] == 2
    for attempt in (lambda: set_follow.apply(pg_store, vctx, d.id), lambda: set_follow.dismiss(pg_store, vctx, d.id),
                    lambda: set_follow.resolve(pg_store, vctx, set_id, [], take_new=True)):
        with pytest.raises(PermissionDenied):
            attempt()
    assert set_follow.get_diff(pg_store, ctx, d.id).status == "review"


def test_a_set_without_a_key_follows_by_position(pg_store, env, team):  # noqa: F811
    ctx, _ = team
    rows = [r.split(",", 1)[1] for r in V1]  # no sku column: rows are matched by position
    ds = datasets.upload(pg_store, ctx, "nokey.csv", ("title,price,category,stock\n" + "\n".join(rows) + "\n").encode())
    set_id = following_set(pg_store, env, ctx, ds.id)
    with pg_store.session_scope(ctx) as s:
        assert s.get(CampaignSet, set_id).key_column is None
    v2 = [*rows[:10], "Other,70,cat2,1"]  # the last two rows gone, one after them different
    v2[1] = v2[1].replace("Item 1,", "Item one,")
    datasets.replace(pg_store, ctx, ds.id, "nokey.csv", ("title,price,category,stock\n" + "\n".join(v2) + "\n").encode())
    work(env)
    [d] = set_follow.diffs(pg_store, ctx, set_id)
    assert {k: d.counts[k] for k in ("added", "removed", "changed", "unchanged")} == \
        {"added": 0, "removed": 1, "changed": 2, "unchanged": 9}
    set_follow.apply(pg_store, ctx, d.id)
    work(env)
    fresh = campaigns.create(pg_store, ctx, "Fresh", ds.id, CONFIG, follow_mode="off")
    generated(pg_store, env, ctx, fresh)
    assert [v[1:] for v in stored(pg_store, ctx, set_id)] == [v[1:] for v in stored(pg_store, ctx, fresh)]
    assert len(stored(pg_store, ctx, set_id, active=False)) == 12  # the removed row's variation paused, kept


KILLER = textwrap.dedent("""
    import os, signal, sys
    from redis import Redis
    from rq import SimpleWorker
    from workers import bindings, feed_apply, queues
    from studio.settings import load_settings
    bindings.install()
    done = []
    def die(step):
        done.append(step)
        if len(done) == 2:  # the second chunk wrote its rows and dies before its commit
            os.kill(os.getpid(), signal.SIGKILL)
    feed_apply.CHECKPOINTS.append(die)
    settings = load_settings()
    conn = Redis.from_url(settings.redis_url)
    q = queues.queue(settings, "generation", connection=conn)
    SimpleWorker([q], connection=conn, serializer=q.serializer).work(burst=True)
""")


def test_a_worker_killed_mid_apply_resumes_to_the_exact_result(pg_store, env, team):  # noqa: F811
    ctx, ds_id = team
    set_id = following_set(pg_store, env, ctx, ds_id)
    new_version(pg_store, env, ctx, ds_id, v2_rows())
    [d] = set_follow.diffs(pg_store, ctx, set_id)
    set_follow.apply(pg_store, ctx, d.id, chunk_rows=3)
    worker = subprocess.Popen([sys.executable, "-c", KILLER], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert worker.wait(timeout=120) == -signal.SIGKILL
    mid = set_follow.get_diff(pg_store, ctx, d.id)
    assert (mid.status, mid.chunks_done, mid.chunks_total) == ("applying", 1, 4)
    Redis.from_url(env.redis_url).flushdb()  # the killed job's registry entry goes with it
    assert set_follow.resume(pg_store, ctx, d.id) == 3  # the page's Resume once the apply stalled
    work(env)
    d = set_follow.get_diff(pg_store, ctx, d.id)
    assert (d.status, d.chunks_done) == ("applied", 4)
    assert (d.result["inserted"], d.result["rewritten"], d.result["paused"]) == (2, 2, 2)
    fresh = campaigns.create(pg_store, ctx, "Fresh", ds_id, CONFIG, follow_mode="off")
    generated(pg_store, env, ctx, fresh)
    assert stored(pg_store, ctx, set_id) == stored(pg_store, ctx, fresh)


def test_a_set_made_paused_publishes_nothing_until_approved(pg_store, env, team):  # noqa: F811
    ctx, ds_id = team
    set_id = campaigns.create(pg_store, ctx, "Held", ds_id, CONFIG, start_paused=True)
    with pg_store.session_scope(ctx) as s:
        item = PublishItem(campaign_set_id=set_id, dedupe_key="held-1", kind="thread", title="t",
                           scheduled_at=dt.datetime.now(dt.UTC))
        s.add(item)
        s.flush()
        item_id = item.id
    sent: list[object] = []
    job = Context.job(ctx.workspace_id)
    assert execute.publish(pg_store, job.workspace_id, item_id, 0, enqueue=lambda *a: sent.append(a)) == "held"
    with pg_store.session_scope(ctx) as s:
        item = s.get(PublishItem, item_id)
        assert (item.state, item.reason) == ("retry_later", execute.HELD_REASON)
        gen = item.job_gen
    assert len(sent) == 1
    set_follow.release(pg_store, ctx, set_id)
    # approved: it goes on to its ordinary checks (this one has no account, so it fails with that reason)
    assert execute.publish(pg_store, job.workspace_id, item_id, gen, enqueue=lambda *a: None).startswith("failed")


def test_the_embedded_mode_follows_too(sqlite_store, sqlite_settings, monkeypatch):
    """SQLite, no Redis: the diff and its apply run in process when the new version is stored (auto mode)."""
    monkeypatch.setenv("DOTORO_HOME", str(sqlite_settings.home))
    monkeypatch.setenv("SECRET_KEY", "test-secret")
    for var in ("DATABASE_URL", "MIGRATION_DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(var, raising=False)
    account, ws = auth.sign_up(sqlite_store, f"e{uuid.uuid4().hex[:8]}@example.com", "Embedded", "longenough")
    ctx = Context(user_id=account.id, workspace_id=ws)
    ds = datasets.upload(sqlite_store, ctx, "feed.csv", csv(V1))
    set_id = campaigns.create(sqlite_store, ctx, "Embedded follower", ds.id, CONFIG, follow_mode="auto")
    campaigns.generate(sqlite_store, ctx, set_id)
    datasets.replace(sqlite_store, ctx, ds.id, "feed.csv", csv(v2_rows()))
    [d] = set_follow.diffs(sqlite_store, ctx, set_id)
    assert (d.status, d.result["inserted"], d.result["rewritten"], d.result["paused"]) == ("applied", 2, 2, 2)
    fresh = campaigns.create(sqlite_store, ctx, "Fresh", ds.id, CONFIG, follow_mode="off")
    campaigns.generate(sqlite_store, ctx, fresh)
    assert stored(sqlite_store, ctx, set_id) == stored(sqlite_store, ctx, fresh)


def test_with_dedup_across_rows_every_row_is_rendered_and_the_result_is_exact(pg_store, env, team):  # noqa: F811
    """Keep-first dedup makes a row's variation depend on earlier rows: apply renders whole chunks."""
    ctx, ds_id = team
    config = {**CONFIG, "templates": {**CONFIG["templates"], "title": "Deal in {{ category }}"}, "dedup_fields": ["title"]}
    set_id = campaigns.create(pg_store, ctx, "Dedup follower", ds_id, config, follow_mode="auto")
    generated(pg_store, env, ctx, set_id)
    assert len(stored(pg_store, ctx, set_id)) == 3  # one per category
    rows = [r for r in v2_rows() if not r.startswith("s00")]  # the first cat0 row leaves: another takes its place
    new_version(pg_store, env, ctx, ds_id, rows)
    [d] = set_follow.diffs(pg_store, ctx, set_id)
    assert d.status == "applied", d.error
    fresh = campaigns.create(pg_store, ctx, "Fresh", ds_id, config, follow_mode="off")
    generated(pg_store, env, ctx, fresh)
    assert stored(pg_store, ctx, set_id) == stored(pg_store, ctx, fresh)
    assert variation(pg_store, ctx, set_id, "s00").status == "paused"


def test_a_feed_refresh_brings_the_diff_of_the_new_version(pg_settings, env):  # noqa: F811
    """A URL data set refreshed with rows added, removed and changed: the following set's diff, then applied."""
    import dataclasses

    from studio import feeds
    from studio.store.session import Store
    from tests.feed_server import FeedServer, Route

    server = FeedServer().start()
    store = Store(dataclasses.replace(pg_settings, extra={**pg_settings.extra, "FEED_ALLOWED_NETWORKS": "127.0.0.1"}),
                  pool_size=2)
    try:
        account, ws = auth.sign_up(store, f"u{uuid.uuid4().hex[:8]}@example.com", "Feed Follower", "longenough")
        ctx = Context(user_id=account.id, workspace_id=ws)
        server.routes["/feed.csv"] = Route(csv(V1), etag=False)
        ds_id = feeds.create_from_url(store, ctx, server.url("/feed.csv"), interval_minutes=60).dataset_id
        set_id = campaigns.create(store, ctx, "Feed follower", ds_id, CONFIG)
        generated(store, env, ctx, set_id)
        server.routes["/feed.csv"] = Route(csv(v2_rows()), etag=False)
        assert feeds.refresh(store, ctx, ds_id).outcome == "new_version"
        work(env)
        [d] = set_follow.diffs(store, ctx, set_id)
        assert (d.key_column, d.counts["added"], d.counts["removed"], d.counts["changed"]) == ("sku", 2, 2, 2)
        set_follow.apply(store, ctx, d.id)
        work(env)
        assert set_follow.get_diff(store, ctx, d.id).status == "applied"
        assert {v[0] for v in stored(store, ctx, set_id)} == {f"s{i:02d}" for i in range(12)} - {"s03", "s07"} | {"n1", "n2"}
    finally:
        store.dispose()
        server.stop()


def test_a_version_without_the_key_column_is_held_for_a_person(pg_store, env, team):  # noqa: F811
    ctx, ds_id = team
    set_id = following_set(pg_store, env, ctx, ds_id, follow_mode="auto")
    renamed = [HEADER.replace("sku", "code"), *v2_rows()]
    datasets.replace(pg_store, ctx, ds_id, "feed.csv", ("\n".join(renamed) + "\n").encode())
    work(env)
    [d] = set_follow.diffs(pg_store, ctx, set_id)
    assert d.status == "review" and "has no column 'sku'" in d.error  # not applied, although the set is auto
    with pytest.raises(ValidationFailed, match="has no column 'sku'"):
        set_follow.apply(pg_store, ctx, d.id)
    assert len(stored(pg_store, ctx, set_id)) == 12
    set_follow.dismiss(pg_store, ctx, d.id)
