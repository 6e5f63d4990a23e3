"""In a real browser: the unread count under the menu, the notifications inbox and preferences, and Settings →
Webhooks & Slack with a test send and a delivery log; screenshots looked at."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from studio import events, webhooks
from tests.e2e.conftest import seed_account, shot, sign_in
from tests.http_receiver import receiver

pytestmark = pytest.mark.browser


def test_notifications_and_webhooks_screens(studio_url, studio_home, page, monkeypatch):
    monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE", "on")
    store, ctx, email = seed_account(studio_home, monkeypatch, "Nora Notify")
    with receiver([500, 200]) as rec:
        endpoint, _ = webhooks.create_endpoint(store, ctx, rec.url, ["generation.completed", "post.failed"],
                                               description="n8n → CRM")
        for kind, data in [
            ("generation.completed", {"set_name": "Spring sale — Reddit threads", "variations": 12_480, "added": 480}),
            ("post.failed", {"title": "Trail runners from $89 in Denver", "message": "r/running does not allow links"}),
            ("account.reconnect_needed", {"username": "u/shopbot", "message": "Reddit revoked the token"}),
            ("feed.paused", {"name": "Merchant feed", "message": "3 failed fetches in a row (HTTP 500)"}),
        ]:
            with store.session_scope(ctx) as s:  # each commit dispatches (inline: no runner in this process)
                events.emit(s, kind, data)
        store.dispose()
        sign_in(page, studio_url, email)
        link = page.get_by_role("link", name="Notifications · 4 unread")
        expect(link).to_be_visible()
        link.click()
        expect(page.get_by_text("Run finished: Spring sale — Reddit threads")).to_be_visible()
        page.wait_for_timeout(800)
        shot(page, "notifications-inbox")
        page.get_by_role("button", name="Mark read").first.click()
        expect(page.get_by_role("link", name="Notifications · 3 unread")).to_be_visible()
        page.get_by_role("tab", name="Preferences").click()
        page.wait_for_timeout(800)
        shot(page, "notifications-preferences")

        more = page.get_by_text(re.compile(r"View \d+ more"))
        if more.count():
            more.first.click()
        page.get_by_role("link", name="Webhooks & Slack").click()
        expect(page.get_by_role("heading", name="Outgoing webhooks")).to_be_visible()
        page.get_by_role("button", name="Send a test").click()
        expect(page.get_by_text("Delivered (HTTP 200)")).to_be_visible()
        page.wait_for_timeout(800)
        shot(page, "webhooks-settings")
    assert len(rec.requests) == 3  # the run's event (500, retried later), the post's event, the test
