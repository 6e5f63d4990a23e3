"""In a real browser: a Google RSA preview gets a second ad group and a second ad with its own headline;
the tree shows the ad groups with their ads and keywords, and marks the ones dedup emptied."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from studio import datasets, templates
from tests.e2e.conftest import seed_account, shot, sign_in

pytestmark = pytest.mark.browser
FIELDS = {"headline_1": "{{ product_name }}", "headline_2": "From ${{ price }}", "headline_3": "Shop {{ category }}",
          "description_1": "{{ description }}", "description_2": "Free returns on {{ category }}.",
          "final_url": "{{ url }}"}


def _metric(page, label: str) -> str:
    box = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    expect(box).to_be_visible()
    return box.locator('[data-testid="stMetricValue"]').inner_text()


def _choose(page, opener, name: str) -> None:
    """Pick `name` in the list `opener` opens; a rerun still drawing the page closes a list opened too early,
    so it is opened again until the option shows."""
    option = page.get_by_role("option", name=name, exact=True)
    for _ in range(6):
        opener.click()
        try:
            option.wait_for(timeout=5_000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    option.click()
    page.keyboard.press("Escape")


def test_add_ad_groups_and_ads_and_see_the_tree(studio_home, studio_url, page, shared_data, monkeypatch):
    store, ctx, email = seed_account(studio_home, monkeypatch, "Hana Hierarchy")
    templates.create_template(store, ctx, "E2E RSA", "google/responsive_search_ad", FIELDS)
    data = b"\n".join((shared_data / "products_2k.csv").read_bytes().splitlines()[:201]) + b"\n"
    datasets.upload(store, ctx, "products_200.csv", data)
    store.dispose()

    sign_in(page, studio_url, email)
    page.get_by_role("link", name="Preview", exact=True).click()
    page.get_by_role("combobox", name="Format").click()
    page.keyboard.type("Google responsive search ad")
    page.keyboard.press("Enter")
    expect(page.get_by_role("combobox", name="Template")).to_have_value(re.compile("^E2E RSA"))
    page.get_by_text("truncate", exact=True).click()
    page.wait_for_timeout(1500)
    expect(page.locator(".dc-card").first).to_be_visible()
    ads = page.locator('[data-testid="stMetric"]').filter(has_text="Ads").first
    expect(ads).to_contain_text(re.compile(r"Ads\s*19\d"))  # 200 rows, one ad each (a few over a limit)
    one_each = int(_metric(page, "Ads"))

    page.get_by_text("Campaign structure").click()
    page.get_by_role("button", name="Add ad group").click()
    second = page.get_by_label("Ad group 2: name")
    second.fill("{{ city | default('Online') }}")
    second.press("Enter")
    expect(page.get_by_text("Ad group 2: name")).to_be_visible()
    page.get_by_role("button", name="Add an ad").first.click()
    combo = page.get_by_role("combobox", name="Ad 2: fields it writes itself").first
    expect(combo).to_be_visible()
    _choose(page, combo, "Headline 1")
    own = page.get_by_label("Ad 2: Headline 1")
    own.fill("Buy {{ product_name | truncate(20) }}")
    own.press("Enter")
    expect(ads).to_contain_text(re.compile(r"Ads\s*5\d\d"))  # three ads a row now
    assert int(_metric(page, "Ads")) > 2 * one_each
    shot(page, "46-ad-hierarchy-inputs")
    _choose(page, page.get_by_label("Remove duplicates on"), "headline_2")
    expect(page.get_by_text(re.compile(r"lost every ad to dedup"))).to_be_visible()
    expect(page.get_by_text(re.compile(r"more, [\d,]+ of them empty")).first).to_be_visible()
    page.wait_for_timeout(800)
    shot(page, "46-ad-hierarchy-preview")
