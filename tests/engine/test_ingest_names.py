"""Ingest: header names become unique snake_case column names, and the originals are kept."""

from __future__ import annotations

import pytest

from engine.ingest import ingest, snake_case, unique_names

# ---------------------------------------------------------------------------------------------
# Header names

@pytest.mark.parametrize(("header", "expected"), [
    ("Product Name", "product_name"),
    ("Price (USD)", "price_usd"),
    ("Zürich Pop.", "zurich_pop"),
    ("Straße", "strasse"),
    ("  spaced   out  ", "spaced_out"),
    ("2024 Sales", "col_2024_sales"),
    ("productName", "product_name"),
    ("HTTPStatus", "http_status"),
    ("ID", "id"),
    ("already_snake", "already_snake"),
    ("Discount %", "discount_pct"),
    ("Item #", "item_num"),
    ("R&D", "r_and_d"),
    ("Цена", "цена"),
    ("---", ""),
    ("", ""),
    ("x" * 80, "x" * 63),
])
def test_snake_case(header: str, expected: str) -> None:
    assert snake_case(header) == expected


@pytest.mark.parametrize(("headers", "expected"), [
    (["Name", "name", "NAME"], ["name", "name_2", "name_3"]),
    (["a", "", "b", ""], ["a", "column_2", "b", "column_4"]),
    (["a", "a", "a_2"], ["a", "a_3", "a_2"]),
    (["column_2", ""], ["column_2", "column_2_2"]),
    (["Price", "price ", "Price!"], ["price", "price_2", "price_3"]),
])
def test_unique_names(headers: list[str], expected: list[str]) -> None:
    names, notes = unique_names(headers)
    assert names == expected
    assert len(set(names)) == len(names)
    assert notes


def test_duplicate_and_blank_headers_in_a_file() -> None:
    result = ingest(b"Name,name,,Price (USD)\nA,B,C,1\n", "a.csv")
    assert [(c.name, c.original_name) for c in result.columns] == [
        ("name", "Name"), ("name_2", "name"), ("column_3", ""), ("price_usd", "Price (USD)")]
    assert any("name_2" in w for w in result.warnings)
    assert any("column_3" in w for w in result.warnings)
