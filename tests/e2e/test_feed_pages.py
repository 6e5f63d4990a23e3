"""In a real browser: a data set from a local Merchant Center feed, its Feed tab after a 304 and after three
failures (paused, with Resume), and the key column report; screenshots looked at."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import shot, sign_up
from tests.engine.test_feed_xml import RSS
from tests.feed_server import FeedServer, Route

pytestmark = pytest.mark.browser


@pytest.fixture()
def server():
    s = FeedServer().start()
    yield s
    s.stop()


def test_url_data_set_status_pause_and_resume(studio_url, page, server):
    server.routes["/gmc.xml"] = Route(RSS, content_type="application/rss+xml", require={"X-Api-Key": "tok-999"})
    sign_up(page, studio_url, "Fern Feed")
    page.get_by_role("link", name="Data sources").click()
    page.get_by_text("From a URL (a feed, a Google Sheet, an export)").click()
    page.get_by_role("textbox", name="Address").fill(server.url("/gmc.xml"))
    page.get_by_label("Name (optional)").last.fill("Merchant feed")
    page.get_by_text("A request header (API key)").click()
    page.get_by_role("textbox", name="Header name").fill("X-Api-Key")
    page.get_by_role("textbox", name="Header value").fill("tok-999")
    page.get_by_role("textbox", name="Header value").press("Enter")
    page.wait_for_timeout(2000)
    shot(page, "feed-from-url-form")
    page.get_by_role("button", name="Create and fetch now").click()
    expect(page.get_by_text("Fetched the address into a new data set.")).to_be_visible()
    expect(page.get_by_text("Every row has its own 'id'.")).to_be_visible()
    page.wait_for_timeout(1500)  # the data grids draw after the text
    shot(page, "feed-columns-key")
    page.get_by_role("tab", name="Feed").click()
    page.get_by_role("button", name="Fetch now").click()
    expect(page.get_by_text("The server says nothing changed (304)")).to_be_visible()
    html = page.content()
    where = html.find("tok-999")
    assert where < 0, html[max(0, where - 400):where + 50]
    server.routes["/gmc.xml"] = Route(status=500)
    for n in range(3):
        page.wait_for_timeout(1000)  # the previous rerun settled (no stale tabs)
        page.get_by_role("tab", name="Feed").last.click()
        page.get_by_role("button", name="Fetch now").click()
        expect(page.get_by_text("The fetch failed: The server answered 500")).to_be_visible()
        expect(page.get_by_text(f"({n + 1} in a row" if n < 2 else "Paused after 3")).to_be_attached()
    page.wait_for_timeout(1000)
    page.get_by_role("tab", name="Feed").last.click()
    expect(page.get_by_text("Paused after 3 failed fetches in a row")).to_be_visible()
    page.wait_for_timeout(500)
    shot(page, "feed-paused")
    page.get_by_role("button", name="Resume the schedule").click()
    expect(page.get_by_text("The schedule runs again")).to_be_visible()
