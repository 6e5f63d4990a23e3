"""In a real browser: picking "truncate" on Preview offers cut / ellipsis / word, each with its example."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from studio.ui.truncation import label
from tests.e2e.conftest import shot, sign_up

pytestmark = pytest.mark.browser


def test_truncate_styles_are_offered_with_examples(studio_url, page):
    sign_up(page, studio_url, "Tess Truncate", demo=True)
    page.get_by_role("link", name="Preview", exact=True).click()
    expect(page.get_by_text("How to shorten")).to_have_count(0)  # only with the truncate strategy
    page.get_by_text("truncate", exact=True).click()
    expect(page.get_by_text("How to shorten")).to_be_visible()
    for style in ("cut", "ellipsis", "word"):
        expect(page.get_by_text(label(style))).to_be_visible()
    page.get_by_text(label("word")).click()
    expect(page.get_by_role("radio", name=label("word"))).to_be_checked()
    page.wait_for_timeout(800)
    shot(page, "truncate-styles")
