"""The studio's own outcomes become events: a finished or failed run, a failed, published or removed post, an
account that needs reconnecting — and the notifications reach the member who started the run."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import select

from studio import auth, campaigns, datasets, event_sources, invitations, notifications
from studio.context import Context, Role
from studio.publishing import accounts, outbox
from studio.store.event_models import Event
from studio.store.publishing_models import PublishItem, RedditAccount
from workers import generation

CSV = b"name,price\nBoots,80\nHat,20\nScarf,35\n"
THREAD = {"platform": "reddit", "format": "thread",
          "templates": {"subreddit": "deals", "title": "{{ name }} for ${{ price }}", "body": "Only ${{ price }}"}}


@pytest.fixture()
def team(sqlite_store, monkeypatch):
    monkeypatch.setenv("DOTORO_HOME", str(sqlite_store.settings.home))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    account, ws = auth.sign_up(sqlite_store, f"o{uuid.uuid4().hex[:6]}@example.com", "Olga", "longenough")
    owner = Context(user_id=account.id, workspace_id=ws)
    link = invitations.invite(sqlite_store, owner, "mia@example.com", Role.MEMBER)
    mia, _ = auth.sign_up(sqlite_store, "mia@example.com", "Mia", "longenough")
    invitations.accept(sqlite_store, link.url.split("invite=")[1], mia)
    return sqlite_store, owner, Context(user_id=mia.id, workspace_id=ws)


def _events(store, ctx) -> list[Event]:
    with store.session_scope(Context.job(ctx.workspace_id)) as s:
        return list(s.scalars(select(Event).order_by(Event.created_at)))


def test_a_finished_run_notifies_the_member_who_started_it(team):
    store, owner, mia = team
    ds = datasets.upload(store, mia, "items.csv", CSV)
    set_id = campaigns.create(store, mia, "Winter deals", ds.id, THREAD)
    campaigns.generate(store, mia, set_id)  # embedded mode: the run, then the dispatch, run in-process
    done = [e for e in _events(store, mia) if e.kind.startswith("generation.")]
    assert [(e.kind, e.user_id, e.data["set_name"], e.data["variations"]) for e in done] == \
        [("generation.completed", mia.user_id, "Winter deals", 3)]
    assert [n.title for n in notifications.inbox(store, mia)] == ["Run finished: Winter deals"]
    assert [n.body for n in notifications.inbox(store, owner)] == ["3 variations · 3 added · 3 rows"]


def test_a_failed_run_says_why(team):
    store, owner, mia = team
    ds = datasets.upload(store, mia, "items.csv", CSV)
    set_id = campaigns.create(store, mia, "Broken", ds.id, THREAD)
    run_id = campaigns.start_run(store, mia, set_id)
    generation._fail_run(store, Context.job(mia.workspace_id), run_id, "Generation failed on rows 1–3: boom")
    failed = [e for e in _events(store, mia) if e.kind == "generation.failed"]
    assert [(e.user_id, e.data["message"]) for e in failed] == [(mia.user_id, "Generation failed on rows 1–3: boom")]


def test_post_outcomes_and_a_lost_account_become_events(team):
    store, owner, _ = team
    with store.session_scope(owner) as s:
        account = RedditAccount(username="shopbot", auth_kind="oauth", refresh_token_enc="x")
        from studio.store.campaign_models import CampaignSet
        cs = CampaignSet(name="pub", dataset_version=1, platform="reddit", format="thread", config={})
        s.add_all([account, cs])
        s.flush()
        item = PublishItem(campaign_set_id=cs.id, dedupe_key="thread:1", kind="thread", account_id=account.id,
                           title="Boots for $80", scheduled_at=dt.datetime.now(dt.UTC))
        s.add(item)
        s.flush()
        outbox.move(s, item, "failed", "SUBREDDIT_NOEXIST", reason="r/deals does not exist")
        item.removed, item.reason = True, "Removed from Reddit (by moderators or Reddit's filters)."
        event_sources.post_removed(s, item)
        accounts.mark_reconnect(s, account, "Reddit revoked the token")
        accounts.mark_reconnect(s, account, "again")  # already marked: no second event
    got = [(e.kind, e.data.get("title") or e.data.get("username"), e.data["message"]) for e in _events(store, owner)]
    assert got == [("post.failed", "Boots for $80", "r/deals does not exist"),
                   ("post.removed", "Boots for $80", "Removed from Reddit (by moderators or Reddit's filters)."),
                   ("account.reconnect_needed", "u/shopbot", "Reddit revoked the token")]
    titles = [n.title for n in notifications.inbox(store, owner)]
    assert set(titles) == {"Post failed: Boots for $80", "Post removed: Boots for $80", "Reconnect account: u/shopbot"}
