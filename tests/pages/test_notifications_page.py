"""The notifications page: the sidebar's unread count, the inbox with mark read / mark all read, preferences."""

from __future__ import annotations

from sqlalchemy import select

from studio import events
from studio.context import Context
from studio.settings import load_settings
from studio.store.models import User, WorkspaceMember
from studio.store.session import Store
from tests.pages.conftest import sign_up, texts


def _emit(email: str, *kinds_and_data: tuple[str, dict]) -> None:
    store = Store(load_settings())
    try:
        with store.account_scope() as s:
            user = s.scalar(select(User).where(User.email == email))
            ws = s.scalar(select(WorkspaceMember.workspace_id).where(WorkspaceMember.user_id == user.id))
        with store.session_scope(Context(user_id=user.id, workspace_id=ws)) as s:
            for kind, data in kinds_and_data:
                events.emit(s, kind, data)
    finally:
        store.dispose()


def test_unread_count_inbox_and_marking_read(new_app):
    at = new_app()
    email = sign_up(at, name="Olga Owner")
    assert not [p for p in at.sidebar.get("page_link") if "unread" in p.proto.label]
    _emit(email, ("generation.completed", {"set_name": "Spring sale", "variations": 1200}),
          ("post.failed", {"title": "Boots for $80", "message": "r/deals is private"}))
    at.run()
    links = [p.proto.label for p in at.sidebar.get("page_link")]
    assert "Notifications · 2 unread" in links
    at.switch_page("pages/notifications.py").run()
    assert not at.exception, at.exception
    shown = texts(at)
    assert "Run finished: Spring sale" in shown and "1,200 variations" in shown and "r/deals is private" in shown
    next(b for b in at.button if b.label == "Mark read").click().run()
    assert "Notifications · 1 unread" in [p.proto.label for p in at.sidebar.get("page_link")]
    next(b for b in at.button if b.label == "Mark all read").click().run()
    assert not at.exception, at.exception
    assert "Notifications" in [p.proto.label for p in at.sidebar.get("page_link")]
    assert not [b for b in at.button if b.label == "Mark read"]


def test_an_empty_inbox_says_what_will_arrive_and_preferences_save(new_app):
    at = new_app()
    sign_up(at)
    at.switch_page("pages/notifications.py").run()
    assert "No notifications yet" in texts(at)
    box = at.checkbox(key="pref_mail_generation.completed")
    assert box.value is False
    box.check()
    next(b for b in at.button if b.label == "Save preferences").click().run()
    assert not at.exception, at.exception
    assert "Saved (1 change)." in texts(at)
    at.switch_page("pages/notifications.py").run()
    assert "(your choice)" in texts(at)
