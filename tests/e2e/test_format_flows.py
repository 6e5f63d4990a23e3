"""In a real browser, per format family: upload products_2k.csv → a template → preview → generate → the set
holds what the preview promised → export a file whose required columns are filled (AD_BULK_FORMATS.md)."""

from __future__ import annotations

import csv
import io
import re

import pytest
from playwright.sync_api import expect

from studio import templates
from tests.e2e.conftest import seed_account, shot, sign_in

pytestmark = pytest.mark.browser

# family → (format key, format label, template fields, strategy, export label, required export columns of an ad row)
FLOWS = {
    "reddit-thread": ("reddit/thread", "Reddit thread",
                      {"subreddit": "{{ category }}", "title": "{{ product_name }} — only ${{ price }}",
                       "body": "{{ description }}", "url": "{{ url }}"},
                      "skip", "CSV", ("subreddit", "title")),
    "reddit-link-ad": ("reddit/link_ad", "Reddit link ad",
                       {"headline": "{{ product_name }}: {{ description }}", "destination_url": "{{ url }}",
                        "call_to_action": "Shop Now"},
                       "truncate", "CSV", ("headline", "destination_url")),
    "google-rsa": ("google/responsive_search_ad", "Google responsive search ad",
                   {"headline_1": "{{ product_name }}", "headline_2": "From ${{ price }}", "headline_3": "Shop {{ category }}",
                    "description_1": "{{ description }} {{ description }}", "description_2": "Free returns on {{ category }}.",
                    "final_url": "{{ url }}"},
                   "truncate", "Google Ads Editor (CSV)",
                   ("Campaign", "Ad group", "Headline 1", "Headline 2", "Headline 3", "Description 1", "Description 2",
                    "Final URL")),
    "meta-feed": ("meta/feed_ad", "Meta feed ad",
                  {"primary_text": "{{ description }}", "headline": "{{ product_name }}", "description": "Only ${{ price }}",
                   "link": "{{ url }}", "call_to_action": "SHOP_NOW"},
                  "truncate", "Meta Ads Manager bulk import (CSV)",
                  ("Campaign Name", "Ad Set Name", "Ad Name", "Title", "Body", "Link")),
}


def _pick(page, label: str, text: str) -> None:
    page.get_by_role("combobox", name=label).click()
    page.keyboard.type(text)
    page.keyboard.press("Enter")
    page.wait_for_timeout(600)


def _metric(page, label: str) -> int:
    box = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    expect(box).to_be_visible()
    value = box.locator('[data-testid="stMetricValue"]').inner_text()
    return int(re.sub(r"[^\d]", "", value))


# What a person must give before a Meta file imports (no default can guess them): the Page and an image.
META_SETTINGS = {"Facebook Page *": "o:123456789", "Image file name": "shoes_1x1.jpg"}


@pytest.mark.parametrize("family", list(FLOWS))
def test_upload_preview_generate_export(family, studio_home, studio_url, page, shared_data, monkeypatch):
    key, label, fields, strategy, export, required = FLOWS[family]
    store, ctx, email = seed_account(studio_home, monkeypatch, f"Flo {family}")
    templates.create_template(store, ctx, f"E2E {family}", key, fields)
    store.dispose()

    sign_in(page, studio_url, email)
    page.get_by_role("link", name="Data sources").click()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(shared_data / "products_2k.csv"))
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.get_by_text(re.compile(r"Uploaded 'products_2k': 2,000 rows"))).to_be_visible()

    page.get_by_role("link", name="Preview").click()
    _pick(page, "Format", label)
    expect(page.get_by_role("combobox", name="Template")).to_have_value(re.compile(f"^E2E {family}"))
    page.get_by_text(strategy, exact=True).click()
    page.wait_for_timeout(1500)
    if family == "meta-feed":
        page.get_by_text("Campaign structure").click()
        for field, value in META_SETTINGS.items():
            box = page.get_by_label(field, exact=True)
            box.fill(value)
            box.press("Enter")
            page.wait_for_timeout(800)
    expect(page.locator(".dc-card").first).to_be_visible()
    kept = _metric(page, "Variations")
    assert kept > 0
    shot(page, f"42-flow-{family}-preview")

    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_role("heading", name="Campaign sets").first).to_be_visible()
    expect(page.get_by_text(f"{kept:,} variation{'s match' if kept != 1 else ' matches'}")).to_be_visible(timeout=60_000)
    expect(page.get_by_text(f"Ready · {kept:,} variations")).to_be_visible()
    page.get_by_text(export, exact=True).click()
    page.get_by_role("button", name="Prepare export").click()
    download = page.get_by_role("button", name=f"Download {export}", exact=True)
    refused = page.locator('[data-testid="stAlertContentError"]')
    expect(download.or_(refused).first).to_be_visible()
    assert not refused.count(), f"export refused: {refused.first.inner_text()[:600]}"
    with page.expect_download() as info:
        download.click()
    data = info.value.path().read_bytes().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(data)))
    ads = [r for r in rows if r.get("Ad type", "Responsive search ad") == "Responsive search ad"]
    assert len(ads) == kept
    empty = {c: sum(1 for r in ads if not (r.get(c) or "").strip()) for c in required}
    assert not any(empty.values()), f"required columns left empty: {empty}"
    shot(page, f"42-flow-{family}-set")
