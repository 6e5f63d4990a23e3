"""What reaches Reddit, compared field by field with the variation it came from (the double keeps every parameter).

`send_and_compare` is also the scenario of the mutation check (test_publishing_mutations.py): it must
fail when any one submit or comment parameter is dropped on the way.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from studio.publishing import queue, schedule
from studio.publishing.schedule import PublishOptions
from studio.store.campaign_models import Variation
from studio.store.publishing_models import PublishItem
from tests.studio.test_publishing_support import Pub, connect, make_set, reddit  # noqa: F401
from tests.workers.test_publishing import env, pub, work  # noqa: F401

ROWS: list[dict[str, Any]] = [
    {"title": "Our kettle boils in 90 s — ask me anything", "url": "https://example.com/kettle?ref=reddit",
     "subreddit": "python", "flair": "News", "nsfw": "true", "spoiler": "true", "send_replies": "false",
     "product": "kettle"},
    {"title": "Tea tips: steep 3 minutes 🍵", "body": "**Green** tea: 80 °C.\n\nBlack tea: 95 °C.",
     "subreddit": "cooking", "nsfw": "false", "spoiler": "false", "send_replies": "true", "product": "teapot"},
]
REPLY = "Questions about the {{ product }}? Ask below."
FLAIR_IDS = {("python", "News"): "f-news"}


def _truth(value: Any) -> bool:
    return str(value).strip().lower() == "true"


def send_and_compare(pub: Pub) -> None:  # noqa: F811
    """Plan two threads (a flaired NSFW spoiler link without replies to the inbox, a self post) and a reply
    under each; send them; compare what Reddit holds with each variation, parameter by parameter."""
    alice, bob = connect(pub, "alice"), connect(pub, "bob")
    set_id = make_set(pub, [dict(r) for r in ROWS])
    start = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()
    plan = schedule.commit(pub.store, pub.ctx, set_id, PublishOptions(
        account_ids=[str(alice.id), str(bob.id)], start_at=start, jitter_minutes=0, stagger_minutes=0,
        comment_template=REPLY, comment_delay_minutes=1))
    assert plan.refused == [] and len(plan.items) == 4
    work(pub)
    for _ in range(2):  # the replies wait a minute behind their threads: send them now
        with pub.store.session_scope(pub.ctx) as s:
            waiting = list(s.scalars(select(PublishItem.id).where(PublishItem.campaign_set_id == set_id,
                                                                  PublishItem.state.in_(("scheduled", "retry_later")))))
        for item_id in waiting:
            queue.publish_now(pub.store, pub.ctx, item_id)
        work(pub)
    with pub.store.session_scope(pub.ctx) as s:
        pairs = [(i, s.get(Variation, i.variation_id)) for i in s.scalars(
            select(PublishItem).where(PublishItem.campaign_set_id == set_id))]
        s.expunge_all()
    for item, _v in pairs:
        assert item.state == "posted", f"{item.dedupe_key}: {item.state} — {item.reason}"
    posts = {p["id"]: p for p in pub.reddit.posts}
    comments = {c["id"]: c for c in pub.reddit.comments}
    threads = {i.variation_id: i for i, _ in pairs if i.kind == "thread"}
    for item, v in pairs:
        assert v is not None
        f = v.fields
        if item.kind == "thread":
            post = posts[item.reddit_id]
            sent = post["params"]
            kind = "link" if f.get("url") else "self"
            assert sent.get("sr") == f["subreddit"], "subreddit"
            assert sent.get("title") == f["title"], "title"
            assert sent.get("kind") == kind, "kind"
            assert sent.get("url") == f.get("url"), "url"
            assert sent.get("text", "") == f.get("body", ""), "body (selftext)"
            assert post["selftext"] == (f.get("body", "") if kind == "self" else ""), "body as Reddit shows it"
            assert sent.get("flair_id") == FLAIR_IDS.get((f["subreddit"], f.get("flair", ""))), "flair id"
            assert sent.get("flair_text") == (f.get("flair") or None), "flair text"
            assert post["over_18"] is _truth(f["nsfw"]), "nsfw"
            assert post["spoiler"] is _truth(f["spoiler"]), "spoiler"
            assert post["send_replies"] is _truth(f["send_replies"]), "send replies"
            assert post["author"] == ("alice" if f["subreddit"] == "python" else "bob"), "account"
        else:
            comment = comments[item.reddit_id]
            sent = comment["params"]
            assert sent.get("thing_id") == f"t3_{threads[item.variation_id].reddit_id}", "parent"
            assert sent.get("text") == REPLY.replace("{{ product }}", f["product"]), "comment body"
    assert len(posts) == 2 and len(comments) == 2, "each item once"


def test_every_parameter_reaches_reddit_as_the_variation_says(pub):  # noqa: F811
    send_and_compare(pub)
