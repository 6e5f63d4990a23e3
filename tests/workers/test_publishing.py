"""Publishing on the real Redis + Postgres through the Reddit double: exactly once, whatever Reddit answers."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from redis import Redis
from rq import SimpleWorker
from rq.scheduler import RQScheduler
from sqlalchemy import select

from studio.publishing import accounts, metrics, queue, schedule
from studio.publishing.outbox import aware
from studio.publishing.schedule import PublishOptions
from studio.store.publishing_models import PostMetric, PublishItem
from tests.studio.test_publishing_support import (  # noqa: F401
    connect,
    make_pub,
    make_set,
    reddit,
    reddit_env,
    rows,
)
from workers import publishing
from workers import queues as rq_queues


@pytest.fixture()
def env(pg_settings, services, reddit, monkeypatch):  # noqa: F811
    """Jobs read their settings from the environment, like a worker process does."""
    values = {"DATABASE_URL": pg_settings.database_url, "DOTORO_HOME": str(pg_settings.home),
              "REDIS_URL": services["REDIS_URL"], "SECRET_KEY": pg_settings.secret_key, **reddit_env(reddit)}
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    Redis.from_url(services["REDIS_URL"]).flushdb()
    return values


@pytest.fixture()
def pub(pg_store, reddit, env, monkeypatch):  # noqa: F811
    return make_pub(pg_store, reddit, monkeypatch)


def work(pub) -> None:
    """One tick of the scheduler (due jobs to the queue), then a burst worker until the queue is empty."""
    settings = pub.store.settings
    conn = Redis.from_url(settings.redis_url)
    q = rq_queues.queue(settings, publishing.QUEUE, connection=conn)
    scheduler = RQScheduler([q], connection=conn, serializer=q.serializer)
    scheduler.acquire_locks()
    scheduler.enqueue_scheduled_jobs()
    scheduler.release_locks()
    SimpleWorker([q], connection=conn, serializer=q.serializer).work(burst=True)


def plan(pub, n=1, *, accounts_=("alice",), start=None, **row_kw):
    accs = [connect(pub, name) for name in accounts_]
    set_id = make_set(pub, rows(n, **row_kw))
    start = start or dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2)
    opts = PublishOptions(account_ids=[str(a.id) for a in accs], start_at=start.isoformat(), jitter_minutes=0,
                          stagger_minutes=0)
    schedule.commit(pub.store, pub.ctx, set_id, opts)
    return set_id


def items(pub, set_id):
    with pub.store.session_scope(pub.ctx) as s:
        return list(s.scalars(select(PublishItem).where(PublishItem.campaign_set_id == set_id)
                              .order_by(PublishItem.scheduled_at, PublishItem.kind.desc())))


def test_a_due_item_is_posted_once_with_its_reddit_id(pub):
    set_id = plan(pub)
    work(pub)
    work(pub)
    (item,) = items(pub, set_id)
    (post,) = pub.reddit.posts
    assert (item.state, item.reddit_id, post["title"], post["subreddit"]) == ("posted", post["id"], "Post number 0",
                                                                              "python")
    assert [e.to_state for e in queue.history(pub.store, pub.ctx, item.id)] == ["submitting", "posted"]


def test_an_item_waits_for_its_time_in_the_scheduled_registry(pub):
    set_id = plan(pub, start=dt.datetime.now(dt.UTC) + dt.timedelta(hours=3))
    work(pub)
    (item,) = items(pub, set_id)
    q = rq_queues.queue(pub.store.settings, publishing.QUEUE)
    at = q.scheduled_job_registry.get_scheduled_time(f"publish-{item.id}-0")
    assert abs(at - aware(item.scheduled_at)) < dt.timedelta(seconds=1) and pub.reddit.posts == []


def test_ratelimit_reschedules_at_the_time_reddit_asked_for(pub):
    pub.reddit.fail_next("submit", "ratelimit", minutes=9)
    set_id = plan(pub)
    before = dt.datetime.now(dt.UTC)
    work(pub)
    (item,) = items(pub, set_id)
    assert item.state == "retry_later" and "Take a break for 9 minutes" in item.reason and pub.reddit.posts == []
    expected = before + dt.timedelta(minutes=9)
    assert expected <= aware(item.scheduled_at) <= expected + dt.timedelta(seconds=10)
    q = rq_queues.queue(pub.store.settings, publishing.QUEUE)
    at = q.scheduled_job_registry.get_scheduled_time(f"publish-{item.id}-1")
    assert abs(at - aware(item.scheduled_at)) < dt.timedelta(seconds=1)


def test_ratelimit_then_posted_when_the_break_is_over(pub):
    pub.reddit.fail_next("submit", "ratelimit", minutes=1, unit="second")
    set_id = plan(pub)
    work(pub)
    assert items(pub, set_id)[0].state == "retry_later"
    threading.Event().wait(2.2)
    work(pub)
    (item,) = items(pub, set_id)
    assert item.state == "posted" and len(pub.reddit.posts) == 1 and item.attempts == 2


@pytest.mark.parametrize("mode", ["accept_then_500", "accept_then_timeout"])
def test_an_ambiguous_answer_is_reconciled_from_the_history_not_resubmitted(pub, mode):
    pub.reddit.fail_next("submit", mode, seconds=1.5)
    set_id = plan(pub)
    work(pub)
    work(pub)
    (item,) = items(pub, set_id)
    assert item.state == "posted" and len(pub.reddit.posts) == 1 and pub.reddit.count("/api/submit") == 1
    assert item.reddit_id == pub.reddit.posts[0]["id"]
    assert [e.to_state for e in queue.history(pub.store, pub.ctx, item.id)] == ["submitting", "unknown", "posted"]


def test_a_5xx_before_accepting_is_submitted_again_after_the_history_check(pub):
    pub.reddit.fail_next("submit", "server_error")
    set_id = plan(pub)
    work(pub)
    work(pub)
    (item,) = items(pub, set_id)
    assert item.state == "posted" and len(pub.reddit.posts) == 1 and pub.reddit.count("/api/submit") == 2


def test_a_401_refreshes_the_token_once_and_posts(pub):
    pub.reddit.fail_next("submit", "unauthorized")
    set_id = plan(pub)
    tokens = pub.reddit.count("/api/v1/access_token")
    work(pub)
    (item,) = items(pub, set_id)
    assert item.state == "posted" and len(pub.reddit.posts) == 1
    assert pub.reddit.count("/api/submit") == 2 and pub.reddit.count("/api/v1/access_token") - tokens >= 2


def test_429_waits_as_long_as_reddit_says(pub):
    pub.reddit.fail_next("submit", "too_many", retry_after=45)
    set_id = plan(pub)
    before = dt.datetime.now(dt.UTC)
    work(pub)
    (item,) = items(pub, set_id)
    assert item.state == "retry_later" and "429" in item.reason
    assert before + dt.timedelta(seconds=45) <= aware(item.scheduled_at) <= before + dt.timedelta(seconds=55)


@pytest.mark.parametrize(("script", "reason"), [
    ("forbidden", "403 Forbidden: u/alice may be banned from r/python"),
    ("missing", "r/python does not exist or does not accept posts from u/alice."),
    ("flair", "r/python requires post flair"),
])
def test_refusals_fail_with_a_readable_reason(pub, script, reason):
    set_id = plan(pub)
    if script == "forbidden":
        pub.reddit.fail_next("submit", "forbidden")
    elif script == "missing":
        del pub.reddit.subreddits["python"]
    else:
        pub.reddit.subreddits["python"].flair_required = True
    work(pub)
    (item,) = items(pub, set_id)
    assert item.state == "failed" and reason in item.reason and pub.reddit.posts == []
    queue.retry(pub.store, pub.ctx, item.id)  # a person can put it back once fixed
    assert items(pub, set_id)[0].state == "scheduled"


def test_a_revoked_account_posts_nothing_and_needs_reconnecting(pub):
    set_id = plan(pub, 2)
    pub.reddit.revoke("alice")
    work(pub)
    first, second = items(pub, set_id)
    assert first.state == "failed" and "reconnect" in first.reason
    (acc,) = accounts.list_accounts(pub.store, pub.ctx)
    assert acc.status == "reconnect_needed"
    queue.publish_now(pub.store, pub.ctx, second.id)
    work(pub)
    assert items(pub, set_id)[1].state == "failed" and "needs reconnecting" in items(pub, set_id)[1].reason
    assert pub.reddit.posts == [] and pub.reddit.count("/api/submit") == 0


def test_ten_concurrent_publish_clicks_make_one_post(pub):
    set_id = plan(pub, start=dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    (item,) = items(pub, set_id)
    clicks = [threading.Thread(target=queue.publish_now, args=(pub.store, pub.ctx, item.id)) for _ in range(10)]
    for t in clicks:
        t.start()
    for t in clicks:
        t.join()
    q = rq_queues.queue(pub.store.settings, publishing.QUEUE)
    assert q.count == 1
    work(pub)
    for t in [threading.Thread(target=queue.publish_now, args=(pub.store, pub.ctx, item.id)) for _ in range(3)]:
        t.start()
        t.join()
    work(pub)
    assert len(pub.reddit.posts) == 1 and items(pub, set_id)[0].state == "posted"


def test_a_reply_goes_under_the_sets_own_thread(pub):
    alice = connect(pub, "alice")
    set_id = make_set(pub, rows(1, product="kettle"))
    start = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)).isoformat()
    schedule.commit(pub.store, pub.ctx, set_id, PublishOptions(
        account_ids=[str(alice.id)], start_at=start, jitter_minutes=0, comment_delay_minutes=1,
        comment_template="Ask me about the {{ product }}!"))
    work(pub)
    thread, reply = items(pub, set_id)
    assert (thread.state, reply.state) == ("posted", "scheduled")  # a past start became now: the reply a minute on
    queue.publish_now(pub.store, pub.ctx, reply.id)
    work(pub)
    thread, reply = items(pub, set_id)
    (comment,) = pub.reddit.comments
    assert (thread.state, reply.state) == ("posted", "posted")
    assert comment["parent_id"] == f"t3_{thread.reddit_id}" and comment["body"] == "Ask me about the kettle!"


def test_a_reply_chain_posts_each_reply_under_the_comment_before_it(pub):
    alice, bob = connect(pub, "alice"), connect(pub, "bob")
    thread = pub.reddit.new_post("carol", {"sr": "python", "kind": "self", "title": "Someone else's thread"})
    set_id = make_set(pub, [{"parent": "row 2", "body": "Third"}, {"parent": "row 3", "body": "Second"},
                            {"parent": thread["name"], "body": "First"}], fmt="comment")
    start = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=30)).isoformat()
    schedule.commit(pub.store, pub.ctx, set_id, PublishOptions(
        account_ids=[str(alice.id), str(bob.id)], start_at=start, jitter_minutes=0))
    for _ in range(3):  # a past start became now: one reply now, the next ones later; each sent when due
        work(pub)
        for item in items(pub, set_id):
            if item.state == "scheduled":
                queue.publish_now(pub.store, pub.ctx, item.id)
                break
    assert [i.state for i in items(pub, set_id)] == ["posted"] * 3
    posted = {c["body"]: c for c in pub.reddit.comments}
    assert posted["First"]["parent_id"] == thread["name"]
    assert posted["Second"]["parent_id"] == posted["First"]["name"]
    assert posted["Third"]["parent_id"] == posted["Second"]["name"]
    assert len(pub.reddit.comments) == 3


def test_the_sweeper_revives_an_item_whose_job_vanished(pub):
    set_id = plan(pub)
    Redis.from_url(pub.store.settings.redis_url).flushdb()  # the job is gone (Redis lost, flushed…)
    assert publishing.sweep_workspace(pub.store, pub.ws, now=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)) == 1
    work(pub)
    assert items(pub, set_id)[0].state == "posted" and len(pub.reddit.posts) == 1


def test_metrics_are_read_in_batches_and_removals_flagged(pub):
    set_id = plan(pub, 2, accounts_=("alice", "bob"), start=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=15))
    work(pub)
    assert {i.state for i in items(pub, set_id)} == {"posted"}
    pub.reddit.posts[0].update(score=42, num_comments=7, upvote_ratio=0.93)
    pub.reddit.posts[1]["removed_by_category"] = "moderator"
    assert metrics.sync(pub.store, pub.ws) == 2
    assert metrics.sync(pub.store, pub.ws) == 2
    history = metrics.history(pub.store, pub.ctx, set_id=set_id)
    assert len(history) == 4 and pub.reddit.count("/api/info") == 2
    latest = metrics.latest(history)
    assert (latest[0].score, latest[0].num_comments, latest[0].upvote_ratio) == (42, 7, 0.93)
    assert latest[1].removed and any(i.removed for i in items(pub, set_id))
    csv = metrics.to_csv(history).decode("utf-8-sig")
    assert csv.splitlines()[0].startswith("read at (UTC),title,subreddit") and ",42,0.93,7,no," in csv
    with pub.store.session_scope(pub.ctx) as s:
        assert len(list(s.scalars(select(PostMetric)))) == 4
