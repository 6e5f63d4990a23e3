"""In a real browser: a new version of a set's data set shows its diff (counts, samples by field) before
anything changes; Apply writes it; a conflicting hand edit is settled with Take new.

Screenshots land in tests/artifacts/: 60-diff-review.png (before), 61-diff-applied.png (after, conflict open).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from studio import campaigns, datasets, review
from studio.store.campaign_models import Variation
from tests.e2e.conftest import seed_account, shot, sign_in
from tests.studio.test_set_follow import CONFIG, V1, csv, v2_rows

pytestmark = pytest.mark.browser


def test_the_diff_is_reviewed_then_applied_and_a_conflict_taken_new(studio_home, studio_url, page, monkeypatch):
    store, ctx, email = seed_account(studio_home, monkeypatch, "Fiona Follow")
    ds = datasets.upload(store, ctx, "feed.csv", csv(V1))
    set_id = campaigns.create(store, ctx, "Following the feed", ds.id, CONFIG)
    campaigns.generate(store, ctx, set_id)  # in this process: no job thread here
    with store.session_scope(ctx) as s:
        edited = s.scalar(select(Variation.id).where(Variation.campaign_set_id == set_id, Variation.row_key == "s02"))
    review.edit(store, ctx, edited, {"title": "My own words for item two"})
    datasets.replace(store, ctx, ds.id, "feed.csv", csv(v2_rows()))  # the diff is made here, waiting for review
    store.dispose()

    sign_in(page, studio_url, email)
    page.get_by_role("link", name="Campaign sets").click()
    expect(page.get_by_text(re.compile(r"Data changes · version 2 waits for review"))).to_be_visible()
    expect(page.get_by_text("Version 1 → 2 waits for review.")).to_be_visible()
    expect(page.get_by_text(re.compile(r"Changed rows by field: .*title.* 1"))).to_be_visible()
    page.get_by_role("tab", name="Changed (2)").click()
    expect(page.get_by_role("tab", name="Added (2)")).to_be_visible()
    grids = page.locator('[data-testid="stDataFrame"]')  # our columns' labels, not their ids
    expect(grids.filter(has_text="Row key").filter(has_text="Before")).to_have_count(1)
    page.wait_for_timeout(800)
    shot(page, "60-diff-review")

    page.get_by_role("button", name="Apply", exact=True).click()
    expect(page.get_by_text(re.compile(r"Written: 2 new, 1 re-rendered, 5 moved or restored, 2 paused, 0 scheduled items cancelled, 1 conflict\."))).to_be_visible(timeout=90_000)
    expect(page.get_by_text("1 hand edit conflict with the new data: keep yours or take the new text.")).to_be_visible()
    page.wait_for_timeout(800)
    shot(page, "61-diff-applied")
    page.get_by_role("button", name="Take new").click()
    expect(page.get_by_text("1 hand edit conflict")).to_have_count(0)
