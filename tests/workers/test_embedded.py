"""Embedded mode: the server's own loop sends due posts of every workspace and runs the system schedules."""

from __future__ import annotations

import datetime as dt

import pytest

from studio.publishing import queue, schedule
from studio.publishing.schedule import PublishOptions
from studio.settings import SettingsError
from tests.studio.test_publishing_support import Pub, connect, make_pub, make_set, new_workspace, reddit, rows  # noqa: F401
from workers import embedded
from workers.periodic import SCHEDULES


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
    """The schedules record that they ran instead of reading the process's settings."""
    ran: list[str] = []
    fakes = tuple(s.__class__(s.name, s.every_s, lambda name=s.name: ran.append(name) or {}) for s in SCHEDULES)
    monkeypatch.setattr(embedded, "SCHEDULES", fakes)
    return ran


def test_due_posts_of_every_workspace_go_out_once(sqlite_store, reddit, monkeypatch, no_system_jobs):  # noqa: F811
    first = make_pub(sqlite_store, reddit, monkeypatch)
    second = Pub(sqlite_store, new_workspace(sqlite_store), reddit)
    _due_set(first, "alice", 2)
    _due_set(second, "bob", 1)
    assert _states(first) == ["scheduled", "scheduled"]

    loop = embedded.EmbeddedLoop(sqlite_store)
    assert loop.run_once()["publishing"] >= 2
    for _ in range(3):  # a post spaced behind the first one in its subreddit comes in a later pass
        loop.run_once()
    assert _states(first) == ["posted", "posted"] and _states(second) == ["posted"]
    assert len(reddit.posts) == 3
    loop.run_once()
    assert len(reddit.posts) == 3, "a posted item is never sent again"


def test_system_schedules_run_once_per_slot(sqlite_store, no_system_jobs):
    loop = embedded.EmbeddedLoop(sqlite_store)
    t = 1_000_000_000.0
    loop.run_once(now=t)
    assert sorted(no_system_jobs) == ["audit-retention", "usage-meter"]
    loop.run_once(now=t + 60)
    assert sorted(no_system_jobs) == ["audit-retention", "usage-meter"]
    loop.run_once(now=t + 600)
    assert sorted(no_system_jobs) == ["audit-retention", "usage-meter", "usage-meter"]


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
