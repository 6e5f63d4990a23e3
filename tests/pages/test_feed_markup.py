"""Values from someone else's feed (duplicate keys in the key report) are shown as text on the Data sources page:
Markdown in them cannot draw a link or load a remote image there."""

from __future__ import annotations

from tests.feed_server import Route
from tests.pages.conftest import sign_up

HOSTILE = (b"sku,name\n"
           b"[Reset your password](http://evil.example/login),Shoe\n"
           b"[Reset your password](http://evil.example/login),Cap\n"
           b"B,Sock\n")


def test_duplicate_key_values_from_a_feed_are_shown_as_text(new_app, server):
    server.routes["/p.csv"] = Route(HOSTILE)
    at = new_app()
    sign_up(at)
    at.switch_page("pages/data_sources.py").run()
    at.text_input(key="feed_url").input(server.url("/p.csv"))
    at.run()
    at.button(key="feed_go").click()
    at.run()
    assert not at.exception, at.exception
    report = [w.value for w in at.warning if "×2" in w.value]
    assert report and "Reset your password" in report[0]
    assert "](http" not in report[0]
