"""In a real browser, embedded mode: Regenerate returns at once, the run's 100,000 rows are generated on the
server's worker thread, and the progress bar moves while the user is on another page and back."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from studio import campaigns, datasets
from tests.e2e.conftest import seed_account, shot, sign_in

pytestmark = pytest.mark.browser
ROWS = 100_000
CONFIG = {"platform": "reddit", "format": "thread",
          "templates": {"subreddit": "deals", "title": "{{ name }} in {{ city }} for {{ price }}",
                        "body": "Only {{ price }} in {{ city }}."}}
PROGRESS = re.compile(r"(Queued…|Generating…|Done) ([\d,]+) / 100,000 rows")


def _rows_done(page) -> tuple[str, int] | None:
    for text in page.get_by_text(PROGRESS).all_inner_texts():
        if m := PROGRESS.search(text):
            return m.group(1), int(m.group(2).replace(",", ""))
    return None


def _wait_for_more(page, than: int, tries: int = 600) -> tuple[str, int]:
    """The bar's next reading above `than` (polls the page, not the clock: a busy machine just waits longer)."""
    for _ in range(tries):
        seen = _rows_done(page)
        if seen is not None and (seen[1] > than or seen[0] == "Done"):
            return seen
        page.wait_for_timeout(200)
    raise AssertionError(f"the progress bar stayed at {than:,} rows")


def test_a_100k_run_generates_in_the_background_while_navigating(studio_home, studio_url, page, monkeypatch):
    store, ctx, email = seed_account(studio_home, monkeypatch, "Bea Background")
    csv = "name,price,city\n" + "".join(f"Item {i},{i % 500},City {i % 37}\n" for i in range(ROWS))
    ds = datasets.upload(store, ctx, "big.csv", csv.encode(), name="Big catalogue")
    campaigns.create(store, ctx, "Big threads", ds.id, CONFIG)
    store.dispose()

    sign_in(page, studio_url, email)
    page.get_by_role("link", name="Campaign sets").click()
    expect(page.get_by_text("Not generated yet.")).to_be_visible()
    page.get_by_role("button", name="Regenerate").click()
    expect(page.get_by_text(PROGRESS)).to_be_visible()
    first = _rows_done(page)
    assert first is not None and first[0] != "Done", "the click returned before the run was done"

    readings = [first[1]]
    moving = _wait_for_more(page, readings[-1])
    readings.append(moving[1])
    if moving[0] != "Done":
        page.wait_for_timeout(300)
        shot(page, "50-embedded-progress")

    page.get_by_role("link", name="Explore").click()  # elsewhere while it runs
    expect(page.get_by_text("Tables you can query")).to_be_visible()
    page.get_by_role("link", name="Campaign sets").click()
    back = _wait_for_more(page, readings[-1])
    readings.append(back[1])
    while back[0] != "Done":
        back = _wait_for_more(page, readings[-1])
        readings.append(back[1])
    assert readings == sorted(readings) and readings[-1] == ROWS
    assert len({r for r in readings if 0 < r < ROWS}) >= 1, f"the bar moved through the run: {readings}"
    expect(page.get_by_text("Done 100,000 / 100,000 rows")).to_be_visible()
    # the panel reran the page once when the run ended (then stopped polling): the list below shows the rows
    expect(page.get_by_text(re.compile(r"^100,000 variations match"))).to_be_visible()
    page.wait_for_timeout(500)
    shot(page, "51-embedded-done")
