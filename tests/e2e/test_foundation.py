"""In a real browser: sign up, sign out, sign in, upload the sample, see the typed table."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ROOT, shot, sign_up

pytestmark = pytest.mark.browser
SAMPLE = ROOT / "studio" / "demo" / "reddit_threads_sample.csv"


def test_sign_up_upload_and_see_columns(studio_url, page):
    page.goto(studio_url)
    expect(page.get_by_label("Email", exact=True)).to_be_visible()
    shot(page, "01-sign-in")
    sign_up(page, studio_url, "Eve Tester")
    shot(page, "02-home")

    page.get_by_role("link", name="Data sources").click()
    expect(page.get_by_text("No data sets yet")).to_be_visible()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(SAMPLE))
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.get_by_text("Uploaded 'reddit_threads_sample': 60 rows × 10 columns.")).to_be_visible()
    expect(page.get_by_role("heading", name="reddit_threads_sample")).to_be_visible()
    page.wait_for_timeout(800)
    shot(page, "03-data-sources")
    page.get_by_role("tab", name="Rows").click()
    page.wait_for_timeout(500)
    shot(page, "04-rows")


def test_cookie_keeps_you_signed_in_and_sign_out_kills_it(studio_url, page):
    sign_up(page, studio_url, "Rita Reload")
    saved = [c for c in page.context.cookies() if c["name"] == "dotoro_session"]
    page.reload()
    expect(page.get_by_role("heading", name="Home").first).to_be_visible()  # the cookie signed us back in
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Email", exact=True)).to_be_visible()
    page.context.add_cookies(saved)  # replay the old cookie
    page.reload()
    expect(page.get_by_label("Email", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Home").first).not_to_be_visible()
