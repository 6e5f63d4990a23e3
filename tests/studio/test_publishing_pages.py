"""The accounts and publish pages under AppTest (embedded store): callback, calendar, queue in every state."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from streamlit.testing.v1 import AppTest

from studio.publishing import accounts, schedule
from studio.settings import load_settings
from studio.store import migrate
from studio.store.publishing_models import PublishItem
from studio.store.session import Store
from tests.studio.test_publishing_support import (  # noqa: F401
    Pub,
    connect,
    make_set,
    new_workspace,
    reddit,
    reddit_env,
    rows,
)

ROOT = Path(__file__).resolve().parents[2]
STATES = ("scheduled", "submitting", "posted", "unknown", "retry_later", "failed", "cancelled")


@pytest.fixture()
def page_pub(tmp_path, reddit, monkeypatch):  # noqa: F811
    """An embedded studio home, as the pages load it from the environment, with a signed-up member."""
    monkeypatch.chdir(ROOT)
    for k, v in {"DOTORO_HOME": str(tmp_path / "home"), "BCRYPT_ROUNDS": "4", **reddit_env(reddit)}.items():
        monkeypatch.setenv(k, v)
    for k in ("DATABASE_URL", "MIGRATION_DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(k, raising=False)
    settings = load_settings()
    migrate.upgrade(settings)
    store = Store(settings)
    yield Pub(store, new_workspace(store), reddit)
    store.dispose()


def _app(pub: Pub, page: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=60)
    at.session_state["dotoro_account"] = (str(pub.ctx.user_id), "pat@example.com", "Pat")
    at.session_state["dotoro_workspace_id"] = str(pub.ws)
    return at


def _text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [e.value for e in at.error]
    parts += [s.value for s in at.success] + [i.value for i in at.info]
    return "\n".join(str(p) for p in parts)


def test_the_oauth_callback_connects_the_account(page_pub):
    url = accounts.start_oauth(page_pub.store, page_pub.ctx)
    page_pub.reddit.add_user("alice", link_karma=3, comment_karma=0)
    at = _app(page_pub, "accounts.py")
    at.query_params["state"] = parse_qs(urlparse(url).query)["state"][0]
    at.query_params["code"] = page_pub.reddit.issue_code("alice")
    at.run()
    assert not at.exception, at.exception
    text = _text(at)
    assert "Connected u/alice." in text and "u/alice" in text and "stricter posting limits" in text
    at.query_params.clear()
    at.query_params.update({"state": "forged", "code": "x"})
    at.run()
    assert any("not valid here" in e.value for e in at.error)


def test_the_queue_shows_every_state_with_its_reason(page_pub, monkeypatch):
    alice = connect(page_pub, "alice")
    set_id = make_set(page_pub, rows(len(STATES)))
    start = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    schedule.commit(page_pub.store, page_pub.ctx, set_id, schedule.PublishOptions(
        account_ids=[str(alice.id)], start_at=start.isoformat(), jitter_minutes=0))
    with page_pub.store.session_scope(page_pub.ctx) as s:
        for item, st in zip(s.query(PublishItem).order_by(PublishItem.scheduled_at), STATES, strict=True):
            item.state, item.reason = st, f"reason for {st}" if st != "scheduled" else ""
            if st == "posted":
                item.reddit_id, item.reddit_url = "abc", "https://www.reddit.com/r/python/comments/abc/"
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:9/0")  # a worker pool: the page sends nothing itself
    at = _app(page_pub, "schedule.py")
    at.run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert sorted(table["State"]) == sorted(["Scheduled", "Submitting", "Posted", "Checking", "Retry later", "Failed",
                                             "Cancelled"])
    assert "reason for failed" in set(table["Reason"])
    assert any("cannot be reached" in w.value for w in at.warning)  # no Redis behind that URL: said, not crashed
    # the week of the first post: an hour from now is next week's on a Sunday evening
    at.date_input(key="pq_anchor").set_value(start.date()).run()
    assert not at.exception, at.exception
    assert len(at.get("vega_lite_chart")) >= 1  # the week calendar
    at.radio(key="pq_view").set_value("Month").run()
    assert not at.exception, at.exception


def test_the_plan_tab_previews_then_commits(page_pub):
    connect(page_pub, "alice")
    make_set(page_pub, rows(3) + [{"title": "Nowhere", "subreddit": "gone"}])
    at = _app(page_pub, "schedule.py")
    at.run()
    next(b for b in at.button if b.label == "Preview the plan").click()
    at.run()
    assert not at.exception, at.exception
    assert "**3** items planned · **1** refused" in _text(at)
    planned, refused = at.dataframe[0].value, at.dataframe[1].value
    assert list(planned["Title"]) == ["Post number 0", "Post number 1", "Post number 2"]
    assert set(planned["Account"]) == {"u/alice"} and list(planned["Subreddit"]) == ["r/python", "r/cooking", "r/running"]
    assert "r/gone does not exist." in set(refused["Why not"])
    next(b for b in at.button if b.label == "Schedule 3 items").click()
    at.run()
    assert "Scheduled 3 items." in _text(at), _text(at)


def test_a_comment_set_plans_a_reply_chain_and_hides_thread_options(page_pub):
    connect(page_pub, "alice")
    make_set(page_pub, [{"parent": "t3_abc12", "body": "First"}, {"parent": "row 1", "body": "Reply"},
                        {"parent": "row 7", "body": "Lost"}], fmt="comment")
    at = _app(page_pub, "schedule.py")
    at.run()
    assert "another row of this set (`row 3`) for a reply chain" in _text(at)
    assert not any(t.label.startswith("Comment posted under each thread") for t in at.text_area)
    next(b for b in at.button if b.label == "Preview the plan").click()
    at.run()
    assert not at.exception, at.exception
    assert "**2** items planned · **1** refused" in _text(at)
    assert "Its parent, row 7, is not an approved, valid variation of this set." in set(at.dataframe[-1].value["Why not"])


def test_pages_without_accounts_or_sets_explain_what_to_do(page_pub):
    at = _app(page_pub, "schedule.py")
    at.run()
    assert not at.exception and "No Reddit campaign set yet" in _text(at)
    assert uuid.UUID(str(page_pub.ws))
