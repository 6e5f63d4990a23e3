"""Nested data: JSON and Parquet flatten to dotted columns that templates, rules and group-by address."""

from __future__ import annotations

import io
import json
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.ingest import IngestError, IngestOptions, ingest
from engine.rules import Action, Condition, ConditionGroup
from engine.templates import TemplateError, compile_template, convert_dotoro
from engine.transforms import Aggregation, TransformSpec, group_by
from tests.engine.test_rules_helpers import one_rule, run_both
from tests.engine.test_templates_support import frame, row_outputs, sql_outputs

PRODUCT = {"id": 1, "item": {"brand": "Nike", "pricing": {"msrp": 99.5, "sale": {"pct": 10}}},
           "tags": ["run", "road"], "empty": {}, "sizes": [], "variants": [{"sku": "A1", "qty": 2}, {"sku": "B2"}]}

# (id, records, options, expected {column: value} of row 1)
FLATTEN_CASES: list[tuple[str, list[dict[str, Any]], IngestOptions, dict[str, Any]]] = [
    ("default_depth_3_and_joined_arrays", [PRODUCT], IngestOptions(), {
        "id": 1, "item.brand": "Nike", "item.pricing.msrp": 99.5, "item.pricing.sale": '{"pct":10}',
        "tags": "run, road", "empty": "{}", "sizes": None,
        "variants": '{"sku":"A1","qty":2}, {"sku":"B2"}'}),
    ("depth_1_keeps_objects_as_json", [PRODUCT], IngestOptions(flatten_depth=1), {
        "id": 1, "item": '{"brand":"Nike","pricing":{"msrp":99.5,"sale":{"pct":10}}}', "tags": "run, road",
        "empty": "{}", "sizes": None, "variants": '{"sku":"A1","qty":2}, {"sku":"B2"}'}),
    ("depth_2", [PRODUCT], IngestOptions(flatten_depth=2), {
        "id": 1, "item.brand": "Nike", "item.pricing": '{"msrp":99.5,"sale":{"pct":10}}', "tags": "run, road",
        "empty": "{}", "sizes": None, "variants": '{"sku":"A1","qty":2}, {"sku":"B2"}'}),
    ("deep_enough_flattens_everything", [PRODUCT], IngestOptions(flatten_depth=4, arrays="json"), {
        "id": 1, "item.brand": "Nike", "item.pricing.msrp": 99.5, "item.pricing.sale.pct": 10,
        "tags": '["run","road"]', "empty": "{}", "sizes": "[]", "variants": '[{"sku":"A1","qty":2},{"sku":"B2"}]'}),
    ("custom_separator", [{"tags": ["a", 1, True, None, 2.5]}], IngestOptions(array_separator=" | "),
     {"tags": "a | 1 | true | null | 2.5"}),
    ("first_element_flattens_under_the_array_name", [PRODUCT], IngestOptions(arrays="first"), {
        "id": 1, "item.brand": "Nike", "item.pricing.msrp": 99.5, "item.pricing.sale": '{"pct":10}',
        "tags": "run", "empty": "{}", "sizes": None, "variants.sku": "A1", "variants.qty": 2}),
    ("keys_become_snake_case_per_segment", [{"Item": {"Brand Name": "X", "SKU": "s"}}], IngestOptions(),
     {"item.brand_name": "X", "item.sku": "s"}),
    ("rows_missing_a_nested_key_are_null", [{"a": {"b": 1}}, {"a": {"c": 2}}, {"a": None}], IngestOptions(),
     {"a.b": 1, "a.c": None}),
    ("a_flat_key_with_a_dot_keeps_it", [{"a.b": "x", "c": 1}], IngestOptions(), {"a.b": "x", "c": 1}),
    ("numbers_print_as_javascript_does", [{"n": [1.0, 1e-7, 2.5], "o": {"p": {"q": {"r": 2.0}}}}], IngestOptions(),
     {"n": "1, 1e-7, 2.5", "o.p.q": '{"r":2}'}),
    ("unicode_in_kept_json", [{"m": {"k": {"v": "ü"}}}], IngestOptions(flatten_depth=2), {"m.k": '{"v":"ü"}'}),
]


@pytest.mark.parametrize(("records", "options", "expected"), [pytest.param(*c[1:], id=c[0]) for c in FLATTEN_CASES])
def test_json_flattens_to_dotted_columns(records: list[dict[str, Any]], options: IngestOptions,
                                         expected: dict[str, Any]) -> None:
    result = ingest(json.dumps(records).encode(), "nested.json", options=options)
    assert result.table.row(0, named=True) == expected
    assert [c.name for c in result.columns] == list(expected)


WRAPPED = {"data": {"items": [{"id": 1, "p": {"n": "A"}}, {"id": 2, "p": {"n": "B"}}]}, "meta": {"count": 2}}


@pytest.mark.parametrize(("path", "expected"), [
    ("data.items", [{"id": 1, "p.n": "A"}, {"id": 2, "p.n": "B"}]),
    ("meta", [{"count": 2}]),  # an object at the path is one row
])
def test_rows_under_a_path(path: str, expected: list[dict[str, Any]]) -> None:
    table = ingest(json.dumps(WRAPPED).encode(), "api.json", options=IngestOptions(data_path=path)).table
    assert table.to_dicts() == expected


@pytest.mark.parametrize(("path", "message"), [
    ("", "The rows seem to be under 'data.items'"),
    ("data.nope", "The path 'data.nope' is not in this JSON file: data holds the keys 'items'"),
    ("meta.count", "holds a number"),
])
def test_a_wrong_or_missing_path_says_where_the_rows_are(path: str, message: str) -> None:
    with pytest.raises(IngestError, match=message):
        ingest(json.dumps(WRAPPED).encode(), "api.json", options=IngestOptions(data_path=path))


def test_ndjson_flattens_the_same_way() -> None:
    body = b'{"item": {"brand": "Nike"}, "tags": ["a", "b"]}\n{"item": {"brand": "Puma"}, "tags": []}\n'
    table = ingest(body, "rows.jsonl").table
    assert table.to_dicts() == [{"item.brand": "Nike", "tags": "a, b"}, {"item.brand": "Puma", "tags": None}]


def test_flattened_columns_are_typed_and_profiled_with_their_paths() -> None:
    records = [{"item": {"price": "$1,299.00", "launch": "Jan 15, 2024", "qty": 3}},
               {"item": {"price": "$5", "launch": "15 January 2024", "qty": 4}}]
    result = ingest(json.dumps(records).encode(), "typed.json")
    by_name = {c.name: c for c in result.columns}
    assert {n: (c.kind, c.format) for n, c in by_name.items()} == {
        "item.price": ("decimal", "currency:USD"), "item.launch": ("date", "month_date"), "item.qty": ("integer", None)}
    assert by_name["item.price"].original_name == "item.price"
    assert result.table["item.price"].to_list() == [1299.0, 5.0]


@pytest.mark.parametrize(("options", "message"), [
    (dict(flatten_depth=0), "depth"), (dict(flatten_depth=11), "depth"), (dict(arrays="explode"), "join, json, first"),
    (dict(array_separator="x" * 11), "separator"), (dict(data_path="a..b"), "keys joined by dots"),
])
def test_bad_options_are_refused_with_a_message(options: dict[str, Any], message: str) -> None:
    with pytest.raises(IngestError, match=message):
        IngestOptions(**options)


def test_too_many_flattened_columns_suggests_a_lower_depth() -> None:
    record = {"a": {f"k{i}": {f"j{j}": 1 for j in range(30)} for i in range(20)}}
    with pytest.raises(IngestError, match="Lower the flattening depth"):
        ingest(json.dumps([record]).encode(), "wide.json")
    assert ingest(json.dumps([record]).encode(), "wide.json", options=IngestOptions(flatten_depth=2)).table.width == 20


def _parquet(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


PARQUET = pa.table({
    "id": pa.array([1, 2]),
    "item": pa.array([{"brand": "Nike", "pricing": {"msrp": 99.5}}, None]),
    "tags": pa.array([["run", "road"], []], pa.list_(pa.string())),
    "variants": pa.array([[{"sku": "A1"}], None], pa.list_(pa.struct([("sku", pa.string())]))),
})


@pytest.mark.parametrize(("options", "expected"), [
    (IngestOptions(), [{"id": 1, "item.brand": "Nike", "item.pricing.msrp": 99.5, "tags": "run, road",
                        "variants": '{"sku":"A1"}'},
                       {"id": 2, "item.brand": None, "item.pricing.msrp": None, "tags": None, "variants": None}]),
    (IngestOptions(flatten_depth=2, arrays="first"),
     [{"id": 1, "item.brand": "Nike", "item.pricing": '{"msrp":99.5}', "tags": "run", "variants.sku": "A1"},
      {"id": 2, "item.brand": None, "item.pricing": None, "tags": None, "variants.sku": None}]),
])
def test_parquet_structs_flatten_like_json(options: IngestOptions, expected: list[dict[str, Any]]) -> None:
    assert ingest(_parquet(PARQUET), "nested.parquet", options=options).table.to_dicts() == expected


# ---- templates, rules and group-by address dotted names ----------------------------------------

DOTTED_SCHEMA = {"item.brand": "text", "item.pricing.msrp": "decimal", "item": "text", "qty": "integer",
                 "category.en": "text", "category.de": "text", "lang": "text"}

TEMPLATE_CASES = [
    ("{{ item.brand }} from {{ item.pricing.msrp }}", ["Nike from 99.5", " from ", "ß from -0.0"]),
    ("{{ item['brand'] | upper }}|{{ row.item.brand }}|{{ row['item.brand'] }}", ["NIKE|Nike|Nike", "||", "SS|ß|ß"]),
    ("{% if item.pricing.msrp > 50 %}{{ item.brand }}{% else %}cheap {{ item }}{% endif %}",
     ["Nike", "cheap ", "cheap I"]),
    ("{{ item.brand or item }}", ["Nike", "", "ß"]),
]


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    yield connection
    connection.close()


ROWS = [{"item.brand": "Nike", "item.pricing.msrp": 99.5, "item": None, "qty": 1, "category.en": "Shoes",
         "category.de": "Schuhe", "lang": "de"},
        {"item.brand": None, "item.pricing.msrp": None, "item": None, "qty": None, "category.en": None,
         "category.de": None, "lang": None},
        {"item.brand": "ß", "item.pricing.msrp": -0.0, "item": "I", "qty": 3, "category.en": "Bags",
         "category.de": None, "lang": "fr"}]


@pytest.mark.parametrize(("source", "expected"), TEMPLATE_CASES)
def test_templates_read_dotted_columns_the_same_on_both_paths(con: duckdb.DuckDBPyConnection, source: str,
                                                              expected: list[str]) -> None:
    tmpl = compile_template(source, DOTTED_SCHEMA)
    df = frame(ROWS, DOTTED_SCHEMA)
    assert row_outputs(tmpl, df) == expected
    assert sql_outputs(con, tmpl, df) == expected
    assert "item.brand" in tmpl.variables


def test_a_name_declared_in_the_template_is_not_a_column() -> None:
    tmpl = compile_template('{% set item = {"brand": "Own"} %}{{ item.brand }}', DOTTED_SCHEMA)
    assert tmpl.render(ROWS[0]) == "Own"
    looped = compile_template("{% for x in [1, 2] %}{{ loop.index }}{% endfor %}", {"loop.index": "text"})
    assert looped.render({"loop.index": "column"}) == "12"


def test_an_unknown_dotted_path_is_reported() -> None:
    with pytest.raises(TemplateError, match="unknown variable `itm`"):
        compile_template("{{ itm.brand }}", {"item.brand": "text"})


def test_a_missing_field_suggests_the_flattened_columns() -> None:
    with pytest.raises(TemplateError, match="unknown variable `item` — did you mean `item.brand`"):
        compile_template("{{ item.nope }}", {"item.brand": "text"})


DOTTED_TEXT = st.one_of(st.none(), st.sampled_from(["", " ", "Nike", "ß", "Σx", "a.b", "%", "'"]), st.text(max_size=6))
DOTTED_ROW = st.fixed_dictionaries({
    "item.brand": DOTTED_TEXT, "item.pricing.msrp": st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False)),
    "item": DOTTED_TEXT, "qty": st.one_of(st.none(), st.integers(-10**6, 10**6)), "category.en": DOTTED_TEXT,
    "category.de": DOTTED_TEXT, "lang": DOTTED_TEXT})
REFS = st.sampled_from(["item.brand", "item['brand']", "row.item.brand", "item.pricing.msrp", "item", "qty",
                        "category.en", "row['category.de']"])
FILTER = st.sampled_from(["", " | upper", " | lower", " | title", " | trim", " | truncate(3)", ' | default("-")',
                          " | number(1)", ' | replace("a", "b")'])
PIECE = st.one_of(
    st.tuples(REFS, FILTER).map(lambda p: "{{ " + p[0] + p[1] + " }}"),
    st.tuples(REFS, REFS, REFS).map(lambda p: "{% if " + p[0] + " %}{{ " + p[1] + " }}{% else %}{{ " + p[2]
                                    + " }}{% endif %}"),
    st.tuples(REFS, REFS).map(lambda p: "{{ " + p[0] + " ~ '/' ~ " + p[1] + " }}"),
    st.sampled_from([" ", "-", "x"]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(DOTTED_ROW, min_size=1, max_size=5), source=st.lists(PIECE, min_size=1, max_size=4).map("".join))
def test_dotted_names_render_byte_identical_per_row_and_compiled(con: duckdb.DuckDBPyConnection,
                                                                 rows: list[dict[str, Any]], source: str) -> None:
    tmpl = compile_template(source, DOTTED_SCHEMA)
    if tmpl.sql is None:
        return
    df = frame(rows, DOTTED_SCHEMA)
    assert sql_outputs(con, tmpl, df) == row_outputs(tmpl, df)


def test_dotoro_dynamic_keys_look_up_the_composed_column() -> None:
    source = convert_dotoro("{category.{lang}|uppercase} by {item.brand}")
    assert source == '{{ (row | lookup("category." ~ (lang))) | upper }} by {{ item.brand }}'
    tmpl = compile_template(source, DOTTED_SCHEMA)
    assert [tmpl.render(row) for row in ROWS] == ["SCHUHE by Nike", " by ", " by ß"]


def test_rules_match_and_set_dotted_fields_on_both_paths() -> None:
    schema = {"item.brand": "text", "item.pricing.msrp": "decimal"}
    rule = one_rule(Action("set_field", {"field": "item.brand", "value": "{{ item.brand }} (sale)"}),
                    conditions=ConditionGroup("and", [Condition("item.pricing.msrp", "greater_than", 50)]))
    rows = [{"item.brand": "Nike", "item.pricing.msrp": 99.5}, {"item.brand": "Puma", "item.pricing.msrp": 10.0}]
    outcomes = run_both([rule], rows, schema)
    assert [o.row["item.brand"] for o in outcomes] == ["Nike (sale)", "Puma"]


def test_group_by_a_dotted_field() -> None:
    df = pl.DataFrame({"item.brand": ["Nike", "Puma", "Nike"], "item.pricing.msrp": [10.0, 20.0, 30.0]})
    spec = TransformSpec(["item.brand"], [Aggregation("sum", "item.pricing.msrp", "total")])
    assert group_by(df, spec).to_dicts() == [{"item.brand": "Nike", "total": 40.0},
                                             {"item.brand": "Puma", "total": 20.0}]
