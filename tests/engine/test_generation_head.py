"""The preview head: a prefix of the data, the rules' output kept across template edits, the trace on request."""

from __future__ import annotations

from typing import Any

import duckdb
import polars as pl
import pytest

from engine.generation import build_plan, connect, prepare_source, preview
from tests.engine.test_generation_plan import thread


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    return connect()


def test_head_reads_a_prefix_but_matches_bulk(con: duckdb.DuckDBPyConnection) -> None:
    data = pl.DataFrame({"n": list(range(20_000))})
    rules = [{"id": "rare", "conditions": {"items": [{"field": "n", "operator": "regex", "value": "[0-68-9]$"}]},
              "actions": [{"type": "skip"}]}]
    with build_plan(data, thread("row {{ n }}", rules=rules), connection=con) as plan:
        head = plan.head(30).to_pylist()
        assert head == plan.to_arrow().slice(0, 30).to_pylist()
    assert head[0]["title"] == "row 7" and head[-1]["title"] == "row 297"


def test_editing_a_template_reuses_the_rules_output_but_a_rule_edit_does_not(
        con: duckdb.DuckDBPyConnection) -> None:
    source = prepare_source(pl.DataFrame({"name": ["Tent", "Kayak", "Stove", "Lamp"],
                                          "price": [150.0, 20.0, 300.0, 90.0]}))

    def skip_below(limit: float) -> list[dict[str, Any]]:
        return [{"id": "cheap", "conditions": {"items": [{"field": "price", "operator": "less_than", "value": limit}]},
                 "actions": [{"type": "skip"}]}]

    def titles(template: str, limit: float) -> list[str]:
        with build_plan(source, thread(template, rules=skip_below(limit)), connection=con) as plan:
            head = plan.head(10)
            assert head.to_pylist() == plan.to_arrow().to_pylist()
            return [str(t) for t in head.column("title").to_pylist()]

    assert titles("{{ name }}", 100) == ["Tent", "Stove"]
    assert titles("{{ name | upper }}!", 100) == ["TENT!", "STOVE!"]   # template edits: same rows
    assert titles("{{ name | upper }}!", 50) == ["TENT!", "STOVE!", "LAMP!"]  # rule edit: the rows change
    assert titles("{{ name }}", 1000) == []


def test_the_rules_that_fired_come_with_a_trace_only(con: duckdb.DuckDBPyConnection) -> None:
    data = pl.DataFrame({"name": ["Tent", "Kayak", "Stove"], "price": [150.0, 20.0, 300.0]})
    rules = [{"id": "big", "conditions": {"items": [{"field": "price", "operator": "greater_than", "value": 100}]},
              "actions": [{"type": "add_tag", "params": {"tag": "premium"}}]},
             {"id": "all", "priority": 2, "actions": [{"type": "add_to_group", "params": {"group": "Gear"}}]}]
    with build_plan(data, thread("{{ name }}", rules=rules), connection=con) as plan:
        plain, traced = plan.to_arrow(), plan.to_arrow(trace=True)
        assert "__rules_fired" not in plain.column_names and "__rules_fired" not in plan.head(5).column_names
        assert traced.column("__rules_fired").to_pylist() == [["big", "all"], ["all"], ["big", "all"]]
        assert plan.head(2, trace=True).to_pylist() == traced.slice(0, 2).to_pylist()
        assert traced.drop_columns(["__rules_fired"]).to_pylist() == plain.to_pylist()
        assert preview(plan, 3, stats=False, trace=True).variations["__rules_fired"].to_list()[1] == ["all"]
    assert plain.column("__tags").to_pylist() == [["premium"], [], ["premium"]]
    assert plain.column("__groups").to_pylist() == [["Gear"]] * 3


@pytest.mark.parametrize("kept_every", [1, 97, 5003])
def test_head_matches_bulk_on_small_and_large_prefixes(con: duckdb.DuckDBPyConnection, kept_every: int) -> None:
    # few kept rows make the prefix grow past the small-query and memo sizes, up to the whole table
    n = 100_000
    data = pl.DataFrame({"n": list(range(n)), "keep": ["yes" if i % kept_every == 0 else "no" for i in range(n)]})
    rules = [{"id": "others", "conditions": {"items": [{"field": "keep", "operator": "equals", "value": "no"}]},
              "actions": [{"type": "skip"}]},
             {"id": "tag", "priority": 2, "actions": [{"type": "add_tag", "params": {"tag": "kept"}}]}]
    with build_plan(data, thread("#{{ n }} {{ keep | upper }}", rules=rules), connection=con) as plan:
        bulk = plan.to_arrow()
        head = plan.head(25)
    assert head.to_pylist() == bulk.slice(0, 25).to_pylist()
    assert head.column("title").to_pylist()[:2] == ["#0 YES", f"#{kept_every} YES"]
    assert head.column("__tags").to_pylist()[0] == ["kept"]
