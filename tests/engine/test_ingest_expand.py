"""Nested lists expanded to one row per item (upload option arrays="expand"), bounded and reported."""

from __future__ import annotations

import io
import json
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engine import budgets
from engine import ingest_nested as nested
from engine.ingest import IngestError, IngestOptions, ingest
from engine.rules import Action
from tests.engine.test_rules_helpers import one_rule, run_both

EXPAND = IngestOptions(arrays="expand")

# (id, records, expected rows)
CASES: list[tuple[str, list[dict[str, Any]], list[dict[str, Any]]]] = [
    ("scalars", [{"id": 1, "tags": ["run", "road"]}, {"id": 2, "tags": ["trail"]}],
     [{"id": 1, "tags": "run"}, {"id": 1, "tags": "road"}, {"id": 2, "tags": "trail"}]),
    ("objects_flatten_under_the_list_name", [{"id": 1, "variants": [{"sku": "A1", "qty": 2}, {"sku": "B2"}]}],
     [{"id": 1, "variants.sku": "A1", "variants.qty": 2}, {"id": 1, "variants.sku": "B2", "variants.qty": None}]),
    ("two_lists_give_every_combination", [{"c": ["red", "blue"], "s": ["S", "M", "L"]}],
     [{"c": "red", "s": "S"}, {"c": "red", "s": "M"}, {"c": "red", "s": "L"},
      {"c": "blue", "s": "S"}, {"c": "blue", "s": "M"}, {"c": "blue", "s": "L"}]),
    ("an_empty_list_keeps_the_record", [{"id": 1, "tags": []}, {"id": 2, "tags": ["x"]}],
     [{"id": 1, "tags": None}, {"id": 2, "tags": "x"}]),
    ("lists_inside_objects", [{"item": {"brand": "Nike", "sizes": [40, 41]}}],
     [{"item.brand": "Nike", "item.sizes": 40}, {"item.brand": "Nike", "item.sizes": 41}]),
    ("lists_inside_list_items", [{"v": [{"sku": "A", "img": ["a1", "a2"]}, {"sku": "B", "img": ["b1"]}]}],
     [{"v.sku": "A", "v.img": "a1"}, {"v.sku": "A", "v.img": "a2"}, {"v.sku": "B", "v.img": "b1"}]),
    ("a_list_of_lists_keeps_inner_lists_as_json", [{"m": [[1, 2], [3]]}], [{"m": "[1,2]"}, {"m": "[3]"}]),
]


@pytest.mark.parametrize(("records", "expected"), [pytest.param(*c[1:], id=c[0]) for c in CASES])
def test_json_lists_expand_to_one_row_per_item(records: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    result = ingest(json.dumps(records).encode(), "nested.json", options=EXPAND)
    assert result.table.to_dicts() == expected
    grew = [w for w in result.warnings if "expanded" in w]
    assert grew == ([f"Lists were expanded to one row per item: {len(records)} records became {len(expected)} rows."]
                    if len(expected) != len(records) else [])


def _parquet(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def test_parquet_lists_expand_like_json() -> None:
    table = pa.table({
        "id": pa.array([1, 2]),
        "tags": pa.array([["run", "road"], []], pa.list_(pa.string())),
        "variants": pa.array([[{"sku": "A1"}, {"sku": "B2"}], None], pa.list_(pa.struct([("sku", pa.string())]))),
    })
    result = ingest(_parquet(table), "nested.parquet", options=EXPAND)
    assert result.table.to_dicts() == [
        {"id": 1, "tags": "run", "variants.sku": "A1"}, {"id": 1, "tags": "run", "variants.sku": "B2"},
        {"id": 1, "tags": "road", "variants.sku": "A1"}, {"id": 1, "tags": "road", "variants.sku": "B2"},
        {"id": 2, "tags": None, "variants.sku": None}]
    assert "Lists were expanded to one row per item: 2 records became 5 rows." in result.warnings


def test_expansion_is_refused_before_it_builds_too_many_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nested, "MAX_EXPANDED_ROWS", 5)
    records = [{"a": [1, 2]}, {"a": [1, 2], "b": [1, 2]}]  # 2 + 4 rows
    with pytest.raises(IngestError) as caught:
        ingest(json.dumps(records).encode(), "big.json", options=EXPAND)
    assert "more than 5 rows (reached at record 2)" in str(caught.value) and "the limit is 5" in str(caught.value)
    assert ingest(json.dumps(records[:1] * 2).encode(), "ok.json", options=EXPAND).table.height == 4
    parquet = pa.table({"a": pa.array([[1, 2, 3], [4, 5, 6]], pa.list_(pa.int64()))})
    with pytest.raises(IngestError, match="more than 6 rows .*at the list column 'a'.* the limit is 5"):
        ingest(_parquet(parquet), "big.parquet", options=EXPAND)


def test_a_hostile_cross_product_is_counted_cheaply() -> None:
    record = {f"k{i}": list(range(1000)) for i in range(50)}  # 1000**50 rows if anything expanded it
    with pytest.raises(IngestError, match=f"the limit is {budgets.MAX_EXPANDED_ROWS:,}"):
        ingest(json.dumps([record]).encode(), "bomb.json", options=EXPAND)


def test_the_budget_is_listed() -> None:
    assert any(b.name == "MAX_EXPANDED_ROWS" for b in budgets.BUDGETS)


# ---- dotted names in `calculate` rules, on both paths -------------------------------------------

SCHEMA = {"item.pricing.msrp": "decimal", "item.qty": "integer", "item.brand": "text"}
ROWS = [{"item.pricing.msrp": 99.5, "item.qty": 2, "item.brand": "Nike"},
        {"item.pricing.msrp": None, "item.qty": 3, "item.brand": "Puma"}]


@pytest.mark.parametrize(("expression", "expected"), [
    ("item.pricing.msrp * item.qty", [199.0, None]),
    ("round(item.pricing.msrp * 1.2, 1)", [119.4, None]),
    ("row.item.qty + 1", [3.0, 4.0]),
    ('row["item.qty"] * 2', [4.0, 6.0]),
    ("max(item.pricing.msrp, item.qty)", [99.5, 3.0]),
])
def test_calculate_reads_dotted_columns_on_both_paths(expression: str, expected: list[float | None]) -> None:
    rule = one_rule(Action("calculate", {"field": "total", "expression": expression}))
    outcomes = run_both([rule], ROWS, SCHEMA)
    assert [o.row["total"] for o in outcomes] == expected


def test_calculate_writes_a_dotted_column() -> None:
    rule = one_rule(Action("calculate", {"field": "item.pricing.msrp", "expression": "item.pricing.msrp / 2"}))
    assert [o.row["item.pricing.msrp"] for o in run_both([rule], ROWS, SCHEMA)] == [49.75, None]


@pytest.mark.parametrize(("expression", "fragment"), [
    ("item.price * 2", "unknown column 'item.price'; did you mean 'item.pricing.msrp'?"),
    ("item.brand * 2", None),  # a text column reads as its number (null here), as undotted ones do
    ("(1).real", "attribute access"),
])
def test_dotted_names_that_are_no_numeric_column(expression: str, fragment: str | None) -> None:
    rule = one_rule(Action("calculate", {"field": "total", "expression": expression}))
    if fragment is None:
        assert [o.row["total"] for o in run_both([rule], ROWS, SCHEMA)] == [None, None]
        return
    with pytest.raises(Exception, match=fragment.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")):
        run_both([rule], ROWS, SCHEMA)
