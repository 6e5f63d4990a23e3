"""In a real browser: a template with inline variations [[a|b]] on Templates and Preview: the hint of how many a
row makes, the maximum per row, the whole-data-set inline figures, and the cards of the expanded variations."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from studio import datasets, templates
from tests.e2e.conftest import seed_account, shot, sign_in

pytestmark = pytest.mark.browser
FIELDS = {"subreddit": "deals", "title": "[[Buy|Get]] {{ product_name }} [[today|now|today]]",
          "body": "[[{{ brand | default('Top brands') }}|Free returns]] on {{ category }}."}


def test_inline_variations_hint_maximum_and_figures(studio_home, studio_url, page, shared_data, monkeypatch):
    store, ctx, email = seed_account(studio_home, monkeypatch, "Ines Inline")
    templates.create_template(store, ctx, "E2E inline", "reddit/thread", FIELDS)
    data = b"\n".join((shared_data / "products_2k.csv").read_bytes().splitlines()[:101]) + b"\n"
    datasets.upload(store, ctx, "products_100.csv", data)
    store.dispose()

    sign_in(page, studio_url, email)
    page.get_by_role("link", name="Preview", exact=True).click()
    expect(page.get_by_role("combobox", name="Template")).to_have_value(re.compile("^E2E inline"))
    hint = page.get_by_text(re.compile(r"Inline options .*title 2 × 3, body 2 → 12 variations per row"))
    expect(hint).to_be_visible()
    figures = page.get_by_text(re.compile(r"Inline options: 1,200 combinations possible over the data set · "
                                          r"400 duplicates removed · 0 over the maximum"))
    expect(figures).to_be_visible()
    expect(page.locator('[data-testid="stMetric"]').filter(has_text="Variations").first).to_contain_text("800")
    page.get_by_role("spinbutton", name="Inline variations per row (at most)").fill("3")
    page.get_by_role("spinbutton", name="Inline variations per row (at most)").press("Enter")
    expect(page.get_by_text(re.compile(r"400 duplicates removed · 500 over the maximum"))).to_be_visible()
    cards = page.locator(".dc-card")
    expect(cards.nth(0)).to_contain_text(re.compile(r"Buy .* today"))  # row 1: Buy … today, with both bodies
    expect(cards.nth(2)).to_contain_text(re.compile(r"Buy .* now"))
    page.wait_for_timeout(800)
    shot(page, "47-inline-variations-preview")

    page.get_by_role("button", name="Edit on Templates").click()
    expect(page.get_by_text(re.compile(r"Inline options .*title 2 × 3, body 2 → 12 variations per row"))).to_be_visible()
    page.wait_for_timeout(800)
    shot(page, "47b-inline-variations-templates")
