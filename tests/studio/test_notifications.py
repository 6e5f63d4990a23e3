"""Notifications: who hears of what by role and preference, the unread count, e-mail over real SMTP, Slack posts."""

from __future__ import annotations

import json
import socket
import uuid
from email import message_from_bytes, policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from studio import events, notifications, webhooks
from studio.context import Context, Role
from studio.errors import PermissionDenied, ValidationFailed
from studio.store.event_models import Delivery, Notification
from studio.store.session import Store
from tests.http_receiver import receiver
from tests.studio.events_fixtures import estore, held, member, owner, with_settings  # noqa: F401

pytestmark = pytest.mark.usefixtures("held")


def _emit(store: Store, ctx: Context, kind: str, data: dict[str, Any], **kw: Any) -> None:
    with store.session_scope(ctx) as s:
        events.emit(s, kind, data, **kw)


def _team(store: Store) -> dict[str, Context]:
    o = owner(store)
    return {"owner": o, "admin": member(store, o, Role.ADMIN, "Ada Admin"),
            "member": member(store, o, Role.MEMBER, "Max Member"), "viewer": member(store, o, Role.VIEWER, "Vic")}


def _titles(store: Store, ctx: Context) -> list[str]:
    return [n.title for n in notifications.inbox(store, ctx)]


def test_run_events_reach_who_started_the_run_and_the_admins_feed_failures_the_editors(estore, held):  # noqa: F811 (fixtures)
    team = _team(estore)
    _emit(estore, team["member"], "generation.completed", {"set_name": "Spring sale", "variations": 1200})
    system = Context.job(team["owner"].workspace_id)
    _emit(estore, system, "feed.refresh_failed", {"name": "Shop feed", "message": "HTTP 500 from the shop"})
    held.run()
    assert _titles(estore, team["owner"]) == ["Feed refresh failed: Shop feed", "Run finished: Spring sale"]
    assert _titles(estore, team["admin"]) == ["Feed refresh failed: Shop feed", "Run finished: Spring sale"]
    assert _titles(estore, team["member"]) == ["Feed refresh failed: Shop feed", "Run finished: Spring sale"]
    assert _titles(estore, team["viewer"]) == []
    first = notifications.inbox(estore, team["member"])[1]
    assert first.body == "1,200 variations" and first.link == "campaigns" and not first.read


def test_a_run_another_member_started_does_not_reach_a_plain_member(estore, held):  # noqa: F811 (fixtures)
    team = _team(estore)
    _emit(estore, team["admin"], "generation.failed", {"set_name": "Set B", "message": "the data set was deleted"})
    held.run()
    assert _titles(estore, team["member"]) == []
    assert notifications.inbox(estore, team["owner"])[0].body == "the data set was deleted"


def test_preferences_turn_a_kind_off_or_let_a_viewer_opt_in(estore, held):  # noqa: F811 (fixtures)
    team = _team(estore)
    notifications.set_preference(estore, team["admin"], "generation.completed", in_app=False, email=False)
    notifications.set_preference(estore, team["viewer"], "generation.completed", in_app=True, email=False)
    _emit(estore, team["member"], "generation.completed", {"set_name": "S"})
    held.run()
    assert _titles(estore, team["admin"]) == []
    assert _titles(estore, team["viewer"]) == ["Run finished: S"]
    prefs = {p.kind: p for p in notifications.preferences(estore, team["viewer"])}
    assert prefs["generation.completed"].in_app and not prefs["generation.completed"].default
    assert not prefs["feed.paused"].in_app and prefs["feed.paused"].default  # a viewer's default: nothing
    notifications.reset_preferences(estore, team["admin"])
    assert {p.kind: p for p in notifications.preferences(estore, team["admin"])}["generation.completed"].in_app
    with pytest.raises(ValidationFailed, match="no event kind"):
        notifications.set_preference(estore, team["admin"], "run.done", in_app=True, email=True)


def test_unread_count_and_marking_read_touch_only_ones_own(estore, held):  # noqa: F811 (fixtures)
    team = _team(estore)
    for i in range(3):
        _emit(estore, team["member"], "post.failed", {"title": f"Post {i}", "message": "subreddit is private"})
    held.run()
    assert notifications.unread_count(estore, team["member"]) == 3
    owners = notifications.inbox(estore, team["owner"])
    assert notifications.mark_read(estore, team["member"], [owners[0].id]) == 0  # someone else's: nothing
    assert notifications.unread_count(estore, team["owner"]) == 3
    mine = notifications.inbox(estore, team["member"])
    assert notifications.mark_read(estore, team["member"], [mine[0].id]) == 1
    assert notifications.unread_count(estore, team["member"]) == 2
    assert [n.title for n in notifications.inbox(estore, team["member"], unread_only=True)] == ["Post 1", "Post 0"] \
        or len(notifications.inbox(estore, team["member"], unread_only=True)) == 2
    assert notifications.mark_all_read(estore, team["member"]) == 2
    assert notifications.unread_count(estore, team["member"]) == 0
    assert notifications.unread_count(estore, team["owner"]) == 3


def test_a_rolled_back_change_notifies_nobody_and_sends_nothing(estore, held):  # noqa: F811 (fixtures)
    team = _team(estore)
    with receiver() as rec:
        webhooks.set_slack(estore, team["owner"], rec.url)
        with pytest.raises(RuntimeError), estore.session_scope(team["member"]) as s:
            events.emit(s, "generation.failed", {"set_name": "Doomed"})
            raise RuntimeError("the run could not be recorded")
        held.run()
        assert rec.requests == []
    assert notifications.unread_count(estore, team["owner"]) == 0
    with estore.session_scope(Context.job(team["owner"].workspace_id)) as s:
        assert s.scalar(select(func.count()).select_from(Delivery)) == 0


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd)
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def test_failures_are_emailed_through_the_smtp_setting_by_default_and_not_when_turned_off(estore, held):  # noqa: F811 (fixtures)
    inbox = _Inbox()
    with socket.socket() as probe:  # a free port: aiosmtpd checks readiness by connecting to it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        store = with_settings(estore, SMTP_URL=f"smtp://127.0.0.1:{port}")
        team = _team(store)
        notifications.set_preference(store, team["admin"], "generation.failed", in_app=True, email=False)
        _emit(store, team["member"], "generation.failed", {"set_name": "Autumn", "message": "a rule failed"})
        _emit(store, team["member"], "generation.completed", {"set_name": "Autumn"})  # e-mail off by default
        held.run()
        held.run()
        sent = [m for m in inbox.messages if m["Subject"].startswith("[Dotoro]")]  # not the invitations
        assert sorted(m["Subject"] for m in sent) == ["[Dotoro] Run failed: Autumn"] * 2
        assert len({m["To"] for m in sent}) == 2  # the owner and the member who started it; the admin opted out
        body = sent[0].get_content()
        assert "a rule failed" in body and "/campaigns" in body
        with store.session_scope(Context.job(team["owner"].workspace_id)) as s:
            states = s.scalars(select(Delivery.state).where(Delivery.channel == "email")).all()
        assert states == ["succeeded", "succeeded"]
        store.dispose()
    finally:
        controller.stop()


def test_slack_gets_one_post_per_event_of_its_kinds(estore, held):  # noqa: F811 (fixtures)
    team = _team(estore)
    with receiver() as rec:
        webhooks.set_slack(estore, team["owner"], rec.url, ["post.removed"])
        _emit(estore, team["member"], "post.removed", {"title": "Our launch", "message": "removed by moderators"})
        _emit(estore, team["member"], "generation.completed", {"set_name": "not for Slack"})
        held.run()
        held.run()
    assert len(rec.requests) == 1
    text = json.loads(rec.requests[0].body)["text"]
    assert text.startswith("*Post removed: Our launch*") and "removed by moderators" in text and "/publish|" in text
    assert webhooks.slack(estore, team["owner"]).kinds == ("post.removed",)


def test_only_admins_set_the_slack_url(estore):  # noqa: F811 (fixtures)
    team = _team(estore)
    with pytest.raises(PermissionDenied):
        webhooks.set_slack(estore, team["member"], "https://hooks.example.com/x")
    webhooks.set_slack(estore, team["owner"], None)
    assert webhooks.slack(estore, team["owner"]) is None


def test_notifications_stay_in_their_workspace(estore, held):  # noqa: F811 (fixtures)
    a, b = owner(estore), owner(estore)
    _emit(estore, a, "generation.completed", {"set_name": "A's run"})
    held.run()
    assert notifications.unread_count(estore, a) == 1
    assert notifications.unread_count(estore, b) == 0
    mine = notifications.inbox(estore, a)[0].id
    assert notifications.mark_read(estore, b, [mine]) == 0
    with estore.session_scope(b) as s:
        assert s.scalar(select(func.count()).select_from(Notification)) == 0
    assert uuid.UUID(str(mine))


@pytest.mark.parametrize("kind, data, title, body, link", [
    ("generation.completed", {"set_name": "Spring", "variations": 1200, "added": 3, "removed": 0}, "Run finished: Spring",
     "1,200 variations · 3 added", "campaigns"),
    ("generation.failed", {"set_name": "Spring", "message": "rows 1–50: boom"}, "Run failed: Spring", "rows 1–50: boom",
     "campaigns"),
    ("post.published", {"title": "Boots", "url": "https://reddit.com/r/x/1"}, "Posted: Boots",
     "https://reddit.com/r/x/1", "publish"),
    ("post.failed", {"title": "Boots", "message": "r/x is private"}, "Post failed: Boots", "r/x is private", "publish"),
    ("dataset.refreshed", {"dataset": "Shop feed", "version": 4, "rows": 2000}, "New data: Shop feed",
     "2,000 rows · version 4", "data"),
    ("feed.paused", {"dataset": "Shop feed", "failures": 3, "message": "HTTP 500"}, "Feed paused: Shop feed",
     "HTTP 500", "data"),
    ("diff.ready", {"name": "Winter set", "added": 2, "removed": 1, "changed": 0, "unchanged": 9},
     "Changes to review: Winter set", "2 added · 1 removed", "campaigns"),
    ("account.reconnect_needed", {"username": "u/shopbot", "message": "token revoked"},
     "Reconnect account: u/shopbot", "token revoked", "accounts"),
    ("post.removed", {}, "Post removed", "", "publish"),
    ("generation.completed", {"set_name": "x" * 300}, "Run finished: " + "x" * 119 + "…", "", "campaigns"),
])
def test_what_people_read_for_each_kind(kind, data, title, body, link):
    assert notifications.render(kind, data) == notifications.Message(title, body, link)
