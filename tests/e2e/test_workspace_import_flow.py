"""In a real browser: a workspace export with a URL data set behind credentials and a webhook endpoint is imported
through Workspace settings; the message lists what to do about the secrets that stayed behind, the feed's tab says
why it is paused and the endpoint is disabled; screenshots looked at."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from studio import feeds, webhooks, workspace_export
from tests.e2e.conftest import ARTIFACTS, seed_account, shot, sign_in
from tests.feed_server import FeedServer, Route

pytestmark = pytest.mark.browser

CSV = b"id,title,price\nA1,Trail Shoe,129\nB2,City Boot,89\n"


@pytest.fixture()
def server():
    s = FeedServer().start()
    yield s
    s.stop()


def test_import_says_what_to_do_about_the_secrets_left_behind(studio_url, studio_home, page, server, monkeypatch):
    monkeypatch.setenv("FEED_ALLOWED_NETWORKS", "127.0.0.1")
    store, ctx, email = seed_account(studio_home, monkeypatch, "Ivo Import")
    server.routes["/locked.csv"] = Route(CSV, require={"X-Api-Key": "tok-import-1"})
    feeds.create_from_url(store, ctx, server.url("/locked.csv"), name="Locked feed", auth_kind="header",
                          username="X-Api-Key", secret="tok-import-1", interval_minutes=60)
    webhooks.create_endpoint(store, ctx, "https://93.184.216.34/hooks/crm", ["generation.completed"],
                             description="CRM sync")
    archive = workspace_export.export_zip(store, ctx)
    store.dispose()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "ivo-export.zip"
    path.write_bytes(archive)

    sign_in(page, studio_url, email)
    page.goto(studio_url + "/workspace")
    expect(page.get_by_role("heading", name="Import a workspace")).to_be_visible()
    page.locator("input[type=file]").set_input_files(str(path))
    expect(page.get_by_text("1 data set fed from a URL, 1 webhook endpoint")).to_be_visible()
    page.get_by_text("Create a new workspace from this archive").click()
    page.get_by_role("button", name="Import as a new workspace").click()
    expect(page.get_by_text("1 webhook endpoint arrived disabled without a signing secret")).to_be_visible()
    expect(page.get_by_text("1 URL data set is paused because the credentials were not exported")).to_be_visible()
    page.wait_for_timeout(800)
    shot(page, "workspace-import-todo")
    assert "tok-import-1" not in page.content()

    page.get_by_role("link", name="Data sources").click()  # in this session: the imported workspace is selected
    expect(page.get_by_role("tab", name="Feed").last).to_be_visible()
    page.wait_for_timeout(1000)
    page.get_by_role("tab", name="Feed").last.click()
    expect(page.get_by_text("the credentials (header X-Api-Key) were not exported")).to_be_visible()
    page.wait_for_timeout(800)
    shot(page, "workspace-import-feed-paused")

    more = page.get_by_text(re.compile(r"^View \d+ more$"))  # the sidebar folds pages past its first ten
    if more.count():
        more.first.click()
    page.get_by_role("link", name="Webhooks & Slack").click()
    expect(page.get_by_text("93.184.216.34 · disabled · 0 delivered")).to_be_visible()
    expect(page.get_by_text("starts disabled because its signing secret stayed behind")).to_be_visible()
    page.wait_for_timeout(800)
    shot(page, "workspace-import-webhook-disabled")
