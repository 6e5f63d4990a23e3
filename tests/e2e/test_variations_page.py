"""In a real browser: a campaign set of 10,000 variations pages, filters and shows its figures."""

from __future__ import annotations

import io
import re

import polars as pl
import pytest
from playwright.sync_api import expect

from studio import campaigns, datasets
from tests.e2e.conftest import seed_account, shot, sign_in

pytestmark = pytest.mark.browser
CONFIG = {"platform": "reddit", "format": "thread",
          "templates": {"subreddit": "{{ category }}", "title": "{{ product_name }} — ${{ price }} #{{ id }}",
                        "body": "{{ description }}"},
          "rules": [{"id": "shoes", "name": "Shoes", "priority": 1,
                     "conditions": {"items": [{"field": "category", "operator": "equals", "value": "shoes"}]},
                     "actions": [{"type": "add_tag", "params": {"tag": "footwear"}},
                                 {"type": "add_to_group", "params": {"group": "Shoe ads"}}]}]}


def test_variations_page_with_10k_rows(studio_home, studio_url, page, shared_data, monkeypatch):
    store, ctx, email = seed_account(studio_home, monkeypatch, "Vera Variations")
    base = pl.read_csv(shared_data / "products_2k.csv", infer_schema_length=0)
    big = pl.concat([base] * 5).with_columns(pl.int_range(1, 10_001).cast(pl.String).alias("id"))
    buf = io.BytesIO()
    big.write_csv(buf)
    ds = datasets.upload(store, ctx, "products_10k.csv", buf.getvalue())
    set_id = campaigns.create(store, ctx, "Ten thousand threads", ds.id, CONFIG)
    campaigns.generate(store, ctx, set_id)
    store.dispose()

    sign_in(page, studio_url, email)
    page.get_by_role("link", name="Campaign sets").click()
    expect(page.get_by_text(re.compile(r"9,\d{3} variations match · page 1 of 9\d"))).to_be_visible(timeout=20_000)
    expect(page.locator('[data-testid="stDataFrame"]').first).to_be_visible(timeout=20_000)
    page.wait_for_timeout(1500)
    shot(page, "12-variations-10k")
    page.get_by_role("textbox", name="Search titles").fill("#9999")
    page.get_by_role("textbox", name="Search titles").press("Enter")
    expect(page.get_by_text(re.compile(r"^[0-9] variations? match"))).to_be_visible()
    page.get_by_role("textbox", name="Search titles").fill("")
    page.get_by_role("textbox", name="Search titles").press("Enter")
    page.get_by_role("combobox", name="Tag or group").click()
    page.keyboard.type("footwear")
    page.keyboard.press("Enter")
    expect(page.get_by_text(re.compile(r"^1,640 variations match"))).to_be_visible()  # the shoes rows × 5
    page.wait_for_timeout(1000)
    shot(page, "12b-variations-tag-filter")
