"""Aggregates over the whole data set (issue 19 item 4) through the studio: the preview's figures count the
rows that rules skip because of a group's size over every row, and equal the set the workers generate chunk by
chunk; "Test on data" on the Rules page counts the same rows."""

from __future__ import annotations

import io
from typing import Any

import polars as pl
import pytest

from studio import datasets, previews, rule_sets
from studio.errors import ValidationFailed
from tests.studio.test_preview_equals_generated import CARDS, CHUNK_ROWS, check_preview_equals_generated
from tests.studio.test_preview_equals_generated import embedded as embedded  # noqa: F401  (the fixture)

SMALL_CATEGORY = {"id": "small", "name": "Skip small categories", "enabled": True, "priority": 1,
                  "conditions": {"logic": "and", "items": [
                      {"field": "category_count", "operator": "less_than", "value": 3}]},
                  "actions": [{"type": "skip", "params": {}}]}
AGGREGATES = [{"name": "category_count", "agg": "count", "by": ["category"]},
              {"name": "category_min_price", "agg": "min", "of": "price", "by": ["category"]}]


def feed(rows: int = 90) -> tuple[bytes, int]:
    """Categories c0…c29 hold 3 rows each, spread over the whole feed (rows i, i+30, i+60); the last 20 rows are
    left out of some, so their first rows — in the preview's first page — belong to categories of 2."""
    names, categories, prices = [], [], []
    for i in range(rows):
        names.append(f"item {i}")
        categories.append(f"c{i % 30}")
        prices.append(float(i % 30) + i // 30 * 0.5)
    frame = pl.DataFrame({"name": names, "category": categories, "price": prices})
    frame = frame.filter(~((pl.int_range(pl.len()) >= 60) & (pl.int_range(pl.len()) < 80)))  # c0…c19 lose a row
    buf = io.BytesIO()
    frame.write_csv(buf)
    small = 20 * 2  # c0…c19 now hold 2 rows each: both skipped
    return buf.getvalue(), small


CONFIG: dict[str, Any] = {
    "platform": "reddit", "format": "thread", "rules": [SMALL_CATEGORY], "aggregates": AGGREGATES,
    "templates": {"subreddit": "deals", "title": "{{ name }}: {{ category }} from ${{ category_min_price }}"},
}


def test_preview_counts_aggregate_skips_over_every_row_and_equals_the_generated_set(embedded) -> None:  # noqa: F811
    store, ctx = embedded
    data, small = feed()
    assert CARDS < 70 and CHUNK_ROWS < 70  # the first page and each chunk see a part of the feed only
    checked = check_preview_equals_generated(store, ctx, data, CONFIG)
    figures = checked.figures
    assert (figures["rows"], figures["skipped"], figures["kept"]) == (70, small, 70 - small)
    first = previews.run_preview(store, ctx, checked.dataset_id, CONFIG, limit=3).preview.variations
    assert first["title"].to_list() == ["item 20: c20 from $20.0", "item 21: c21 from $21.0",
                                        "item 22: c22 from $22.0"]  # c0…c19 are skipped: 2 rows each


def test_rules_page_test_on_data_counts_with_the_aggregates(embedded) -> None:  # noqa: F811
    store, ctx = embedded
    data, small = feed()
    ds = datasets.upload(store, ctx, "feed.csv", data)
    result = rule_sets.test_on_data(store, ctx, ds.id, [SMALL_CATEGORY], AGGREGATES)
    assert result.row_count == 70
    assert result.counts["small"] == small
    assert result.schema["category_count"] == "integer"
    with pytest.raises(Exception, match="unknown column|category_count"):
        rule_sets.test_on_data(store, ctx, ds.id, [SMALL_CATEGORY])  # without them the column does not exist


@pytest.mark.parametrize(("aggregates", "message"), [
    ([{"name": "price", "agg": "count"}], "same name as a column"),
    ([{"name": "x", "agg": "sum", "of": "category"}], "sum needs a number column, but 'category' holds text"),
])
def test_bad_aggregates_are_refused_in_words(embedded, aggregates: list[dict[str, Any]], message: str) -> None:  # noqa: F811
    store, ctx = embedded
    ds = datasets.upload(store, ctx, "feed.csv", feed()[0])
    with pytest.raises(Exception, match=message) as caught:
        previews.run_preview(store, ctx, ds.id, {**CONFIG, "rules": [], "aggregates": aggregates})
    assert not isinstance(caught.value, ValidationFailed) or "failed" not in str(caught.value)


def test_a_set_whose_aggregates_do_not_fit_its_data_is_refused_at_creation(embedded) -> None:  # noqa: F811
    from studio import campaigns

    store, ctx = embedded
    ds = datasets.upload(store, ctx, "feed.csv", feed()[0])
    bad = {**CONFIG, "aggregates": [{"name": "x", "agg": "min", "of": "prices"}]}
    with pytest.raises(ValidationFailed, match="reads column 'prices', which the data set does not have; did you mean "
                                               "'price'"):
        campaigns.create(store, ctx, "bad", ds.id, bad)
    with pytest.raises(ValidationFailed, match="unknown aggregate 'median'"):
        campaigns.create(store, ctx, "bad", ds.id, {**CONFIG, "aggregates": [{"name": "x", "agg": "median"}]})
    assert campaigns.create(store, ctx, "good", ds.id, CONFIG)
