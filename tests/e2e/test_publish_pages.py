"""In a real browser: the Publish and Reddit accounts pages render their empty states cleanly."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import shot

pytestmark = pytest.mark.browser


def test_publish_and_accounts_pages(studio_url, page):
    page.goto(studio_url)
    page.get_by_role("tab", name="Create account").click()
    page.get_by_label("Your name").fill("Paul Publisher")
    page.get_by_label("Work email").fill(f"pub{uuid.uuid4().hex[:6]}@example.com")
    page.get_by_label("Password", exact=True).last.fill("s3cret-pass")
    page.get_by_label("Repeat password").fill("s3cret-pass")
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("button", name="Load the demo data set").click()
    expect(page.get_by_text("Loaded 'Demo products'")).to_be_visible()
    page.get_by_role("link", name="Reddit accounts").click()
    expect(page.get_by_role("heading", name="Reddit accounts").first).to_be_visible()
    page.wait_for_timeout(1000)
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    shot(page, "40-accounts")
    page.get_by_role("link", name="Publish").click()
    page.wait_for_timeout(1500)
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    shot(page, "41-publish")
