"""In a real browser: the Templates page renders a title live; the Rules page imports rules and tests them."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import shot, sign_up

pytestmark = pytest.mark.browser
RULES = [
    {"id": "r1", "name": "No sale price", "conditions": {"logic": "and", "items": [
        {"field": "sale_price", "operator": "is_empty"}]}, "actions": [{"type": "skip", "params": {}}]},
    {"id": "r2", "name": "Premium headphones", "conditions": {"logic": "and", "items": [
        {"field": "category", "operator": "equals", "value": "headphones"},
        {"logic": "or", "items": [{"field": "price", "operator": "greater_than", "value": 300},
                                  {"field": "in_stock", "operator": "equals", "value": True}]}]},
     "actions": [{"type": "set_field", "params": {"field": "flair", "value": "Premium {{ flair }}"}},
                 {"type": "add_tag", "params": {"tag": "premium"}}]},
]


@pytest.fixture()
def editor_url(studio_url: str) -> str:
    return studio_url


def _sign_up_with_demo(page, url: str) -> None:
    sign_up(page, url, "Eddie Editor", demo=True)


def _top(page) -> None:
    """Scroll Streamlit's inner containers back to the top (a full-page shot only sees the viewport)."""
    page.wait_for_timeout(600)
    page.evaluate("for (const el of document.querySelectorAll('*')) { if (el.scrollTop > 0) el.scrollTop = 0; }")
    page.wait_for_timeout(300)


def test_template_and_rule_editors(editor_url, page):
    page.set_viewport_size({"width": 1400, "height": 2400})
    _sign_up_with_demo(page, editor_url)
    page.get_by_role("link", name="Templates").click()
    expect(page.get_by_role("heading", name="Templates").first).to_be_visible()
    title = page.get_by_label("Title *")
    title.fill("{{ product_name }} in {{ city }} — now {{ sale_price or price }}")
    title.press("Control+Enter")
    expect(page.get_by_text("Open-Back 600 in Toronto — now 274.9").first).to_be_visible()
    body = page.get_by_label("Body")
    body.fill("We tried the **{{ product_name }}** ({{ category }}) — see r/{{ subreddit }}.\n\n"
              "- {{ highlight | default('Worth a look') | capitalize }}\n- <b>raw html stays text</b>, $5 and :red[no]")
    body.press("Control+Enter")
    expect(page.get_by_text("raw html stays text").first).to_be_visible()
    page.get_by_label("Flair text").fill("{{ flare }}")
    page.get_by_label("Flair text").press("Enter")
    expect(page.get_by_text("did you mean").first).to_be_visible()
    _top(page)
    shot(page, "30-templates")

    page.get_by_role("link", name="Rules").click()
    expect(page.get_by_role("heading", name="Rules").first).to_be_visible()
    page.get_by_text("Import / export JSON").click()
    page.get_by_label("Paste rules JSON to import").fill(json.dumps(RULES))
    page.get_by_label("Paste rules JSON to import").press("Control+Enter")
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_text("Imported 2 rules into the builder").first).to_be_visible()
    expect(page.get_by_text("Matches 26 of 60 rows").first).to_be_visible()
    page.get_by_text("Import / export JSON").click()
    _top(page)
    shot(page, "31-rules")
