"""Planning a set into the outbox: checks with reasons, rotation, stable re-plans, comments, moving and cancelling."""

from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from studio.errors import ValidationFailed
from studio.publishing import queue, schedule
from studio.publishing.outbox import aware
from studio.publishing.schedule import PublishOptions
from studio.store.campaign_models import Variation
from studio.store.publishing_models import PublishEvent, PublishItem
from tests.studio.test_publishing_support import (  # noqa: F401
    connect,
    make_pub,
    make_set,
    reddit,
    rows,
)


@pytest.fixture()
def pub(store, reddit, monkeypatch):  # noqa: F811
    return make_pub(store, reddit, monkeypatch)


def _options(*accs, **kw) -> PublishOptions:
    return PublishOptions(account_ids=[str(a.id) for a in accs], **kw)


def _items(pub, set_id):
    with pub.store.session_scope(pub.ctx) as s:
        return list(s.scalars(select(PublishItem).where(PublishItem.campaign_set_id == set_id)
                              .order_by(PublishItem.scheduled_at)))


def test_commit_checks_each_target_and_says_why_it_refuses(pub):
    a, b = connect(pub, "alice"), connect(pub, "bob")
    data = rows(4) + [
        {"title": "Nowhere", "subreddit": "gone"},
        {"title": "No flair", "subreddit": "flairy"},
        {"title": "With flair", "subreddit": "flairy", "flair": "Question"},
        {"title": "A link", "subreddit": "selfonly", "url": "https://example.com"},
        {"title": "Unknown flair", "subreddit": "python", "flair": "Memes"},
    ]
    set_id = make_set(pub, data)
    result = schedule.commit(pub.store, pub.ctx, set_id, _options(a, b))
    refused = {title: reason for title, _, reason in result.refused}
    assert refused["Nowhere"] == "r/gone does not exist."
    assert refused["No flair"].startswith("r/flairy requires post flair")
    assert refused["A link"].startswith("r/selfonly accepts text posts only")
    assert "'Memes' is not one of r/python's flairs" in refused["Unknown flair"]
    items = _items(pub, set_id)
    assert len(items) == 5 and {i.state for i in items} == {"scheduled"}
    assert [i.account_id for i in items][:4] == [a.id, b.id, a.id, b.id]
    flaired = next(i for i in items if i.title == "With flair")
    assert (flaired.flair_id, flaired.flair_text) == ("f-q", "Question")
    now = dt.datetime.now(dt.UTC)
    assert all(aware(i.scheduled_at) > now for i in items)


def test_preview_writes_nothing_and_is_stable_and_commit_happens_once(pub):
    a = connect(pub, "alice")
    set_id = make_set(pub, rows(5))
    opts = _options(a, start_at="2031-01-06T08:00:00+00:00", jitter_minutes=7)
    first = schedule.preview(pub.store, pub.ctx, set_id, opts)
    assert first == schedule.preview(pub.store, pub.ctx, set_id, opts) and _items(pub, set_id) == []
    committed = schedule.commit(pub.store, pub.ctx, set_id, opts)
    assert [(p.key, p.at, p.jitter_seconds) for p in committed.items] == [(p.key, p.at, p.jitter_seconds)
                                                                          for p in first.items]
    assert any(p.jitter_seconds for p in committed.items)
    assert schedule.preview(pub.store, pub.ctx, set_id, opts).items == []  # already in the outbox
    assert schedule.commit(pub.store, pub.ctx, set_id, opts).items == []
    assert len(_items(pub, set_id)) == 5
    assert schedule.load_options(pub.store, pub.ctx, set_id).jitter_minutes == 7


def test_preferred_hours_follow_the_sets_time_zone(pub):
    a, b = connect(pub, "alice"), connect(pub, "bob")
    set_id = make_set(pub, rows(6))
    opts = _options(a, b, timezone="America/Los_Angeles", hours=[9, 10], days=[1, 2],
                    start_at="2031-03-01T00:00:00+00:00")
    schedule.commit(pub.store, pub.ctx, set_id, opts)
    for item in _items(pub, set_id):
        local = aware(item.scheduled_at).astimezone(ZoneInfo("America/Los_Angeles"))
        assert local.hour in (9, 10) and local.weekday() in (1, 2)
    with pytest.raises(ValidationFailed, match="Unknown time zone"):
        schedule.preview(pub.store, pub.ctx, set_id, _options(a, timezone="Mars/Olympus"))


def test_a_comment_template_replies_to_the_sets_own_thread_after_a_delay(pub):
    a = connect(pub, "alice")
    set_id = make_set(pub, rows(2, product="kettle"))
    schedule.commit(pub.store, pub.ctx, set_id, _options(a, comment_template="More about the {{ product }}: see above.",
                                                         comment_delay_minutes=20))
    items = _items(pub, set_id)
    threads = {i.id: i for i in items if i.kind == "thread"}
    replies = [i for i in items if i.kind == "comment"]
    assert len(threads) == 2 and len(replies) == 2
    for r in replies:
        parent = threads[r.parent_item_id]
        assert r.body == "More about the kettle: see above." and r.account_id == parent.account_id
        assert aware(r.scheduled_at) - aware(parent.scheduled_at) == dt.timedelta(minutes=20)
    with pytest.raises(ValidationFailed, match="comment template"):
        schedule.preview(pub.store, pub.ctx, make_set(pub, rows(1)), _options(a, comment_template="{{ nope }"))


def test_a_comment_set_replies_to_parents_given_in_the_data(pub):
    a = connect(pub, "alice")
    set_id = make_set(pub, [{"parent": "https://www.reddit.com/r/python/comments/abc12/x/", "body": "Nice!"},
                            {"parent": "t1_zz9", "body": "Agreed."}, {"parent": "??", "body": "Lost"}], fmt="comment")
    result = schedule.commit(pub.store, pub.ctx, set_id, _options(a))
    assert sorted(i.parent_fullname for i in _items(pub, set_id)) == ["t1_zz9", "t3_abc12"]
    assert "not a Reddit thread or comment id" in result.refused[0][2]


def test_a_comment_set_chains_replies_to_its_own_rows(pub):
    a, b = connect(pub, "alice"), connect(pub, "bob")
    set_id = make_set(pub, [
        {"parent": "row 3", "body": "Second level"},                 # row 1 → row 3 (listed before its parent)
        {"parent": "#1", "body": "Third level"},                     # row 2 → row 1
        {"parent": "t3_abc12", "body": "Opens the chain"},           # row 3 → a thread on Reddit
        {"parent": "row 9", "body": "Parent not in the set"},        # row 4
        {"parent": "row 6", "body": "Loop A"}, {"parent": "row 5", "body": "Loop B"},  # rows 5, 6
        {"parent": "row 7", "body": "Replies to itself"},            # row 7
        {"parent": "row 4", "body": "Parent refused"},               # row 8 → row 4 (refused)
    ], fmt="comment")
    result = schedule.commit(pub.store, pub.ctx, set_id, _options(a, b, jitter_minutes=0))
    by_body = {i.body: i for i in _items(pub, set_id)}
    assert sorted(by_body) == ["Opens the chain", "Second level", "Third level"]
    top, second, third = by_body["Opens the chain"], by_body["Second level"], by_body["Third level"]
    assert (top.parent_fullname, top.parent_item_id) == ("t3_abc12", None)
    assert (second.parent_item_id, third.parent_item_id) == (top.id, second.id)
    assert second.parent_fullname == third.parent_fullname == ""  # known once the parent is posted
    assert top.scheduled_at < second.scheduled_at < third.scheduled_at, "a reply is planned after its parent"
    reasons = sorted(reason for _, _, reason in result.refused)
    assert any("row 9, is not an approved, valid variation of this set" in r for r in reasons)
    assert sum("The reply chain loops: row 5 → row 6 → row 5." in r or "row 6 → row 5 → row 6" in r
               for r in reasons) == 2
    assert any(r == "Row 7 cannot reply to itself." for r in reasons)
    assert any(r.startswith("It replies to row 4, which cannot be scheduled: Its parent, row 9") for r in reasons)
    assert len(result.refused) == 5


def test_a_reply_chain_continues_under_a_parent_scheduled_earlier(pub):
    a = connect(pub, "alice")
    set_id = make_set(pub, [{"parent": "t3_abc12", "body": "First"}, {"parent": "row 1", "body": "Later reply"}],
                      fmt="comment")
    with pub.store.session_scope(pub.ctx) as s:  # only the first row is approved at first
        later = s.scalars(select(Variation).where(Variation.campaign_set_id == set_id, Variation.row_index == 1)).one()
        later.status = "pending"
    schedule.commit(pub.store, pub.ctx, set_id, _options(a))
    with pub.store.session_scope(pub.ctx) as s:
        s.scalars(select(Variation).where(Variation.campaign_set_id == set_id, Variation.row_index == 1)).one() \
            .status = "approved"
    result = schedule.commit(pub.store, pub.ctx, set_id, _options(a))
    assert result.refused == []
    first, reply = sorted(_items(pub, set_id), key=lambda i: i.body)
    assert reply.body == "Later reply" and reply.parent_item_id == first.id


def test_move_cancel_retry_and_publish_now(pub):
    a = connect(pub, "alice")
    set_id = make_set(pub, rows(3, subreddits=("python",)))
    schedule.commit(pub.store, pub.ctx, set_id, _options(a, start_at="2031-01-06T08:00:00+00:00", jitter_minutes=0))
    first, second, third = _items(pub, set_id)
    with pytest.raises(ValidationFailed, match="subreddit already gets a post within an hour"):
        queue.move(pub.store, pub.ctx, second.id, aware(first.scheduled_at) + dt.timedelta(minutes=20))
    later = aware(third.scheduled_at) + dt.timedelta(hours=2)
    queue.move(pub.store, pub.ctx, second.id, later)
    assert queue.cancel(pub.store, pub.ctx, first.id) == 1
    with pytest.raises(ValidationFailed, match="cancelled item cannot"):
        queue.publish_now(pub.store, pub.ctx, first.id)
    rows_ = {r.id: r for r in queue.list_queue(pub.store, pub.ctx, set_id=set_id)}
    assert rows_[second.id].at == later and rows_[first.id].state == "cancelled"
    with pytest.raises(ValidationFailed, match="Only failed items"):
        queue.retry(pub.store, pub.ctx, third.id)
    queue.publish_now(pub.store, pub.ctx, third.id)
    item = next(i for i in _items(pub, set_id) if i.id == third.id)
    assert aware(item.scheduled_at) <= dt.datetime.now(dt.UTC) and item.job_gen == 1
    assert [e.to_state for e in queue.history(pub.store, pub.ctx, second.id)] == ["scheduled"]


def test_cancelling_a_thread_cancels_its_waiting_replies(pub):
    a = connect(pub, "alice")
    set_id = make_set(pub, rows(1))
    schedule.commit(pub.store, pub.ctx, set_id, _options(a, comment_template="Hi"))
    thread = next(i for i in _items(pub, set_id) if i.kind == "thread")
    assert queue.cancel(pub.store, pub.ctx, thread.id) == 2


def test_concurrent_commit_clicks_schedule_each_variation_once(pg_store, reddit, monkeypatch):  # noqa: F811
    pub = make_pub(pg_store, reddit, monkeypatch)
    a = connect(pub, "alice")
    set_id = make_set(pub, rows(6))
    errors: list[BaseException] = []

    def click() -> None:
        try:
            schedule.commit(pub.store, pub.ctx, set_id, _options(a))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=click) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with pub.store.session_scope(pub.ctx) as s:
        assert s.scalar(select(func.count()).select_from(PublishItem)) == 6
        assert s.scalar(select(func.count()).select_from(PublishEvent)) == 0


def test_embedded_mode_publishes_due_items_in_process(sqlite_store, reddit, monkeypatch):  # noqa: F811
    pub = make_pub(sqlite_store, reddit, monkeypatch)
    a = connect(pub, "alice")
    set_id = make_set(pub, rows(2))
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=30)).isoformat()
    schedule.commit(pub.store, pub.ctx, set_id, _options(a, start_at=past, jitter_minutes=0))
    assert queue.run_due(pub.store, pub.ctx) >= 1
    queue.run_due(pub.store, pub.ctx)
    states = [r.state for r in queue.list_queue(pub.store, pub.ctx, set_id=set_id)]
    assert states.count("posted") >= 1 and len(reddit.posts) == states.count("posted")
