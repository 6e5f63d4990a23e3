"""In a real browser: demo data → Explore → a SQL cell and a group-by cell run, with a chart; screenshots."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import shot, sign_up

pytestmark = pytest.mark.browser
QUERY = "SELECT category, count(*) AS products, round(avg(price), 2) AS avg_price\nFROM demo_products\nGROUP BY 1 ORDER BY 2 DESC"


@pytest.fixture()
def explore_url(studio_url: str) -> str:
    return studio_url


def _sign_up_with_demo(page: Page, url: str) -> None:
    sign_up(page, url, "Erin Explorer", demo=True)


def test_explore_sql_and_group_by_cells(explore_url, page):
    _sign_up_with_demo(page, explore_url)
    page.get_by_role("link", name="Explore").click()
    expect(page.get_by_text("This notebook is empty")).to_be_visible()
    page.wait_for_timeout(400)
    shot(page, "20-explore-empty")

    page.get_by_role("button", name="Markdown cell").click()
    editor = page.locator("textarea").first
    editor.fill("## Products per category\nHow many products each category holds, and their average price.")
    page.get_by_role("button", name="Done").click()
    expect(page.get_by_role("heading", name="Products per category")).to_be_visible()

    page.get_by_role("button", name="SQL cell").click()
    sql = page.locator("textarea").first
    expect(sql).to_have_value("SELECT *\nFROM demo_products\nLIMIT 100", timeout=20_000)  # a busy CI machine
    sql.fill(QUERY)
    sql.press("Control+Enter")
    page.get_by_role("button", name="Run").first.click()
    expect(page.get_by_text("rows · ").first).to_be_visible(timeout=20_000)

    page.get_by_role("button", name="Group by cell").click()
    expect(page.get_by_text("[3] Group by")).to_be_visible()
    page.get_by_role("button", name="Run").last.click()
    expect(page.get_by_text("rows · ")).to_have_count(2, timeout=20_000)
    page.wait_for_timeout(800)
    shot(page, "21-explore-cells")

    page.get_by_role("tab", name="Chart").first.click()
    expect(page.locator('[data-testid="stVegaLiteChart"]').first).to_be_visible()
    page.wait_for_timeout(800)
    shot(page, "22-explore-chart")

    sql = page.locator("textarea").first
    sql.fill("SELECT *\nFROM read_csv('/etc/passwd')")
    sql.press("Control+Enter")
    page.get_by_role("button", name="Run").first.click()
    expect(page.get_by_text("cannot read files, URLs or other databases")).to_be_visible(timeout=20_000)
    page.get_by_text("Tables you can query").click()
    page.wait_for_timeout(500)
    shot(page, "23-explore-error")
