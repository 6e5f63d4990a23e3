"""In a real browser: the Publish and Reddit accounts pages render their empty states cleanly."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import shot, sign_up

pytestmark = pytest.mark.browser


def test_publish_and_accounts_pages(studio_url, page):
    sign_up(page, studio_url, "Paul Publisher", demo=True)
    page.get_by_role("link", name="Reddit accounts").click()
    expect(page.get_by_role("heading", name="Reddit accounts").first).to_be_visible()
    page.wait_for_timeout(1000)
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    shot(page, "40-accounts")
    page.get_by_role("link", name="Publish").click()
    page.wait_for_timeout(1500)
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    shot(page, "41-publish")
