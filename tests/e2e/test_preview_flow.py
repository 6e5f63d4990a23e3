"""In a real browser: demo data → preview figures change when a rule is added → generate → campaign set."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import shot, sign_up

pytestmark = pytest.mark.browser
RULE = ('[{"id": "r1", "name": "No sale", "enabled": true, "priority": 1, "conditions": {"logic": "and", '
        '"items": [{"field": "sale_price", "operator": "is_empty"}]}, "actions": [{"type": "skip", "params": {}}]}, '
        '{"id": "r2", "name": "Sale tag", "enabled": true, "priority": 2, "conditions": {"logic": "and", "items": []}, '
        '"actions": [{"type": "add_tag", "params": {"tag": "on sale"}}]}]')


def test_preview_rule_generate(studio_url, page):
    sign_up(page, studio_url, "Pia Preview", demo=True)
    page.get_by_role("link", name="Preview", exact=True).click()
    skipped = page.locator('[data-testid="stMetric"]').filter(has_text="Skipped by rules")
    expect(skipped).to_contain_text("0")
    expect(page.get_by_text("Open-Back 600 in Toronto — now 274.9")).to_be_visible()
    page.wait_for_timeout(500)
    shot(page, "10-preview")
    page.get_by_label("Rules", exact=True).click()  # rule sets come from the Rules page; JSON can be pasted
    page.get_by_role("option", name="Rules as JSON (paste)").click()
    page.get_by_label("Rules as JSON").fill(RULE)
    page.get_by_label("Rules as JSON").press("Control+Enter")
    expect(skipped).to_contain_text("26")
    expect(page.get_by_text("rules: Sale tag").first).to_be_visible()  # each card names the rules that fired
    page.wait_for_timeout(500)
    shot(page, "10b-preview-rules")
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_role("heading", name="Campaign sets").first).to_be_visible()
    expect(page.get_by_text("34 variations match")).to_be_visible()
    page.wait_for_timeout(800)
    shot(page, "11-campaign-set")
