"""Columns whose names differ only in letter case (issue 16 bug 2).

DuckDB folds ASCII letters in identifiers, so `"Brand"` read `brand`'s values in the compiled SQL
while the per-row render told them apart ("Adidas - Nike" per row, "Nike - Nike" from the plan).
Such names are refused where the SQL would be built (templates that use them, data sets prepared
for a plan, rules and the columns they create); names that differ in other letters (ä/Ä, ß/SS),
which DuckDB keeps apart, compile and agree byte for byte.
"""

from __future__ import annotations

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import EngineError
from engine.generation import build_plan, prepare_source, preview
from engine.rules import RuleError, parse_rules
from engine.templates import TemplateError, compile_template
from tests.engine.test_templates_support import row_outputs, sql_outputs

CLASH = "differ only in letter case"


@pytest.mark.parametrize(("source", "schema"), [
    ("{{ Brand }} - {{ brand }}", {"brand": "text", "Brand": "text"}),
    ("{{ brand }}", {"brand": "text", "BRAND": "text"}),
    ("{{ row['Brand'] }}", {"brand": "text", "Brand": "text"}),
    ("{% for i in [1] %}{{ Brand }}{% endfor %}", {"Brand": "text", "brand": "integer"}),
    ("{{ SKU|upper }}", {"sku": "text", "SKU": "text", "Sku": "text"}),
])
def test_a_template_using_a_name_that_differs_only_in_case_is_refused(source: str, schema: dict[str, str]) -> None:
    with pytest.raises(TemplateError, match=CLASH):
        compile_template(source, schema)


@pytest.mark.parametrize(("source", "schema", "row", "expected"), [
    ("{{ other }}", {"brand": "text", "Brand": "text", "other": "text"}, {"other": "x"}, "x"),  # not used
    ("{{ Äb }}-{{ äb }}", {"Äb": "text", "äb": "text"}, {"Äb": "1", "äb": "2"}, "1-2"),  # DuckDB keeps them apart
    ("{{ row['straße'] }}-{{ STRASSE }}", {"straße": "text", "STRASSE": "text"}, {"straße": "a", "STRASSE": "b"},
     "a-b"),
])
def test_names_duckdb_keeps_apart_render_the_same_on_both_paths(source: str, schema: dict[str, str],
                                                                 row: dict[str, str], expected: str) -> None:
    tmpl = compile_template(source, schema)
    assert tmpl.sql is not None
    df = pl.DataFrame([{c: row.get(c) for c in schema}], schema=dict.fromkeys(schema, pl.String))
    assert row_outputs(tmpl, df) == sql_outputs(duckdb.connect(), tmpl, df) == [expected]


def test_a_data_set_with_such_names_is_refused_before_a_plan() -> None:
    frame = pl.DataFrame({"brand": ["Nike"], "Brand": ["Adidas"]})
    with pytest.raises(EngineError, match="columns 'brand' and 'Brand' differ only in letter case.*rename one"):
        prepare_source(frame)
    config = {"platform": "reddit", "format": "thread",
              "templates": {"subreddit": "shop", "title": "{{ Brand }} - {{ brand }}", "body": "x"}}
    with pytest.raises(EngineError, match=CLASH):
        build_plan(frame, config)


@pytest.mark.parametrize(("rules", "schema"), [
    ([{"id": "a", "name": "A", "actions": [{"type": "set_field", "params": {"field": "Brand", "value": "x"}}]}],
     {"brand": "text"}),
    ([{"id": "a", "name": "A", "actions": [{"type": "calculate", "params": {"field": "Margin", "expression": "1"}},
                                           {"type": "calculate", "params": {"field": "margin", "expression": "2"}}]}],
     {"price": "integer"}),
    ([{"id": "a", "name": "A", "actions": [{"type": "skip", "params": {}}]}], {"city": "text", "City": "text"}),
])
def test_rules_refuse_such_names_in_the_data_and_in_columns_they_create(rules: list, schema: dict) -> None:
    with pytest.raises(RuleError, match=CLASH):
        parse_rules(rules, schema=schema)


# ---- property: whatever the names, a template either is refused or renders the same both ways ----

NAMES = ["brand", "Brand", "BRAND", "bränd", "BRÄND", "straße", "STRASSE", "sku", "SKU", "Äb", "äb", "x"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(columns=st.lists(st.sampled_from(NAMES), min_size=1, max_size=5, unique=True),
       picks=st.lists(st.integers(0, 4), min_size=1, max_size=4),
       filters=st.lists(st.sampled_from(["", "|upper", "|lower", "|title", "|default('-')"]), min_size=4, max_size=4),
       values=st.lists(st.one_of(st.none(), st.sampled_from(["Nike", "adidas", "ß", ""])), min_size=5, max_size=5))
def test_case_differing_names_never_render_differently(columns: list[str], picks: list[int], filters: list[str],
                                                       values: list[str | None]) -> None:
    used = [columns[i % len(columns)] for i in picks]
    source = " · ".join(f"{{{{ row[{name!r}]{f} }}}}" for name, f in zip(used, filters, strict=False))
    schema = dict.fromkeys(columns, "text")
    try:
        tmpl = compile_template(source, schema)
    except TemplateError as exc:
        assert CLASH in str(exc)
        assert any(sum(1 for c in columns if c.encode().lower() == u.encode().lower()) > 1 for u in used)
        return
    assert all(sum(1 for c in columns if c.encode().lower() == u.encode().lower()) == 1 for u in used)
    df = pl.DataFrame([dict(zip(columns, values, strict=False))], schema=dict.fromkeys(columns, pl.String))
    if tmpl.sql is not None:
        assert sql_outputs(duckdb.connect(), tmpl, df) == row_outputs(tmpl, df)
    # the whole plan (DuckDB query + per-row UDFs) agrees too when the data set has no clash at all
    if not any(sum(1 for c in columns if c.encode().lower() == other.encode().lower()) > 1 for other in columns):
        config = {"platform": "reddit", "format": "thread",
                  "templates": {"subreddit": "shop", "title": "t", "body": source}}
        with build_plan(df, config) as plan:
            assert preview(plan, limit=1, stats=False).variations["body"].to_list() == row_outputs(tmpl, df)
