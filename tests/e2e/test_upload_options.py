"""In a real browser: a nested JSON upload with reading options, and how typed columns were written; screenshots."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import shot, sign_up

pytestmark = pytest.mark.browser

RECORDS = [{"item": {"brand": b, "price": p, "launch": d}, "share": s, "tags": t}
           for b, p, d, s, t in [("Nike", "$1,299.00", "Jan 15, 2024", "50%", ["run", "road"]),
                                 ("Puma", "$89.50", "15 March 2024", "12.5%", ["trail"])]]


def test_nested_json_with_options_shows_dotted_typed_columns(studio_url, page, tmp_path):
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(RECORDS))
    sign_up(page, studio_url, "Nora Nested")
    page.get_by_role("link", name="Data sources").click()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(path))
    expect(page.get_by_text("Flatten nested objects to depth")).to_be_visible()
    page.get_by_text("Also keep formatted values as written").click()
    page.wait_for_timeout(500)
    shot(page, "upload-options-json")
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.get_by_text("Uploaded 'catalog': 2 rows")).to_be_visible()
    page.wait_for_timeout(800)
    shot(page, "upload-options-columns")
