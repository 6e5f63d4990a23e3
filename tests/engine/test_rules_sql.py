"""The compiled query: shape, pass-through columns, templates, fallback, counts, extensions."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest

from engine.rules import (
    ACTIONS,
    OPERATORS,
    Action,
    ActionSpec,
    Assignment,
    Condition,
    ConditionGroup,
    FieldChange,
    NotCompilable,
    OperatorSpec,
    Param,
    PrepareContext,
    PreparedAction,
    RowState,
    Rule,
    RuleError,
    SqlContext,
    compile_rules,
    prepare_rules,
    register_action,
    register_operator,
    rule_match_counts,
)
from engine.rules.operators import ALL_KINDS
from tests.engine.test_rules_helpers import BASE_ROW, SCHEMA, one_rule, run_both, table

PRICE_OVER_100 = ConditionGroup("and", [Condition("price", "greater_than", 100)])


def test_output_columns_and_types() -> None:
    rules = [Rule("a", "A", actions=[Action("set_field", {"field": "price", "value": "x"}),
                                     Action("calculate", {"field": "margin", "expression": "cost * 2"}),
                                     Action("set_targeting", {"key": "flair", "value": "Deal"})])]
    compiled = compile_rules(rules, SCHEMA)
    con = duckdb.connect()
    con.register("src", table([BASE_ROW], SCHEMA))
    described = {name: kind for name, kind, *_ in con.execute(f"DESCRIBE {compiled.select_sql('src')}").fetchall()}
    assert list(described) == [*SCHEMA, "margin", "__skipped", "__tags", "__groups", "__target_flair",
                                "__rules_fired"]
    assert (described["price"], described["margin"], described["__skipped"], described["__tags"],
            described["__rules_fired"]) == ("VARCHAR", "DOUBLE", "BOOLEAN", "VARCHAR[]", "VARCHAR[]")
    assert compiled.output_schema == {**SCHEMA, "price": "text", "margin": "decimal"}


def test_columns_outside_the_schema_pass_through() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE src AS SELECT 7 AS __row, 'Paris' AS city, 150 AS price")
    rule = one_rule(Action("set_field", {"field": "city", "value": "Rome"}), conditions=PRICE_OVER_100)
    sql = compile_rules([rule], {"city": "text", "price": "integer"}).select_sql("src")
    row = con.execute(f"SELECT __row, city, __rules_fired FROM ({sql})").fetchone()
    assert row == (7, "Rome", ["r1"])


def test_no_rules_is_a_pass_through() -> None:
    (out,) = run_both([], [BASE_ROW])
    assert out.row == BASE_ROW and out.fired == [] and not out.skipped


def test_explain_is_the_query() -> None:
    compiled = compile_rules([one_rule(Action("skip", {}), conditions=PRICE_OVER_100)], SCHEMA)
    assert compiled.explain().startswith("SELECT") and "FROM source" in compiled.explain()


def test_templates_render_against_the_modified_row() -> None:
    pytest.importorskip("engine.templates")
    rules = [one_rule(Action("set_field", {"field": "name", "value": "Boot"}),
                      Action("set_field", {"field": "title", "value": "{{ name }} in {{ city }} for {{ price }}"}),
                      Action("set_targeting", {"key": "subreddit", "value": "r/{{ city | lower }}"}),
                      Action("modify_field", {"field": "title", "mode": "append", "value": " ({{ cost }})"}))]
    (out,) = run_both(rules, [BASE_ROW])
    assert out.row["title"] == "Boot in Paris for 150 (9.5)"
    assert out.targeting == {"subreddit": "r/paris"}


def test_template_sees_columns_converted_by_the_type_rule() -> None:
    pytest.importorskip("engine.templates")
    rules = [Rule("a", "A", priority=0, actions=[Action("calculate", {"field": "price", "expression": "price / 4"})]),
             Rule("b", "B", priority=1, actions=[Action("set_field", {"field": "label", "value": "{{ price }}!"})])]
    outs = run_both(rules, [BASE_ROW, {**BASE_ROW, "price": None}])
    assert [o.row["label"] for o in outs] == ["37.5!", "!"]


def test_bad_template_names_the_rule() -> None:
    pytest.importorskip("engine.templates")
    with pytest.raises(RuleError, match=r"Rule 'Rule one': action 1 \(set_field\): .*prise"):
        compile_rules([one_rule(Action("set_field", {"field": "t", "value": "{{ prise }}"}))], SCHEMA)


def test_template_outside_sql_subset_falls_back_to_per_row() -> None:
    pytest.importorskip("engine.templates")
    rules = [one_rule(Action("set_field", {"field": "t", "value": "{% for x in [1, 2] %}{{ x }}{% endfor %}"}))]
    with pytest.raises(NotCompilable, match=r"Rule 'Rule one', action 1 \(set_field\).*per row") as info:
        compile_rules(rules, SCHEMA)
    assert info.value.rule_id == "r1"
    prepared = prepare_rules(rules, SCHEMA)
    assert prepared.apply(BASE_ROW).row["t"] == "12"
    assert prepared.output_schema["t"] == "text"


def test_rule_match_counts() -> None:
    rows = [{**BASE_ROW, "price": p, "city": c} for p, c in [(50, "Paris"), (150, "Rome"), (250, None), (None, "")]]
    rules = [one_rule(Action("skip", {}), conditions=PRICE_OVER_100, id="expensive"),
             Rule("blank-city", "Blank city", enabled=False,
                  conditions=ConditionGroup("and", [Condition("city", "is_empty")]), actions=[Action("skip", {})]),
             Rule("all", "All", actions=[Action("add_tag", {"tag": "x"})])]
    expected = {"expensive": 2, "blank-city": 2, "all": 4}
    frame = pl.from_arrow(table(rows, SCHEMA))
    assert rule_match_counts(rules, frame, SCHEMA) == expected
    con = duckdb.connect()
    con.register("src", table(rows, SCHEMA))
    assert rule_match_counts(rules, con, SCHEMA, source="src") == expected
    assert rule_match_counts(rules, con.table("src"), SCHEMA) == expected
    assert rule_match_counts([], frame, SCHEMA) == {}


@pytest.mark.parametrize("separators_taken", [False, True])
def test_large_lookups_join_and_keep_row_order(separators_taken: bool) -> None:
    noise = "".join(chr(c) for c in range(1, 32)) if separators_taken else ""
    table = {f"Product {i}": f"SKU-{i}{noise}" for i in range(0, 400, 2)}
    rule = one_rule(Action("lookup", {"field": "sku", "source_field": "name", "table": "skus"}),
                    Action("modify_field", {"field": "sku", "mode": "append", "value": "!"}),
                    conditions=ConditionGroup("and", [Condition("price", "greater_than", 10)]))
    rows = [{**BASE_ROW, "name": f"Product {i}", "price": i % 50} for i in range(300)]
    compiled = compile_rules([rule], SCHEMA, {"skus": table})
    assert "LEFT JOIN" in compiled.explain() and "ORDER BY __rules_row" in compiled.explain()
    assert ("VALUES" in compiled.explain()) is separators_taken
    outs = run_both([rule], rows, lookups={"skus": table})
    assert [o.row["sku"] for o in outs[10:14]] == [None, "!", f"SKU-12{noise}!", "!"]


def test_layers_keep_many_rules_compact() -> None:
    rules = [Rule(f"r{i}", f"R{i}", priority=i, conditions=PRICE_OVER_100,
                  actions=[Action("add_tag", {"tag": f"t{i}"}), Action("set_field", {"field": f"f{i}", "value": "x"})])
             for i in range(30)]
    outs = run_both(rules, [BASE_ROW, {**BASE_ROW, "price": 1}])
    assert len(outs[0].tags) == 30 and outs[1].tags == []


# --- extensions use the same registries as the built-ins ----------------------------

class _Shout(PreparedAction):
    def __init__(self, column: str) -> None:
        self.column = column

    def apply(self, state: RowState) -> list[FieldChange]:
        before = state.row[self.column]
        state.row[self.column] = (before or "").upper() + "!"
        return [FieldChange("shout", self.column, before, state.row[self.column])]

    def sql(self, ctx: SqlContext) -> list[Assignment]:
        ref = ctx.column(self.column)
        return [Assignment(self.column, f"upper(coalesce({ref}, '')) || '!'", frozenset({self.column}))]


class ShoutAction(ActionSpec):
    """Upper-case a column and add '!' (ASCII text only: upper differs beyond it)."""

    name = "shout"
    label = "Shout"
    params = (Param("field", "field"),)
    writes_kind = "text"

    def prepare(self, params: dict, ctx: PrepareContext) -> PreparedAction:  # type: ignore[override]
        return _Shout(params["field"])


def test_an_extension_is_one_registry_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    operators, actions = dict(OPERATORS), dict(ACTIONS)
    monkeypatch.setattr("engine.rules.plan.OPERATORS", operators)
    monkeypatch.setattr("engine.rules.plan.ACTIONS", actions)
    monkeypatch.setattr("engine.rules.operators.OPERATORS", operators)
    monkeypatch.setattr("engine.rules.actions.ACTIONS", actions)
    register_operator(OperatorSpec(
        "longer_than", "is longer than", ALL_KINDS, "scalar", lambda value, _cs: int(value),
        lambda cell, n, _cs: len(cell.text) > n, lambda cell, n, _cs: f"(length({cell.text}) > {int(n)})"))
    register_action(ShoutAction())
    rule = one_rule(Action("shout", {"field": "city"}),
                    conditions=ConditionGroup("and", [Condition("name", "longer_than", 5)]))
    outs = run_both([rule], [BASE_ROW, {**BASE_ROW, "name": "Hat"}])
    assert [o.row["city"] for o in outs] == ["PARIS!", "Paris"]
    assert "longer_than" not in OPERATORS
