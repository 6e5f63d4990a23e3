"""Columns whose names differ only in letter case (issue 16 bug 2).

DuckDB folds ASCII letters in identifiers, so `"Brand"` used to read `brand`'s values in the compiled
SQL while the per-row render told them apart ("Adidas - Nike" per row, "Nike - Nike" from the plan).
Every SQL path now reads such columns under case-unique names (engine/templates/sql_aliases.py):
templates, rules (conditions, actions, the columns they create), per-row UDFs and the plan's source
all agree byte for byte with the per-row path, and nothing is refused.
"""

from __future__ import annotations

from typing import Any

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import EngineError
from engine.generation import GenerationConfig, build_plan, compute_stats, preview
from engine.rules import parse_rules
from engine.rules.compile_sql import rule_match_counts
from engine.templates import compile_template
from engine.templates.sql_aliases import alias_table, case_aliases
from tests.engine.test_generation_plan import project, reference
from tests.engine.test_templates_support import row_outputs, sql_outputs


@pytest.mark.parametrize(("names", "aliases"), [
    (["brand", "Brand"], {"Brand": "__case1_Brand"}),
    (["Brand", "brand", "BRAND", "x"], {"brand": "__case1_brand", "BRAND": "__case2_BRAND"}),
    (["Äb", "äb", "straße", "STRASSE"], {}),          # DuckDB folds ASCII letters only: these stay apart
    (["a", "a", "A"], {"A": "__case1_A"}),
])
def test_names_equal_but_for_case_get_sql_names_of_their_own(names: list[str], aliases: dict[str, str]) -> None:
    assert case_aliases(names) == aliases
    # a longer schema keeps every alias of a shorter one (rules' output, then variation sources)
    assert case_aliases([*names, "BRAND_2", "bRaNd"]).items() >= aliases.items()


@pytest.mark.parametrize(("source", "schema", "row", "expected"), [
    ("{{ Brand }} - {{ brand }}", {"brand": "text", "Brand": "text"}, {"brand": "Nike", "Brand": "Adidas"},
     "Adidas - Nike"),
    ("{{ brand }}|{{ BRAND }}", {"brand": "text", "BRAND": "text"}, {"brand": "a", "BRAND": "b"}, "a|b"),
    ("{{ row['Brand'] }}{{ row['brand'] | upper }}", {"brand": "text", "Brand": "text"},
     {"brand": "n", "Brand": "a"}, "aN"),
    ("{% if Sku == 'x' %}{{ SKU }}{% else %}{{ sku }}{% endif %}", {"sku": "text", "SKU": "text", "Sku": "text"},
     {"sku": "1", "SKU": "2", "Sku": "x"}, "2"),
    ("{{ Price }}/{{ price }}", {"price": "integer", "Price": "decimal"}, {"price": 3, "Price": 2.5}, "2.5/3"),
    ("{{ other }}", {"brand": "text", "Brand": "text", "other": "text"}, {"other": "x"}, "x"),
    ("{{ Äb }}-{{ äb }}", {"Äb": "text", "äb": "text"}, {"Äb": "1", "äb": "2"}, "1-2"),
    ("{{ row['straße'] }}-{{ STRASSE }}", {"straße": "text", "STRASSE": "text"}, {"straße": "a", "STRASSE": "b"},
     "a-b"),
])
def test_a_template_renders_the_same_on_both_paths(source: str, schema: dict[str, str], row: dict[str, Any],
                                                   expected: str) -> None:
    tmpl = compile_template(source, schema)
    assert tmpl.sql is not None
    types = {"text": pl.String, "integer": pl.Int64, "decimal": pl.Float64}
    df = pl.DataFrame([{c: row.get(c) for c in schema}], schema={c: types[k] for c, k in schema.items()})
    assert row_outputs(tmpl, df) == sql_outputs(duckdb.connect(), tmpl, df) == [expected]


def _thread(title: str, body: str = "b", **extra: Any) -> GenerationConfig:
    return GenerationConfig(platform="reddit", format="thread",
                            templates={"subreddit": "shop", "title": title, "body": body}, **extra)


def _set(column: str, value: str, when: dict[str, Any] | None = None) -> dict[str, Any]:
    rule: dict[str, Any] = {"id": f"set-{column}", "name": f"set {column}",
                            "actions": [{"type": "set_field", "params": {"field": column, "value": value}}]}
    if when:
        rule["conditions"] = {"items": [when]}
    return rule


FOR_LOOP = "{% for x in [1] %}{{ Brand }}/{{ brand }}{% endfor %}"  # a per-row (UDF) field
PLAN_CASES = [
    ({"brand": ["Nike", "Puma"], "Brand": ["Adidas", "Asics"]}, _thread("{{ Brand }} - {{ brand }}", FOR_LOOP),
     [("Adidas - Nike", "Adidas/Nike"), ("Asics - Puma", "Asics/Puma")]),
    ({"brand": ["Nike"]}, _thread("{{ Brand }} - {{ brand }}", rules=[_set("Brand", "Adidas")]),
     [("Adidas - Nike", "b")]),
    ({"brand": ["Nike", "Puma"], "Brand": ["Adidas", "Asics"]},
     _thread("{{ Brand }} - {{ brand }}", FOR_LOOP,
             rules=[_set("brand", "X{{ Brand }}", {"field": "Brand", "operator": "equals", "value": "Asics"})]),
     [("Adidas - Nike", "Adidas/Nike"), ("Asics - XAsics", "Asics/XAsics")]),
    ({"price": [10, 20]},
     _thread("{{ Margin }}|{{ margin }}", rules=[
         {"id": "m", "name": "m", "actions": [
             {"type": "calculate", "params": {"field": "Margin", "expression": "price * 2"}},
             {"type": "calculate", "params": {"field": "margin", "expression": "price + 1"}}]}]),
     [("20.0|11.0", "b"), ("40.0|21.0", "b")]),
    ({"city": ["Rome", "Oslo"], "City": ["x", "y"]},   # a rule that runs per row (a loop in its value)
     _thread("{{ City }} {{ city }}", rules=[_set("City", "{% for c in city %}{{ c }}.{% endfor %}")]),
     [("R.o.m.e. Rome", "b"), ("O.s.l.o. Oslo", "b")]),
]


@pytest.mark.parametrize(("data", "cfg", "expected"), PLAN_CASES)
def test_a_plan_equals_the_per_row_reference(data: dict[str, list[Any]], cfg: GenerationConfig,
                                             expected: list[tuple[str, str]]) -> None:
    frame = pl.DataFrame(data)
    kinds = {c: "integer" if frame[c].dtype == pl.Int64 else "text" for c in frame.columns}
    ref = reference(frame, kinds, cfg)
    with build_plan(frame, cfg) as plan:
        rows = plan.to_arrow().to_pylist()
        head = preview(plan, limit=5, stats=False).variations.to_dicts()
        stats = compute_stats(plan)
    assert project(rows, "title", "body") == project(ref.rows, "title", "body") == expected
    assert project(head, "title", "body") == expected
    assert stats.kept == len(expected)


def test_rule_conditions_tell_the_columns_apart() -> None:
    frame = pl.DataFrame({"brand": ["Nike", "Puma"], "Brand": ["Puma", "Nike"]})
    rules = [{"id": "a", "name": "A", "conditions": {"items": [{"field": "Brand", "operator": "equals",
                                                                 "value": "Nike"}]}, "actions": [{"type": "skip"}]}]
    assert rule_match_counts(rules, frame, {"brand": "text", "Brand": "text"}) == {"a": 1}
    with build_plan(frame, _thread("{{ brand }}", rules=rules)) as plan:
        assert plan.to_arrow().column("title").to_pylist() == ["Nike"]
    parse_rules(rules, schema={"brand": "text", "Brand": "text"})  # accepted


def test_a_variation_source_equal_to_a_column_but_for_case_is_refused() -> None:
    with pytest.raises(EngineError, match="variation source 'Tone' has the same name as column 'tone' but for "
                                          "letter case"):
        build_plan(pl.DataFrame({"tone": ["a"]}), _thread("{{ Tone }}", variation_sources={"Tone": ["x"]}))


def test_alias_table_renames_arrow_and_polars_alike() -> None:
    frame = pl.DataFrame({"brand": ["n"], "Brand": ["a"]})
    aliases = case_aliases(frame.columns)
    assert alias_table(frame, aliases).columns == ["brand", "__case1_Brand"]
    assert alias_table(frame.to_arrow(), aliases).column_names == ["brand", "__case1_Brand"]
    assert alias_table(frame, {}) is frame


# ---- property: whatever the names, both paths render the same ----

NAMES = ["brand", "Brand", "BRAND", "bränd", "BRÄND", "straße", "STRASSE", "sku", "SKU", "Äb", "äb", "x"]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(columns=st.lists(st.sampled_from(NAMES), min_size=1, max_size=5, unique=True),
       picks=st.lists(st.integers(0, 4), min_size=1, max_size=4),
       filters=st.lists(st.sampled_from(["", "|upper", "|lower", "|title", "|default('-')"]), min_size=4, max_size=4),
       values=st.lists(st.one_of(st.none(), st.sampled_from(["Nike", "adidas", "ß", ""])), min_size=5, max_size=5),
       written=st.one_of(st.none(), st.sampled_from(NAMES)),
       loop=st.booleans())
def test_case_differing_names_never_render_differently(columns: list[str], picks: list[int], filters: list[str],
                                                       values: list[str | None], written: str | None,
                                                       loop: bool) -> None:
    used = [columns[i % len(columns)] for i in picks]
    if written is not None:
        used.append(written)
    source = " · ".join(f"{{{{ row[{name!r}]{f} }}}}" for name, f in zip(used, [*filters, ""], strict=False))
    if loop:
        source = "{% for _ in [1] %}" + source + "{% endfor %}"
    schema = dict.fromkeys(columns, "text")
    df = pl.DataFrame([dict(zip(columns, values, strict=False))], schema=dict.fromkeys(columns, pl.String))
    rules = [_set(written, "w·{{ row[" + repr(columns[0]) + "] }}")] if written is not None else []
    tkinds = {**schema, **({written: "text"} if written else {})}
    tmpl = compile_template(source, tkinds)
    if tmpl.sql is not None and not rules:
        assert sql_outputs(duckdb.connect(), tmpl, df) == row_outputs(tmpl, df)
    cfg = GenerationConfig(platform="reddit", format="thread", rules=rules,
                           templates={"subreddit": "shop", "title": "t", "body": source})
    ref = reference(df, schema, cfg)
    with build_plan(df, cfg) as plan:
        assert preview(plan, limit=1, stats=False).variations["body"].to_list() == [r["body"] for r in ref.rows]
