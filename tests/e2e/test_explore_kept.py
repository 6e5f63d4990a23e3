"""In a real browser: a result run in Explore is still there after a reload, and notebooks have names."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import shot, sign_up

pytestmark = pytest.mark.browser
QUERY = "SELECT category, count(*) AS products\nFROM demo_products\nGROUP BY 1 ORDER BY 2 DESC"


def test_a_result_survives_a_reload_and_notebooks_are_named(studio_url, page):
    sign_up(page, studio_url, "Kim Keeper", demo=True)
    page.get_by_role("link", name="Explore").click()
    expect(page.get_by_text("This notebook is empty")).to_be_visible()

    page.get_by_role("button", name="New notebook").click()
    page.get_by_label("Name", exact=True).fill("Categories")
    page.get_by_role("button", name="Create notebook").click()
    expect(page.get_by_role("combobox", name="Notebook")).to_have_value("Categories · 0 cells")

    page.get_by_role("button", name="SQL cell").click()
    sql = page.locator("textarea").first
    expect(sql).to_have_value("SELECT *\nFROM demo_products\nLIMIT 100", timeout=20_000)
    sql.fill(QUERY)
    sql.press("Control+Enter")
    page.get_by_role("button", name="Run").first.click()
    expect(page.get_by_text("rows · ").first).to_be_visible(timeout=20_000)

    page.reload()
    expect(page.get_by_role("combobox", name="Notebook")).to_have_value("Categories · 1 cell")
    expect(page.get_by_text("Kept from the run of")).to_be_visible()
    expect(page.get_by_text("rows · ").first).to_be_visible()
    expect(page.get_by_text("Stale")).to_have_count(0)
    page.wait_for_timeout(800)
    shot(page, "24-explore-kept-after-reload")

    page.locator("textarea").first.fill(QUERY.replace("DESC", "ASC"))
    page.locator("textarea").first.press("Control+Enter")
    expect(page.get_by_text("the cell changed since this ran")).to_be_visible()
    page.wait_for_timeout(500)
    shot(page, "25-explore-stale")
    page.get_by_role("button", name="Run again").click()
    expect(page.get_by_text("the cell changed since this ran")).to_have_count(0)
