"""A new user's walk over the pages added for issues 19–21, in Chromium: after sign-up (demo data set loaded) each
page opens without an error, under its heading, with what it says while there is nothing yet; the sidebar links
Notifications once, above who is signed in; Reddit accounts shows the accounts for posts before Reddit Ads;
Preview's set name follows the format.
Screenshots land in tests/artifacts/new-pages-*.png."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import shot, sign_up

pytestmark = pytest.mark.browser

# url path → (main heading, a text the page shows for a new workspace)
PAGES = {
    "data": ("Data sources", "From a URL (a feed, a Google Sheet, an export)"),
    "preview": ("Preview", "Aggregates over the whole data set"),
    "campaigns": ("Campaign sets", "No campaign sets yet"),
    "publish": ("Publish", "No Reddit campaign set yet"),
    "notifications": ("Notifications", "No notifications yet"),
    "webhooks": ("Webhooks & Slack", "No webhook endpoints yet"),
    "api-keys": ("API keys", "No API keys yet"),
    "accounts": ("Reddit accounts", "Reddit sign-in is not enabled on this studio yet."),
}


def _open(page, url: str, path: str, heading: str):
    page.goto(f"{url}/{path}")
    main = page.locator('[data-testid="stMain"]')
    expect(main.get_by_role("heading", name=heading, exact=True).first).to_be_visible()
    return main


def test_each_new_page_opens_with_its_heading_and_empty_state(studio_url, page):
    sign_up(page, studio_url, "Nina Newcomer", demo=True)
    for path, (heading, empty) in PAGES.items():
        main = _open(page, studio_url, path, heading)
        expect(main.get_by_text(empty, exact=False).first).to_be_visible()
        page.wait_for_timeout(400)  # the rest of the script lands
        expect(page.get_by_test_id("stException")).to_have_count(0)
        shot(page, f"new-pages-{path}")

    # Notifications: one link in the sidebar (not one in the menu and another below Sign out), above the user's name
    sidebar = page.get_by_test_id("stSidebar")
    links = sidebar.get_by_role("link", name="Notifications", exact=True)
    expect(links).to_have_count(1)
    assert links.bounding_box()["y"] < sidebar.get_by_role("button", name="Sign out").bounding_box()["y"]

    # Reddit accounts (the last page opened): accounts for posts first, then Reddit Ads; an owner is not told to ask one
    main = page.get_by_test_id("stMain")
    posts = main.get_by_role("heading", name="Reddit accounts for posts").bounding_box()
    ads = main.get_by_role("heading", name="Reddit Ads", exact=True).bounding_box()
    assert posts["y"] < ads["y"]
    expect(main.get_by_text("Ask an owner or admin")).to_have_count(0)
    expect(main.get_by_role("button", name="Connect Reddit Ads")).to_have_count(0)  # it could only fail here

    # the empty Campaign sets page leads to Preview
    main = _open(page, studio_url, "campaigns", "Campaign sets")
    main.get_by_role("link", name="Open the Preview").click()
    expect(page.get_by_role("heading", name="Preview", exact=True).first).to_be_visible()

    # Publish → Engagement says where paid results will appear
    main = _open(page, studio_url, "publish", "Publish")
    page.get_by_role("tab", name="Engagement").click()
    expect(main.get_by_text("No engagement of posts yet")).to_be_visible()
    expect(main.get_by_text("Reddit Ads results")).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)

    # Preview: the set's name follows the format picked until the user types one
    main = _open(page, studio_url, "preview", "Preview")
    name = main.get_by_role("textbox", name="Campaign set name")
    expect(name).to_have_value("Demo products — Reddit thread")
    main.get_by_role("combobox", name="Format").click()
    page.keyboard.type("Reddit link ad")
    page.keyboard.press("Enter")
    expect(name).to_have_value("Demo products — Reddit link ad")
    expect(page.get_by_test_id("stException")).to_have_count(0)
