"""Data sources → From a URL: create a data set from a local feed, see its status, fetch again, pick the key;
the page never shows the stored secret back."""

from __future__ import annotations

from tests.engine.test_feed_xml import RSS
from tests.feed_server import Route
from tests.pages.conftest import sign_up, texts

V1 = b"sku,name\nA,Shoe\nA,Cap\nB,Sock\n"


def test_a_url_data_set_is_created_fetched_and_keyed_from_the_page(new_app, server):
    server.routes["/gmc.xml"] = Route(RSS, content_type="application/rss+xml", require={"X-Api-Key": "tok-999"})
    at = new_app()
    sign_up(at)
    at.switch_page("pages/data_sources.py").run()
    at.text_input(key="feed_url").input(server.url("/gmc.xml"))
    at.radio(key="feed_auth").set_value("header")
    at.run()
    at.text_input(key="feed_user").input("X-Api-Key")
    at.text_input(key="feed_secret").input("tok-999")
    at.button(key="feed_go").click()
    at.run()
    assert not at.exception, at.exception
    shown = texts(at)
    assert "Fetched the address into a new data set." in shown
    assert "tok-999" not in shown and "Credentials: header X-Api-Key" in shown
    assert "Every row has its own 'id'. The key was detected" in shown
    fetch_now = next(b for b in at.button if b.label == "Fetch now")
    fetch_now.click()
    at.run()
    assert not at.exception, at.exception
    assert "The server says nothing changed (304): no new version." in texts(at)


def test_a_failed_first_fetch_says_why_and_duplicates_keys_are_reported(new_app, server):
    at = new_app()
    sign_up(at)
    at.switch_page("pages/data_sources.py").run()
    at.text_input(key="feed_url").input("http://10.0.0.1/feed.csv")
    at.run()  # the button is enabled once an address is there
    at.button(key="feed_go").click()
    at.run()
    assert not at.exception, at.exception
    assert any("private, local or reserved" in e.value for e in at.error)
    server.routes["/p.csv"] = Route(V1)
    at.text_input(key="feed_url").input(server.url("/p.csv"))
    at.button(key="feed_go").click()
    at.run()
    assert not at.exception, at.exception
    assert any("'A' ×2" in w.value for w in at.warning)
    picker = next(s for s in at.selectbox if s.label == "Key column")
    picker.set_value("name")
    at.run()
    assert not at.exception, at.exception
    assert "Key column: name." in texts(at)
    assert "Every row has its own 'name'." in texts(at)  # chosen: no "detected" note
    assert "detected from the column names" not in texts(at)
