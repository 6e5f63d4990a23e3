"""In a real browser: a run whose worker died says so on Campaign sets, and Resume finishes it."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from studio import campaigns, datasets
from tests.e2e.conftest import seed_account, shot, sign_in
from tests.runs import stall_latest_run

pytestmark = pytest.mark.browser
DEMO = Path(__file__).resolve().parents[2] / "studio" / "demo" / "reddit_threads_sample.csv"
CONFIG = {"platform": "reddit", "format": "thread",
          "templates": {"subreddit": "{{ subreddit }}", "title": "{{ product_name }} in {{ city }}",
                        "body": "{{ product_name }}: {{ highlight }}, now {{ sale_price }}"}}


def test_a_stalled_run_is_flagged_and_resumed(studio_home, studio_url, page, monkeypatch):
    store, ctx, email = seed_account(studio_home, monkeypatch, "Sam Stalled")
    ds = datasets.upload(store, ctx, DEMO.name, DEMO.read_bytes(), name="Demo products")
    set_id = campaigns.create(store, ctx, "Stalled threads", ds.id, CONFIG)
    campaigns.generate(store, ctx, set_id)
    stall_latest_run(store, ctx, set_id, campaigns.STALL_AFTER + dt.timedelta(minutes=4))
    store.dispose()

    sign_in(page, studio_url, email)
    page.get_by_role("link", name="Campaign sets").click()
    expect(page.get_by_text("No progress for 7 minutes")).to_be_visible()
    picker = page.get_by_role("combobox", name="Campaign set")
    expect(picker).to_have_value("Stalled threads · Reddit thread")
    expect(page.get_by_text("Generating · 60 variations")).to_be_visible()
    page.wait_for_timeout(800)
    shot(page, "13-stalled-run")
    page.get_by_role("button", name="Resume generation").click()
    expect(page.get_by_text("Queued 1 unfinished chunk again")).to_be_visible()
    page.reload()
    expect(page.get_by_text("60 variations match")).to_be_visible()
    expect(page.get_by_text("Ready · 60 variations")).to_be_visible()
    expect(page.get_by_text(re.compile(r"Took \d+ min \d+ s"))).to_be_visible()  # the stall counts, in minutes
    expect(page.get_by_text("No progress for")).to_have_count(0)
    page.wait_for_timeout(800)
    shot(page, "13b-resumed-run")
