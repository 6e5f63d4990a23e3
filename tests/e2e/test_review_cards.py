"""In a real browser: every format's cards look like the platform and the review grid edits and approves.

Screenshots land in tests/artifacts/ (git-ignored): 40-cards-<format>.png for each format, 41-grid-rsa.png.
"""

from __future__ import annotations

import io
import re

import polars as pl
import pytest
from playwright.sync_api import expect

from studio import campaigns, datasets
from tests.e2e.conftest import seed_account, shot, sign_in

pytestmark = pytest.mark.browser

FORMATS: dict[str, dict[str, str]] = {
    "reddit/thread": {"subreddit": "{{ category }}", "title": "{{ product_name }} — now ${{ price }}",
                      "body": "**{{ product_name }}** by {{ seller }}.\n\n{{ description }}", "flair": "{{ category | capitalize }}",
                      "url": "{{ url }}"},
    "reddit/link_ad": {"headline": "{{ product_name }}: {{ description }}", "destination_url": "{{ url }}",
                       "call_to_action": "Shop Now", "display_url": "shop.example.com", "body": "Rated {{ rating }} by buyers."},
    "reddit/comment": {"parent": "t3_1abcde", "body": "Has anyone tried the **{{ product_name }}**? {{ description }}"},
    "google/responsive_search_ad": {"headline_1": "{{ product_name }}", "headline_2": "From ${{ price }}",
                                    "headline_3": "Rated {{ rating }} of 5", "headline_4": "Free returns",
                                    "description_1": "{{ description }} Order today & save.",
                                    "description_2": "Free returns on all {{ category }}.", "path_1": "{{ category }}",
                                    "path_2": "sale", "final_url": "{{ url }}"},
    "meta/feed_ad": {"primary_text": "{{ description }} Loved by {{ stock }} customers in {{ city | default('your city') }}, "
                                     "rated {{ rating }} — see why {{ product_name }} sells out every week.",
                     "headline": "{{ product_name }}", "description": "Only ${{ price }}", "link": "{{ url }}",
                     "call_to_action": "SHOP_NOW"},
    "instagram/post": {"caption": "New in: {{ product_name }}. {{ description }}", "hashtags": "#{{ category }} #deals #new",
                       "alt_text": "Photo of {{ product_name }}"},
    "x/post": {"text": "{{ product_name }} is ${{ price }} today — {{ description }} {{ url }}"},
}


def _pick(page, name: str) -> None:
    page.get_by_role("combobox", name="Campaign set").click()
    page.keyboard.type(name)
    page.keyboard.press("Enter")
    expect(page.get_by_text(re.compile(r"variations? match"))).to_be_visible()
    page.wait_for_timeout(800)


def test_every_format_has_a_platform_card_and_the_grid_edits_and_approves(studio_home, studio_url, page, shared_data,
                                                                            monkeypatch):
    store, ctx, email = seed_account(studio_home, monkeypatch, "Cara Cards")
    rows = pl.read_csv(shared_data / "products_2k.csv", infer_schema_length=0).head(40)
    buf = io.BytesIO()
    rows.write_csv(buf)
    ds = datasets.upload(store, ctx, "products_40.csv", buf.getvalue())
    ids = {}
    for key, templates in FORMATS.items():
        platform, name = key.split("/")
        ids[key] = campaigns.create(store, ctx, f"Cards {key}", ds.id, {"platform": platform, "format": name,
                                                                        "templates": templates, "constraint_strategy": "truncate"})
        campaigns.generate(store, ctx, ids[key])
    from studio.store.campaign_models import Variation

    with store.session_scope(ctx) as s:  # one RSA with a required field emptied: its card must say so
        v = s.query(Variation).filter_by(campaign_set_id=ids["google/responsive_search_ad"], row_index=0).one()
        v.fields = {**v.fields, "headline_2": ""}
    store.dispose()

    sign_in(page, studio_url, email)
    page.get_by_role("link", name="Campaign sets").click()
    for key in FORMATS:
        _pick(page, f"Cards {key}")
        expect(page.get_by_text(re.compile(r"^\d+ variations match"))).to_be_visible()
        page.get_by_role("tab", name="Cards").click()
        card = page.locator(".dc-card").first
        expect(card).to_be_visible()
        expect(card.locator(".dc-counters")).to_be_visible()
        if key == "google/responsive_search_ad":
            expect(page.get_by_text("missing: Headline 2").first).to_be_visible()
        page.wait_for_timeout(500)
        page.locator('[data-testid="stTabs"]').screenshot(path=str(shot_path(f"40-cards-{key.replace('/', '-')}")))
    _pick(page, "Cards google/responsive_search_ad")
    page.get_by_role("tab", name="Grid").click()
    expect(page.locator('[data-testid="stDataFrame"]').first).to_be_visible()
    page.wait_for_timeout(1500)
    shot(page, "41-grid-rsa")


def shot_path(name: str):
    from tests.e2e.conftest import ARTIFACTS

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / f"{name}.png"
