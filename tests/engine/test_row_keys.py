"""Row identity: which column is detected as the key, and the empty/repeated keys reported per version."""

from __future__ import annotations

import polars as pl
import pytest

from engine.row_keys import KeyReport, detect_key_column, key_report


@pytest.mark.parametrize(("columns", "expected"), [
    (["name", "id", "sku"], "id"),
    (["title", "sku", "item_id"], "sku"),
    (["title", "item_id"], "item_id"),
    (["g_id", "title", "price"], "g_id"),
    (["product_id", "name"], "product_id"),
    (["name", "identifier", "ids"], None),
    ([], None),
])
def test_detected_key_column(columns, expected):
    assert detect_key_column(columns) == expected


def test_empty_and_repeated_keys_are_counted_with_samples():
    table = pl.DataFrame({"sku": ["a", "b", "a", None, "  ", "c", "c", "c", "d"]})
    report = key_report(table, "sku")
    assert (report.empty_rows, report.duplicate_keys, report.duplicate_rows) == (2, 2, 5)
    assert report.empty_samples == (4, 5)
    assert report.duplicate_samples == (("c", 3), ("a", 2))
    assert not report.clean
    assert "rows 4, 5" in report.summary() and "'c' ×3" in report.summary()
    assert KeyReport.from_dict(report.to_dict()) == report


def test_numbers_and_text_of_one_key_are_one_key_and_a_clean_key_says_so():
    assert key_report(pl.DataFrame({"id": [1, 2, 3]}), "id").clean
    assert key_report(pl.DataFrame({"id": [1, 2, 3]}), "id").summary() == "Every row has its own 'id'."
    missing = key_report(pl.DataFrame({"id": [1]}), "sku")
    assert missing.missing and "pick another key column" in missing.summary()
