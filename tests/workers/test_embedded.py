"""Embedded mode: the server's own loop sends due posts of every workspace and runs the system schedules."""

from __future__ import annotations

import datetime as dt

import pytest

from studio.publishing import queue, schedule
from studio.publishing.schedule import PublishOptions
from studio.settings import SettingsError
from tests.studio.test_publishing_support import Pub, connect, make_pub, make_set, new_workspace, reddit, rows  # noqa: F401
from workers import embedded
from workers.periodic import PERIODIC


def _due_set(pub: Pub, user: str, n: int = 2) -> None:
    account = connect(pub, user)
    set_id = make_set(pub, rows(n))
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=30)).isoformat()
    schedule.commit(pub.store, pub.ctx, set_id, PublishOptions(account_ids=[str(account.id)], start_at=past,
                                                                 jitter_minutes=0))


def _states(pub: Pub) -> list[str]:
    return sorted(r.state for r in queue.list_queue(pub.store, pub.ctx))


@pytest.fixture()
def no_system_jobs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The periodic entries other than the publishing sweep record that they ran instead of doing their work."""
    import dataclasses

    ran: list[str] = []
    fakes = tuple(p if p.name == "publish-sweep" else
                  dataclasses.replace(p, run=lambda _store, name=p.name: ran.append(name) or {}) for p in PERIODIC)
    monkeypatch.setattr(embedded, "PERIODIC", fakes)
    return ran


def test_due_posts_of_every_workspace_go_out_once(sqlite_store, reddit, monkeypatch, no_system_jobs):  # noqa: F811
    first = make_pub(sqlite_store, reddit, monkeypatch)
    second = Pub(sqlite_store, new_workspace(sqlite_store), reddit)
    _due_set(first, "alice", 2)
    _due_set(second, "bob", 1)
    assert _states(first) == ["scheduled", "scheduled"]

    loop = embedded.EmbeddedLoop(sqlite_store)
    assert loop.run_once()["publish-sweep"]["done"] >= 2
    for _ in range(3):  # a post spaced behind the first one in its subreddit comes in a later pass
        loop.run_once()
    # the past start became now: alice's second post keeps its 10-minute gap instead of going at once,
    # and "publish now" on it waits for the gap too (it is sent only when alice may post again)
    assert _states(first) == ["posted", "scheduled"] and _states(second) == ["posted"]
    waiting = next(r for r in queue.list_queue(first.store, first.ctx) if r.state == "scheduled")
    queue.publish_now(first.store, first.ctx, waiting.id)
    loop.run_once()
    assert _states(first) == ["posted", "retry_later"] and "10 minutes" in queue.list_queue(
        first.store, first.ctx, states=["retry_later"])[0].reason
    assert len(reddit.posts) == 2
    loop.run_once()
    assert len(reddit.posts) == 2, "a posted item is never sent again"


def test_the_periodic_list_runs_in_the_embedded_loop_at_its_intervals(sqlite_store, no_system_jobs):
    """The team mode's list, metrics included; the entries about RQ workers are the team mode's only."""
    loop = embedded.EmbeddedLoop(sqlite_store)
    t = 1_000_000_000.0
    assert "publish-sweep" in loop.run_once(now=t)
    embedded_ones = sorted(p.name for p in PERIODIC if not p.team_only and p.name != "publish-sweep")
    assert {"audit-retention", "events-dispatch", "metrics-sync", "token-refresh", "usage-meter"} <= set(embedded_ones)
    assert not {"run-recovery", "worker-cleanup"} & set(embedded_ones)
    assert sorted(no_system_jobs) == embedded_ones
    within_a_minute = sorted(p.name for p in PERIODIC if p.name in embedded_ones and p.every_s <= 60)
    assert "events-dispatch" in within_a_minute
    assert "publish-sweep" in loop.run_once(now=t + 60)
    assert sorted(no_system_jobs) == sorted(embedded_ones + within_a_minute), "nothing else was due a minute later"
    loop.run_once(now=t + 600)
    assert sorted(no_system_jobs).count("usage-meter") == 2
    loop.run_once(now=t + 3600)
    assert sorted(no_system_jobs).count("metrics-sync") == 2 and no_system_jobs.count("token-refresh") == 1


def test_the_loop_runs_in_the_background_and_stops(sqlite_store, reddit, monkeypatch, no_system_jobs):  # noqa: F811
    pub = make_pub(sqlite_store, reddit, monkeypatch)
    _due_set(pub, "carol", 1)
    loop = embedded.EmbeddedLoop(sqlite_store, every_s=0.2)
    loop.start()
    try:
        deadline = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)
        while _states(pub) != ["posted"] and dt.datetime.now(dt.UTC) < deadline:
            loop.join(0.2)
        assert _states(pub) == ["posted"]
    finally:
        loop.stop()
        loop.join(10)
    assert not loop.is_alive()


def test_the_studio_server_starts_one_loop_in_embedded_mode_only(tmp_path, monkeypatch):
    from studio.ui import resources

    for name in ("DATABASE_URL", "MIGRATION_DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DOTORO_HOME", str(tmp_path / "on"))
    monkeypatch.setenv("BACKGROUND_JOBS", "on")
    loop = resources.background_work()
    try:
        assert loop is not None and loop.is_alive()
        assert resources.background_work() is loop, "one loop per server process"
    finally:
        assert loop is not None
        loop.stop()
        loop.join(10)
    monkeypatch.setenv("DOTORO_HOME", str(tmp_path / "off"))
    monkeypatch.setenv("BACKGROUND_JOBS", "off")
    assert resources.background_work() is None
    monkeypatch.setenv("BACKGROUND_JOBS", "sometimes")
    with pytest.raises(SettingsError, match="BACKGROUND_JOBS must be 'on' or 'off'"):
        resources.settings()


# --- generation on the embedded worker thread (issue 14, item 8) ---------------------------------------------

THREADS = {"platform": "reddit", "format": "thread",
           "templates": {"subreddit": "deals", "title": "{{ name }} for {{ price }}", "body": "Only {{ price }}"}}


@pytest.fixture()
def embedded_set(sqlite_store, monkeypatch):
    """A workspace of the embedded store with a 240-row data set and a campaign set over it; jobs find the
    store through the process's settings, as in the served studio."""
    import uuid

    from studio import auth, campaigns, datasets
    from studio.context import Context

    monkeypatch.setenv("DOTORO_HOME", str(sqlite_store.settings.home))
    for name in ("DATABASE_URL", "MIGRATION_DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    account, ws = auth.sign_up(sqlite_store, f"e{uuid.uuid4().hex[:6]}@example.com", "Em", "longenough")
    ctx = Context(user_id=account.id, workspace_id=ws)
    csv = "name,price\n" + "".join(f"Item {i},{i}\n" for i in range(240))
    ds = datasets.upload(sqlite_store, ctx, "items.csv", csv.encode())
    return sqlite_store, ctx, campaigns.create(sqlite_store, ctx, "Embedded threads", ds.id, THREADS)


@pytest.fixture()
def workers_with_gate():
    """A started embedded worker whose thread is held by a first job until the test opens the gate."""
    import threading

    gate = threading.Event()
    workers = embedded.EmbeddedWorkers()
    workers.start()
    assert workers.submit(gate.wait, (60,), "gate")
    yield workers, gate
    gate.set()
    workers.stop(timeout=30)


def test_a_run_returns_at_once_and_completes_on_the_worker_thread(embedded_set, workers_with_gate):
    from studio import campaigns

    store, ctx, set_id = embedded_set
    workers, gate = workers_with_gate
    run_id = campaigns.generate(store, ctx, set_id)
    info = campaigns.latest_run(store, ctx, set_id)
    assert info.id == run_id and info.status == "queued" and info.rows_done == 0, "the click did not render the run"
    assert workers.pending() == 2, "the gate and the run's chunk wait on the worker"
    assert workers.submit(lambda: None, (), f"gen-{run_id}-0") is False, \
        "the same chunk is never queued twice"
    gate.set()
    assert workers.wait(120)
    done = campaigns.latest_run(store, ctx, set_id)
    assert (done.status, done.rows_done, done.variations) == ("done", 240, 240)
    assert next(s for s in campaigns.list_sets(store, ctx) if s.id == set_id).variation_count == 240


def test_cancel_stops_a_queued_run_and_nothing_is_written(embedded_set, workers_with_gate):
    from studio import campaigns

    store, ctx, set_id = embedded_set
    workers, gate = workers_with_gate
    run_id = campaigns.generate(store, ctx, set_id)
    campaigns.cancel(store, ctx, run_id)
    gate.set()
    assert workers.wait(120)
    info = campaigns.latest_run(store, ctx, set_id)
    assert (info.status, info.rows_done, info.variations) == ("cancelled", 0, 0)
    cs = next(s for s in campaigns.list_sets(store, ctx) if s.id == set_id)
    assert (cs.status, cs.variation_count) == ("draft", 0)


def test_a_run_lost_with_its_server_is_resumed_on_the_next_worker(embedded_set, workers_with_gate):
    from studio import campaigns, jobs

    store, ctx, set_id = embedded_set
    first, gate = workers_with_gate
    run_id = campaigns.generate(store, ctx, set_id)
    first.stop(timeout=0)  # the server stopped: the queued chunk is gone with it
    gate.set()
    assert jobs.runner() is None
    assert campaigns.latest_run(store, ctx, set_id).status == "queued"
    second = embedded.EmbeddedWorkers()
    second.start()
    try:
        assert campaigns.resume(store, ctx, run_id) == 1
        assert second.wait(120)
    finally:
        second.stop(timeout=30)
    info = campaigns.latest_run(store, ctx, set_id)
    assert (info.status, info.rows_done, info.variations) == ("done", 240, 240)


def test_without_the_server_worker_a_run_generates_inline(embedded_set):
    from studio import campaigns, jobs

    store, ctx, set_id = embedded_set
    assert jobs.runner() is None
    campaigns.generate(store, ctx, set_id)
    assert campaigns.latest_run(store, ctx, set_id).status == "done"


def test_the_server_loop_starts_and_stops_the_worker(sqlite_store, no_system_jobs):
    from studio import jobs

    loop = embedded.EmbeddedLoop(sqlite_store, every_s=30)
    loop.start()
    try:
        assert jobs.runner() is loop.workers
    finally:
        loop.stop()
        loop.join(10)
    assert jobs.runner() is None


def test_a_server_restart_resumes_the_runs_it_left_unfinished(embedded_set, no_system_jobs):
    """Stop the server while a chunk waits in memory; the next server's loop finishes the run by itself."""
    import threading
    import time

    from studio import campaigns, jobs

    store, ctx, set_id = embedded_set
    held = embedded.EmbeddedWorkers()
    held.start()
    gate = threading.Event()
    held.submit(gate.wait, (60,), "gate")
    run_id = campaigns.generate(store, ctx, set_id)
    held.stop(timeout=0)  # the server stopped: the queued chunk is gone with it
    gate.set()
    assert jobs.runner() is None and campaigns.latest_run(store, ctx, set_id).status == "queued"
    loop = embedded.EmbeddedLoop(store, every_s=30)
    loop.start()
    try:
        deadline = time.monotonic() + 120  # the loop queues the chunk from its own thread
        while campaigns.latest_run(store, ctx, set_id).status != "done" and time.monotonic() < deadline:
            loop.join(0.1)
    finally:
        loop.stop()
        loop.join(10)
    info = campaigns.latest_run(store, ctx, set_id)
    assert (info.id, info.status, info.rows_done, info.variations) == (run_id, "done", 240, 240)


def test_a_run_stalled_past_the_threshold_waits_for_resume(embedded_set, no_system_jobs):
    """A run idle longer than STALL_AFTER when the server starts is left to a person (Campaign sets shows Resume)."""
    from studio import campaigns
    from tests.runs import stall_latest_run

    store, ctx, set_id = embedded_set
    campaigns.generate(store, ctx, set_id)  # no server worker: generates inline
    stall_latest_run(store, ctx, set_id, campaigns.STALL_AFTER + dt.timedelta(minutes=1))
    loop = embedded.EmbeddedLoop(store, every_s=30)
    assert loop.resume_unfinished() == {}
    info = campaigns.latest_run(store, ctx, set_id)
    assert info.status == "running" and info.stalled()
