"""Workspace settings → Word list, through the studio: a bad list is refused in words and nothing is saved; a good
one is saved and shown again after a reload."""

from __future__ import annotations

import uuid

from studio import word_lists
from studio.context import Context
from studio.settings import load_settings
from studio.store.session import Store
from tests.pages.conftest import sign_up, texts


def _save(at) -> None:
    next(b for b in at.button if b.label == "Save word list").click().run()


def test_the_word_list_is_refused_in_words_then_saved(new_app):
    at = new_app()
    sign_up(at, name="Wes Words")
    ws = at.session_state["dotoro_workspace_id"]
    at.switch_page("pages/workspace.py").run()
    assert "Word list" in [h.value for h in at.subheader]
    at.text_area(key=f"wl_{ws}_banned").input("cheap\n\nknock-off")
    at.radio(key=f"wl_{ws}_mode").set_value("replace")
    _save(at)
    assert not at.exception, at.exception
    assert "write what replaces them" in texts(at)
    store = Store(load_settings())
    ctx = Context(user_id=uuid.UUID(at.session_state["dotoro_account"][0]), workspace_id=uuid.UUID(ws))
    assert word_lists.get_word_list(store, ctx).empty  # nothing saved

    at.text_input(key=f"wl_{ws}_replacement").input("affordable")
    at.text_area(key=f"wl_{ws}_brands").input("iPhone\n  MacBook   Pro")
    _save(at)
    assert "Word list saved: 2 banned word(s), 2 brand spelling(s)" in texts(at)
    saved = word_lists.get_word_list(store, ctx)
    assert (saved.banned, saved.banned_mode, saved.replacement, saved.brands) == (
        ["cheap", "knock-off"], "replace", "affordable", ["iPhone", "MacBook Pro"])
    store.dispose()
