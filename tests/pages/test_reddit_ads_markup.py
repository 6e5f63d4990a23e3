"""Campaign and ad group names on the Reddit Ads panel come from templates over the data (a URL data set: someone
else's feed): Markdown in them is shown as text, not as a remote image, a link or coloured text."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

EVIL = "![x](http://evil.example/t.png) [Log in](http://evil.example/login) :red[urgent]"


def _panel(evil: str) -> None:
    from types import SimpleNamespace

    from studio.ui import reddit_ads

    group = {"key": "g:1", "name": evil, "paused": True, "state": "synced"}
    tree = [{"key": "c:1", "name": evil, "paused": True, "ad_groups": [group]}]
    reddit_ads._tree(None, None, SimpleNamespace(id="set"), "conn", tree, None)
    reddit_ads._conflicts(None, None, [{"id": "e1", "state": "failed", "message": evil}])


def test_names_and_messages_from_the_data_are_shown_as_text():
    at = AppTest.from_function(_panel, args=(EVIL,)).run()
    assert not at.exception, at.exception
    shown = "\n".join(str(x.value) for x in [*at.markdown, *at.caption])
    assert "Log in" in shown and "evil" in shown  # the text is there, as text
    assert "![x](" not in shown and "](http" not in shown and ":red[urgent]" not in shown


