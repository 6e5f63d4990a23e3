"""A name people chose (a data set, a campaign set, a post title) is shown as text in the inbox: Markdown in it
cannot load a remote image into every member's browser, draw a link, or colour text."""

from __future__ import annotations

from sqlalchemy import select

from studio import events
from studio.context import Context
from studio.settings import load_settings
from studio.store.models import User, WorkspaceMember
from studio.store.session import Store
from tests.pages.conftest import sign_up


def _emit(email: str, kind: str, data: dict) -> None:
    store = Store(load_settings())
    try:
        with store.account_scope() as s:
            user = s.scalar(select(User).where(User.email == email))
            ws = s.scalar(select(WorkspaceMember.workspace_id).where(WorkspaceMember.user_id == user.id))
        with store.session_scope(Context(user_id=user.id, workspace_id=ws)) as s:
            events.emit(s, kind, data)
    finally:
        store.dispose()


def test_markdown_in_names_and_messages_is_shown_as_text(new_app):
    at = new_app()
    email = sign_up(at)
    _emit(email, "generation.completed", {"set_name": "![x](http://evil.example/t.png) :red[urgent]"})
    _emit(email, "post.failed", {"title": "Boots", "message": "[Reconnect here](http://evil.example/login) <b>x</b>"})
    at.switch_page("pages/notifications.py").run()
    assert not at.exception, at.exception
    shown = "\n".join(str(m.value) for m in at.markdown)
    assert "evil.example" in shown  # the text is there, as text
    assert "![x](" not in shown and "](http" not in shown and ":red[" not in shown and "<b>" not in shown
