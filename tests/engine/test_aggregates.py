"""Aggregates over the whole data set (issue 19 item 4): derived columns that rules and templates read,
the same in the compiled plan, the per-row path, a preview's first rows and a worker's chunk."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import EngineError
from engine.generation import GenerationConfig, build_plan, compute_stats, connect, prepare_source, preview
from engine.generation.aggregates import MAX_AGGREGATES, parse_aggregates, with_aggregates
from tests.engine.test_generation_plan import project, reference

# -- an independent oracle: the documented semantics in plain Python -----------------------------


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and v.strip(" \t\n\r\f\v") == "")


def oracle(rows: list[dict[str, Any]], spec: dict[str, Any]) -> list[Any]:
    """Each row's value of one aggregate: nulls and blank text skipped, blank keys one group."""
    by, of, agg = spec.get("by", []), spec.get("of"), spec["agg"]
    key = [tuple(None if _blank(r[b]) else r[b] for b in by) for r in rows]
    groups: dict[tuple[Any, ...], list[Any]] = defaultdict(list)
    sizes: dict[tuple[Any, ...], int] = defaultdict(int)
    for k, r in zip(key, rows, strict=True):
        sizes[k] += 1
        if of is not None and not _blank(r[of]):
            groups[k].append(r[of])
    out = []
    for k in key:
        values = groups[k]
        if agg == "count":
            out.append(sizes[k] if of is None else len(values))
        elif not values:
            out.append(None)
        elif agg == "min":
            out.append(min(values))
        elif agg == "max":
            out.append(max(values))
        elif agg == "sum":
            out.append(sum(values))
        else:
            out.append(sum(values) / len(values))
    return out


def with_oracle(data: pl.DataFrame, specs: list[dict[str, Any]]) -> pl.DataFrame:
    rows = data.to_dicts()
    return data.with_columns(*[pl.Series(s["name"], oracle(rows, s)) for s in specs])


# prices in quarters: every sum and mean is exact in binary floating point, so Python and DuckDB agree bit for bit
DATA = pl.DataFrame({
    "name": ["Tent", "Kayak", "Stove", "Lamp", "Boots", "Socks", "Rope", "Mug"],
    "category": ["camp", "water", "camp", "camp", None, "  ", "water", "kitchen"],
    "brand": ["A", "B", "A", "B", "A", "A", "B", None],
    "price": [150.25, 20.5, 300.0, None, 80.75, 5.0, 12.25, 7.5],
    "stock": [3, 0, 12, 7, 1, None, 4, 9],
    "added": [dt.date(2026, 1, d) for d in (5, 2, 9, 1, 7, 3, 8, 4)],
})


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    return connect()


def thread(title: str, **extra: Any) -> GenerationConfig:
    return GenerationConfig(platform="reddit", format="thread", templates={"subreddit": "deals", "title": title},
                            **extra)


# -- each aggregate, grouped by 0, 1 or 2 columns, nulls and blanks --------------------------------

SPECS = [
    {"name": "n_all", "agg": "count"},
    {"name": "n_cat", "agg": "count", "by": ["category"]},
    {"name": "n_priced", "agg": "count", "of": "price", "by": ["category"]},
    {"name": "min_price", "agg": "min", "of": "price", "by": ["category"]},
    {"name": "max_price", "agg": "max", "of": "price", "by": ["category", "brand"]},
    {"name": "avg_price", "agg": "avg", "of": "price", "by": ["brand"]},
    {"name": "sum_stock", "agg": "sum", "of": "stock", "by": ["category"]},
    {"name": "sum_stock_all", "agg": "sum", "of": "stock"},
    {"name": "avg_stock", "agg": "avg", "of": "stock", "by": ["category", "brand"]},
    {"name": "first_name", "agg": "min", "of": "name", "by": ["category"]},
    {"name": "last_added", "agg": "max", "of": "added", "by": ["brand"]},
    {"name": "sum_price", "agg": "sum", "of": "price", "by": ["brand"]},
]


@pytest.mark.parametrize("spec", SPECS, ids=[s["name"] for s in SPECS])
def test_each_aggregate_equals_the_documented_semantics(spec: dict[str, Any]) -> None:
    source = with_aggregates(prepare_source(DATA), parse_aggregates([spec]))
    got = source.table.column(spec["name"]).to_pylist()
    assert got == oracle(DATA.to_dicts(), spec)


def test_figures_that_a_person_would_check() -> None:
    source = with_aggregates(prepare_source(DATA), parse_aggregates(SPECS))
    t = source.table.to_pylist()
    assert [r["n_cat"] for r in t] == [3, 2, 3, 3, 2, 2, 2, 1]  # null and blank category: one "empty" group
    assert t[0]["min_price"] == 150.25 and t[3]["min_price"] == 150.25  # Lamp's null price is skipped
    assert t[0]["n_priced"] == 2 and t[0]["n_all"] == 8
    assert t[1]["first_name"] == "Kayak" and t[1]["sum_stock"] == 4
    assert source.kinds["n_cat"] == "integer" and source.kinds["avg_price"] == "decimal"
    assert source.kinds["sum_stock"] == "integer" and source.kinds["last_added"] == "date"
    assert source.kinds["first_name"] == "text"


# -- refusals a person can act on -----------------------------------------------------------------

@pytest.mark.parametrize(("aggregates", "message"), [
    ([{"name": "x", "agg": "median", "of": "price"}], "unknown aggregate 'median'"),
    ([{"name": "x", "agg": "mx", "of": "price"}], "did you mean 'max'"),
    ([{"name": "x", "agg": "sum", "of": "name"}], "sum needs a number column, but 'name' holds text"),
    ([{"name": "x", "agg": "avg", "of": "added"}], "avg needs a number column"),
    ([{"name": "x", "agg": "min"}], "min needs a column in 'of'"),
    ([{"name": "price", "agg": "count"}], "same name as a column of the data set"),
    ([{"name": "Price", "agg": "count"}], "column 'price' but for letter case"),
    ([{"name": "x", "agg": "min", "of": "prices"}], "does not have; did you mean 'price'"),
    ([{"name": "x", "agg": "count", "by": ["categroy"]}], "did you mean 'category'"),
    ([{"name": "2x", "agg": "count"}], "must be a plain identifier"),
    ([{"name": "x", "agg": "count"}, {"name": "X", "agg": "count"}], "equal but for letter case"),
    ([{"name": "x", "agg": "count", "where": "y"}], "unknown key 'where'"),
    ([{"name": f"a{i}", "agg": "count"} for i in range(MAX_AGGREGATES + 1)], "more than the 20"),
    ('[{"name": ', "not valid JSON"),
])
def test_bad_aggregates_are_refused_with_what_to_change(con: duckdb.DuckDBPyConnection, aggregates: Any,
                                                       message: str) -> None:
    with pytest.raises(EngineError, match=message.replace("(", r"\(")):
        build_plan(DATA, thread("{{ name }}", aggregates=aggregates), connection=con)


def test_min_and_max_of_booleans_are_refused(con: duckdb.DuckDBPyConnection) -> None:
    data = DATA.with_columns(pl.col("stock").gt(2).alias("in_stock"))
    with pytest.raises(EngineError, match="orders numbers, dates and text, but 'in_stock' holds boolean"):
        build_plan(data, thread("{{ name }}", aggregates=[{"name": "x", "agg": "max", "of": "in_stock"}]),
                   connection=con)


# -- rules and templates read them on both paths --------------------------------------------------

SMALL_CATEGORY = {"id": "small", "conditions": {"items": [
    {"field": "category_count", "operator": "less_than", "value": 3}]}, "actions": [{"type": "skip"}]}
LOW_STOCK = {"id": "low", "conditions": {"items": [{"field": "stock", "operator": "less_than", "value": 5}]},
             "actions": [{"type": "set_field", "params": {"field": "note", "value": "few left"}}]}
AGGS = [{"name": "category_count", "agg": "count", "by": ["category"]},
        {"name": "category_min_price", "agg": "min", "of": "price", "by": ["category"]}]
TITLE = "{{ name }} in {{ category }} from ${{ category_min_price }} {{ note | default('') }}"


@pytest.mark.parametrize("body", [None, "{% for w in name %}{{ w }}{% endfor %} min {{ category_min_price }}"],
                         ids=["compiled", "per-row-fallback"])
def test_a_rule_skips_small_categories_and_a_template_reads_the_minimum(
        con: duckdb.DuckDBPyConnection, body: str | None) -> None:
    cfg = thread(TITLE, rules=[SMALL_CATEGORY, LOW_STOCK], aggregates=AGGS)
    if body is not None:
        cfg = GenerationConfig(platform="reddit", format="thread", rules=[SMALL_CATEGORY, LOW_STOCK],
                               aggregates=AGGS, templates={"subreddit": "deals", "title": TITLE, "body": body})
    data = with_oracle(DATA, AGGS)
    ref = reference(data, prepare_source(data).kinds, cfg)
    with build_plan(DATA, cfg, connection=con) as plan:
        assert (body is not None) == bool(plan.fallback_fields)
        rows = plan.to_arrow().to_pylist()
        stats = compute_stats(plan)
        assert "aggregate column category_count = count(*) per category" in plan.explain()
    columns = ["__row", "title"] + (["body"] if body else [])
    assert project(rows, *columns) == project(ref.rows, *columns)
    assert [r["title"] for r in rows] == [
        "Tent in camp from $150.25 few left", "Stove in camp from $150.25 ", "Lamp in camp from $150.25 "]
    assert (stats.skipped_by_rules, stats.kept) == (ref.skipped_by_rules, len(ref.rows)) == (5, 3)


def test_rules_that_run_per_row_read_them_too(con: duckdb.DuckDBPyConnection) -> None:
    spell = {"id": "spell", "actions": [{"type": "set_field", "params": {
        "field": "label", "value": "{% for c in name %}{{ c }}{% endfor %}/{{ category_count }}"}}]}
    cfg = thread("{{ label }}", rules=[SMALL_CATEGORY, spell], aggregates=AGGS)
    with build_plan(DATA, cfg, connection=con) as plan:
        assert plan.compiled.rules.fallback_reason is not None
        rows = plan.to_arrow().to_pylist()
        assert plan.head(1).to_pylist() == rows[:1]
    assert [r["title"] for r in rows] == ["Tent/3", "Stove/3", "Lamp/3"]


def test_a_preview_of_the_first_rows_and_a_chunk_see_the_whole_data_set(con: duckdb.DuckDBPyConnection) -> None:
    n = 3000  # more than a preview's first prefix (256 rows): the last rows decide the counts
    data = pl.DataFrame({"name": [f"item {i}" for i in range(n)],
                         "category": ["big" if i % 2 else f"c{i % 1000}" for i in range(n)],
                         "price": [float(i % 97) for i in range(n)]})
    cfg = thread("{{ name }} ({{ category_count }}, from {{ category_min_price }})",
                 rules=[SMALL_CATEGORY], aggregates=AGGS)
    with build_plan(data, cfg, connection=con) as plan:
        bulk = plan.to_arrow()
        shown = preview(plan, 5)
        chunk = plan.query(plan.compiled.ledger_sql(), plan.source.table.slice(2000, 500))
    assert shown.variations.to_arrow().to_pylist() == bulk.slice(0, 5).to_pylist()
    assert shown.variations["title"][0] == "item 0 (3, from 0.0)"  # c0 is at rows 0, 1000 and 2000
    assert shown.stats is not None
    assert shown.stats.skipped_by_rules == 0 and shown.stats.kept == bulk.num_rows == n
    in_chunk = [t for t in chunk.column("title").to_pylist() if t is not None]
    assert in_chunk and set(in_chunk) <= set(bulk.column("title").to_pylist())
    fewer = data.slice(0, 1999)  # c0 … c999 now hold 2 rows or fewer from row 1000 on: skipped
    with build_plan(fewer, cfg, connection=con) as plan:
        stats = compute_stats(plan)
        ref = reference(with_oracle(fewer, AGGS), prepare_source(with_oracle(fewer, AGGS)).kinds, cfg)
    assert stats.skipped_by_rules == ref.skipped_by_rules == 1000
    assert stats.kept == len(ref.rows)


# -- property: compiled plan == per-row reference over random tables and aggregates ---------------

_KEY = st.sampled_from(["a", "b", "B", " ", "", None])
_NUM = st.one_of(st.none(), st.integers(-40, 40).map(lambda i: i / 4))
_SPEC = st.builds(lambda agg, of, by: {"agg": agg, "of": of, "by": by},
                  st.sampled_from(["count", "min", "max", "avg", "sum"]), st.sampled_from(["price", "word"]),
                  st.sampled_from([[], ["k1"], ["k1", "k2"]]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(_KEY, _KEY, _NUM, st.sampled_from(["x", "y", "", None])), min_size=1, max_size=15),
       specs=st.lists(_SPEC, min_size=1, max_size=3), threshold=st.integers(0, 4))
def test_random_aggregates_match_the_reference(con: duckdb.DuckDBPyConnection, rows: list[tuple[Any, ...]],
                                               specs: list[dict[str, Any]], threshold: int) -> None:
    data = pl.DataFrame({"k1": [r[0] for r in rows], "k2": [r[1] for r in rows], "price": [r[2] for r in rows],
                         "word": [r[3] for r in rows]},
                        schema={"k1": pl.String, "k2": pl.String, "price": pl.Float64, "word": pl.String})
    aggs = []
    for i, s in enumerate(specs):
        spec = {**s, "name": f"agg{i}"}
        if spec["of"] == "word" and spec["agg"] in ("sum", "avg"):
            spec["of"] = "price"
        aggs.append(spec)
    rule = {"id": "few", "conditions": {"items": [{"field": "agg0", "operator": "less_than", "value": threshold}]},
            "actions": [{"type": "skip"}]}
    title = " ".join(f"{{{{ agg{i} }}}}" for i in range(len(aggs))) + " {{ word }}"
    cfg = thread(title, rules=[rule] if aggs[0]["agg"] != "min" or aggs[0]["of"] == "price" else [],
                 aggregates=aggs)
    derived = with_oracle(data, aggs)
    ref = reference(derived, prepare_source(derived).kinds, cfg)
    with build_plan(data, cfg, connection=con) as plan:
        got = plan.to_arrow().to_pylist()
        head = plan.head(2).to_pylist()
        stats = compute_stats(plan)
    assert project(got, "__row", "title") == project(ref.rows, "__row", "title")
    assert head == got[:2]
    assert (stats.skipped_by_rules, stats.kept) == (ref.skipped_by_rules, len(ref.rows))


def test_a_set_with_aggregates_renders_every_row_when_its_feed_changes() -> None:
    """One changed price can change the category minimum in other rows' text: a followed set re-renders them all."""
    from engine.generation.diff import rows_independent

    base = {"platform": "reddit", "format": "thread", "templates": {"title": "{{ name }}"}}
    assert rows_independent(base)
    assert not rows_independent({**base, "aggregates": AGGS})


def test_a_plans_source_can_be_planned_again(con: duckdb.DuckDBPyConnection) -> None:
    cfg = thread(TITLE, rules=[SMALL_CATEGORY, LOW_STOCK], aggregates=AGGS)
    with build_plan(DATA, cfg, connection=con) as plan:
        first = plan.to_arrow()
        with build_plan(plan.source, cfg, connection=con) as again:
            assert again.to_arrow() == first
