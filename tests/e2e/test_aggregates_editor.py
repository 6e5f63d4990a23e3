"""In a real browser: aggregates over the whole data set on Preview (a rule skips small brands, a template reads
the category's lowest price) and the same columns offered on the Rules page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from studio import datasets, drafts, rule_sets, templates
from tests.e2e.conftest import seed_account, shot, sign_in

pytestmark = pytest.mark.browser
AGGREGATES = [{"name": "brand_count", "agg": "count", "by": ["brand"]},
              {"name": "category_min_price", "agg": "min", "of": "price", "by": ["category"]}]
SMALL_BRANDS = [{"id": "small", "name": "Skip small brands", "enabled": True, "priority": 1,
                 "conditions": {"logic": "and", "items": [{"field": "brand_count", "operator": "less_than",
                                                           "value": 10}]},
                 "actions": [{"type": "skip", "params": {}}]}]


def test_aggregates_on_preview_and_rules(studio_home, studio_url, page, shared_data, monkeypatch):
    store, ctx, email = seed_account(studio_home, monkeypatch, "Agg Gregate")
    templates.create_template(store, ctx, "From the lowest price", "reddit/thread", {
        "subreddit": "deals", "title": "{{ product_name }}: {{ category }} from ${{ category_min_price }}"})
    data = b"\n".join((shared_data / "products_2k.csv").read_bytes().splitlines()[:201]) + b"\n"
    ds = datasets.upload(store, ctx, "products_200.csv", data)
    rule_sets.create_rule_set(store, ctx, "Small brands", SMALL_BRANDS)
    drafts.save(store, ctx, "preview", {"dataset_id": str(ds.id), "format": "reddit/thread", "aggregates": AGGREGATES})
    store.dispose()

    sign_in(page, studio_url, email)
    page.get_by_role("link", name="Preview", exact=True).click()
    expect(page.get_by_text("Aggregates over the whole data set (2)")).to_be_visible()
    expect(page.get_by_text(re.compile(r"Figures over every row of the data set"))).to_be_visible()
    expect(page.get_by_text(re.compile(r"from \$\d+\.\d+")).first).to_be_visible()  # a card's title
    skipped = page.locator('[data-testid="stMetric"]').filter(has_text="Skipped").first
    expect(skipped).to_contain_text("28")  # Cyberdyne 4 + Wayne 7 + Soylent 8 + Vandelay 9 rows
    page.wait_for_timeout(800)
    shot(page, "aggregates-preview")
    for width in (1280, 1024):  # every header of the table readable on a laptop and a small screen
        page.set_viewport_size({"width": width, "height": 1000})
        page.wait_for_timeout(800)
        shot(page, f"aggregates-preview-{width}")
        page.get_by_role("button", name="Edit aggregates").click()
        dialog = page.get_by_role("dialog")
        expect(dialog.locator('[data-testid="stDataFrame"]')).to_contain_text("Per group of")
        page.wait_for_timeout(800)
        shot(page, f"aggregates-editor-{width}")
        dialog.get_by_role("button", name="Cancel").click()
        expect(dialog).to_have_count(0)
    page.get_by_role("link", name="Rules", exact=True).click()
    expect(page.get_by_text(re.compile(r"Aggregate columns from Preview"))).to_be_visible()
    expect(page.get_by_text(re.compile(r"brand_count.*count\(\*\) per brand"))).to_be_visible()
    page.get_by_role("combobox", name="Rule set").click()
    page.get_by_role("option", name=re.compile("^Small brands")).click()
    expect(page.get_by_text(re.compile(r"Rows matched"))).to_be_visible()
    expect(page.get_by_text(re.compile(r"\b28\b")).first).to_be_visible()  # Test on data counts with the aggregates
    page.wait_for_timeout(800)
    shot(page, "aggregates-rules")

    page.get_by_role("link", name="Templates", exact=True).click()
    page.get_by_role("combobox", name="Template").click()
    page.get_by_role("option", name=re.compile("^From the lowest price")).click()
    expect(page.get_by_text(re.compile(r"Vintage Poetry Collection: books from \$\d+\.\d+")).first).to_be_visible()
    expect(page.get_by_text(re.compile(r"unknown|does not render", re.IGNORECASE))).to_have_count(0)
    page.wait_for_timeout(800)
    shot(page, "aggregates-templates")


def test_an_aggregate_that_cannot_work_says_what_to_change(studio_home, studio_url, page, shared_data, monkeypatch):
    store, ctx, email = seed_account(studio_home, monkeypatch, "Agg Wrong")
    data = b"\n".join((shared_data / "products_2k.csv").read_bytes().splitlines()[:51]) + b"\n"
    ds = datasets.upload(store, ctx, "products_50.csv", data)
    templates.create_template(store, ctx, "Plain", "reddit/thread", {"subreddit": "deals", "title": "{{ product_name }}"})
    drafts.save(store, ctx, "preview", {"dataset_id": str(ds.id), "format": "reddit/thread",
                                        "aggregates": [{"name": "total", "agg": "sum", "of": "brand", "by": []}]})
    store.dispose()

    sign_in(page, studio_url, email)
    page.get_by_role("link", name="Preview", exact=True).click()
    expect(page.get_by_text("Aggregate 'total': sum needs a number column, but 'brand' holds text values.")
           ).to_be_visible()
    expect(page.get_by_text(re.compile(r"The preview starts once the aggregates on the left are fixed"))).to_be_visible()
    expect(page.get_by_text(re.compile(r"^aggregate 'total'"))).to_have_count(0)  # said once, where it is fixed
    page.wait_for_timeout(800)
    shot(page, "aggregates-preview-error")
