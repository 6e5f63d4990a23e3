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




def _callback(params: dict) -> None:
    from studio.ui import reddit_ads

    reddit_ads.finish_callback(None, None, params)


def test_a_callback_without_a_code_says_what_to_do_instead_of_crashing():
    """Anyone can open the callback address with only a `state`: the page says to start again."""
    at = AppTest.from_function(_callback, args=({"state": "ads.forged"},)).run()
    assert not at.exception, at.exception
    assert any("Connect Reddit Ads" in e.value for e in at.error)


def test_the_error_in_a_callback_address_is_shown_as_text():
    """A link anyone can send (…/accounts?state=ads.x&error=…) cannot put a phishing link on the studio's page."""
    params = {"state": "ads.forged", "error": "[Sign in again here](http://evil.example/login)"}
    at = AppTest.from_function(_callback, args=(params,)).run()
    assert not at.exception, at.exception
    shown = "\n".join(e.value for e in at.error)
    assert "Sign in again here" in shown and "](http" not in shown


def test_the_error_in_an_account_callback_address_is_shown_as_text(new_app):
    from tests.pages.conftest import sign_up

    at = new_app()
    sign_up(at)
    at.switch_page("pages/accounts.py")
    at.query_params["state"] = "forged"
    at.query_params["error"] = "[Sign in again here](http://evil.example/login)"
    at.run()
    assert not at.exception, at.exception
    shown = "\n".join(e.value for e in at.error)
    assert "Sign in again here" in shown and "](http" not in shown
