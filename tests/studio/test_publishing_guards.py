"""Planning guards: never into the past, never back to back from a past start, nothing Reddit would refuse."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from studio.publishing import content, planner, schedule
from studio.publishing.outbox import aware
from studio.publishing.schedule import PublishOptions
from studio.store.publishing_models import PublishItem
from tests.studio.test_publishing_support import connect, make_pub, make_set, reddit, rows  # noqa: F401

UTC = dt.UTC


@pytest.fixture()
def pub(store, reddit, monkeypatch):  # noqa: F811
    return make_pub(store, reddit, monkeypatch)


def _items(pub, set_id):
    with pub.store.session_scope(pub.ctx) as s:
        return list(s.scalars(select(PublishItem).where(PublishItem.campaign_set_id == set_id)
                              .order_by(PublishItem.scheduled_at)))


def test_the_planner_places_nothing_before_now_and_keeps_the_gap_from_there():
    now = dt.datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    prefs = planner.Preferences(now - dt.timedelta(days=2), stagger=dt.timedelta(0))
    wants = [planner.Want(f"k{i}", f"sub{i}") for i in range(4)]
    out = planner.plan(wants, [planner.Account("a")], prefs, now=now)
    times = [s.at for s in out.slots]
    assert times[0] == now and all(b - a >= dt.timedelta(minutes=10) for a, b in zip(times, times[1:]))
    assert planner.plan(wants, [planner.Account("a")], prefs).slots[0].at == prefs.start  # no `now`: as asked


def test_a_past_start_is_planned_from_now_with_every_gap(pub):
    a = connect(pub, "alice")
    set_id = make_set(pub, rows(3))
    before = dt.datetime.now(UTC)
    past = (before - dt.timedelta(hours=2)).isoformat()
    schedule.commit(pub.store, pub.ctx, set_id, PublishOptions(account_ids=[str(a.id)], start_at=past,
                                                               jitter_minutes=0, stagger_minutes=0))
    times = [aware(i.scheduled_at) for i in _items(pub, set_id)]
    assert len(times) == 3 and times[0] >= before - dt.timedelta(seconds=1)
    assert [round((b - a_).total_seconds()) for a_, b in zip(times, times[1:])] == [600, 600]  # alice's 10 minutes


BAD_TITLES = [
    ("", "required but empty"),
    ("   \t", "required but empty"),
    ("x" * 301, "too long: 301 characters, limit 300"),
    ("🍵" * 301, "too long: 301 characters, limit 300"),
]


def test_a_nul_anywhere_is_refused_with_the_field_named():
    assert "Title field contains a NUL character" in (content.problem("thread", title="Tea\x00time") or "")
    assert "Body field contains a NUL" in (content.problem("thread", title="ok", body="a\x00") or "")
    assert "Comment field contains a NUL" in (content.problem("comment", body="a\x00") or "")


def test_a_nul_title_is_refused_when_planning(sqlite_store, reddit, monkeypatch):  # noqa: F811
    """Postgres cannot store a NUL at all; the embedded SQLite store can, so the planner must refuse it."""
    pub = make_pub(sqlite_store, reddit, monkeypatch)
    a = connect(pub, "alice")
    set_id = make_set(pub, [{"title": "Tea\x00time", "subreddit": "python"}])
    result = schedule.commit(pub.store, pub.ctx, set_id, PublishOptions(account_ids=[str(a.id)]))
    assert "NUL character" in result.refused[0][2] and _items(pub, set_id) == []


@pytest.mark.parametrize(("title", "why"), BAD_TITLES, ids=["empty", "blank", "301", "301-emoji"])
def test_a_title_reddit_would_refuse_is_refused_when_planning(pub, title, why):
    a = connect(pub, "alice")
    set_id = make_set(pub, [{"title": title, "subreddit": "python", "body": "b"},
                            {"title": "🍵" * 300, "subreddit": "cooking", "body": "300 code points is fine"}])
    result = schedule.commit(pub.store, pub.ctx, set_id, PublishOptions(account_ids=[str(a.id)]))
    ((_, sub, reason),) = result.refused
    assert sub == "python" and why in reason and "Title" in reason
    assert [i.title for i in _items(pub, set_id)] == ["🍵" * 300]


@pytest.mark.parametrize(("row", "why"), [
    ({"body": "x" * 40_001}, "The Body field is too long: 40001 characters, limit 40000"),
    ({"url": "example.com/no-scheme"}, "The Link URL field is not a valid http(s) URL"),
    ({"nsfw": "maybe"}, "The nsfw field is 'maybe'; use true or false."),
    ({"send_replies": "sometimes"}, "The send-replies field is 'sometimes'"),
])
def test_bodies_links_and_flags_are_checked_when_planning(pub, row, why):
    a = connect(pub, "alice")
    set_id = make_set(pub, [{"title": "A post", "subreddit": "python", **row}])
    result = schedule.preview(pub.store, pub.ctx, set_id, PublishOptions(account_ids=[str(a.id)]))
    assert result.items == [] and why in result.refused[0][2]


def test_the_preview_shows_the_flags_that_will_be_sent(pub):
    a = connect(pub, "alice")
    set_id = make_set(pub, [{"title": "Spoilers inside", "subreddit": "python", "nsfw": "TRUE", "spoiler": "true",
                             "send_replies": "false"}, {"title": "Plain", "subreddit": "cooking"}])
    result = schedule.preview(pub.store, pub.ctx, set_id, PublishOptions(account_ids=[str(a.id)]))
    flags = {i.title: i.flags for i in result.items}
    assert flags == {"Spoilers inside": content.Flags(nsfw=True, spoiler=True, send_replies=False),
                     "Plain": content.Flags(nsfw=False, spoiler=False, send_replies=True)}


def test_a_comment_body_over_reddits_limit_is_refused_when_planning(pub):
    a = connect(pub, "alice")
    set_id = make_set(pub, [{"parent": "t3_abc12", "body": "y" * 10_001}, {"parent": "t3_abc12", "body": " "},
                            {"parent": "t3_abc12", "body": "Fine"}], fmt="comment")
    result = schedule.preview(pub.store, pub.ctx, set_id, PublishOptions(account_ids=[str(a.id)]))
    reasons = sorted(r for _, _, r in result.refused)
    assert len(reasons) == 2 and "required but empty" in reasons[0] and "limit 10000" in reasons[1]
    assert [i.body for i in result.items] == ["Fine"]
