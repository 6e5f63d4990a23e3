"""Paging a set page by page shows every variation exactly once, in order, in every sort: the back half
of a set is read from its end (a fast last page), and must agree with reading from the start."""

from __future__ import annotations

import uuid

import pytest

from studio import auth, campaigns, datasets, review, variations
from studio.context import Context
from studio.variations import VariationFilter

ROWS = 23
CSV = ("name,price\n" + "".join(f"{('Boot', 'Shoe', 'Sock')[i % 3]},{10 + i % 4}\n" for i in range(ROWS))).encode()
CONFIG = {"platform": "reddit", "format": "thread",
          "templates": {"subreddit": "deals", "title": "{{ name }} {{ angle }}", "body": "${{ price }}"},
          "variation_sources": {"angle": ["now", "today"]}}


@pytest.fixture()
def big_set(sqlite_store, monkeypatch):
    monkeypatch.setenv("DOTORO_HOME", str(sqlite_store.settings.home))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    account, ws = auth.sign_up(sqlite_store, f"p{uuid.uuid4().hex[:6]}@example.com", "Pa", "longenough")
    ctx = Context(user_id=account.id, workspace_id=ws)
    ds = datasets.upload(sqlite_store, ctx, "items.csv", CSV)
    set_id = campaigns.create(sqlite_store, ctx, "set", ds.id, CONFIG)
    campaigns.generate(sqlite_store, ctx, set_id)
    review.set_status(sqlite_store, ctx, set_id, "approved", f=VariationFilter(search="Sock"))  # status ties too
    return sqlite_store, ctx, set_id


@pytest.mark.parametrize("sort", ["row", "title", "status"])
@pytest.mark.parametrize("size", [1, 5, 7, 46])
def test_pages_from_either_end_list_every_variation_once_in_order(big_set, sort, size):
    store, ctx, set_id = big_set
    f = VariationFilter(sort=sort)
    whole = variations.page(store, ctx, set_id, f, offset=0, limit=1000)
    assert whole.total == ROWS * 2
    paged = []
    for offset in range(0, whole.total, size):
        page = variations.page(store, ctx, set_id, f, offset=offset, limit=size)
        assert page.total == whole.total and len(page.rows) == min(size, whole.total - offset)
        paged += page.rows
    assert [r["id"] for r in paged] == [r["id"] for r in whole.rows]
    if sort == "title":
        titles = [r["title"] for r in paged]
        assert titles == sorted(titles)


def test_a_page_past_the_end_is_empty_and_keeps_the_total(big_set):
    store, ctx, set_id = big_set
    page = variations.page(store, ctx, set_id, VariationFilter(), offset=ROWS * 2 + 10, limit=10)
    assert page.rows == [] and page.total == ROWS * 2
