"""Action × row → expected row, chaining, priorities, skips, nested groups and the trace.

Every case runs per row and compiled (see `run_both`), so each expectation covers both.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from engine.rules import (
    ACTIONS,
    Action,
    Condition,
    ConditionGroup,
    Rule,
    apply_rules,
    compile_rules,
    prepare_rules,
)
from tests.engine.test_rules_helpers import BASE_ROW, SCHEMA, one_rule, run_both

A = Action
SPACED = {**SCHEMA, "unit price": "decimal"}

CASES: list[tuple[str, Action, dict[str, Any], dict[str, Any]]] = [
    # id, action, row overrides, expected changes in the output row
    ("set literal", A("set_field", {"field": "name", "value": "X"}), {}, {"name": "X"}),
    ("set empty", A("set_field", {"field": "name", "value": ""}), {}, {"name": ""}),
    ("set new column", A("set_field", {"field": "tier", "value": "gold"}), {}, {"tier": "gold"}),
    ("set integer column", A("set_field", {"field": "price", "value": "cheap"}), {}, {"price": "cheap"}),
    ("set quotes", A("set_field", {"field": "name", "value": "it's \"ok\" \\n"}), {}, {"name": "it's \"ok\" \\n"}),
    ("append", A("modify_field", {"field": "name", "mode": "append", "value": "!"}), {}, {"name": "Shoe 42!"}),
    ("append to null", A("modify_field", {"field": "name", "mode": "append", "value": "!"}), {"name": None},
     {"name": "!"}),
    ("prepend", A("modify_field", {"field": "name", "mode": "prepend", "value": "New "}), {},
     {"name": "New Shoe 42"}),
    ("replace", A("modify_field", {"field": "name", "mode": "replace", "find": "o", "value": "0"}), {},
     {"name": "Sh0e 42"}),
    ("replace is case-sensitive", A("modify_field", {"field": "name", "mode": "replace", "find": "s", "value": "$"}),
     {}, {"name": "Shoe 42"}),
    ("replace with nothing", A("modify_field", {"field": "name", "mode": "replace", "find": " 42"}), {},
     {"name": "Shoe"}),
    ("regex replace", A("modify_field", {"field": "name", "mode": "replace", "find": "[0-9]+", "regex": True,
                                         "value": "#"}), {}, {"name": "Shoe #"}),
    ("regex replacement is literal", A("modify_field", {"field": "name", "mode": "replace", "find": "(4)2",
                                                        "regex": True, "value": "\\1$0"}), {}, {"name": "Shoe \\1$0"}),
    ("regex replace all", A("modify_field", {"field": "city", "mode": "replace", "find": "[aeiou]", "regex": True,
                                             "value": "_"}), {}, {"city": "P_r_s"}),
    ("append to integer", A("modify_field", {"field": "price", "mode": "append", "value": " USD"}), {},
     {"price": "150 USD"}),
    ("append to decimal", A("modify_field", {"field": "cost", "mode": "append", "value": "€"}), {}, {"cost": "9.5€"}),
    ("append to boolean", A("modify_field", {"field": "active", "mode": "append", "value": "?"}), {},
     {"active": "True?"}),
    ("append to date", A("modify_field", {"field": "launch", "mode": "prepend", "value": "on "}), {},
     {"launch": "on 2024-05-01"}),
    ("append to datetime", A("modify_field", {"field": "seen", "mode": "append", "value": "Z"}), {},
     {"seen": "2024-05-01 10:00:00Z"}),
    ("group", A("add_to_group", {"group": "summer"}), {}, {"__groups": ["summer"]}),
    ("remove group", A("remove_from_group", {"group": "summer"}), {}, {}),
    ("tag", A("add_tag", {"tag": "sale"}), {}, {"__tags": ["sale"]}),
    ("targeting", A("set_targeting", {"key": "subreddit", "value": "r/shoes"}), {},
     {"__target_subreddit": "r/shoes"}),
    ("skip", A("skip", {}), {}, {"__skipped": True}),
    ("calculate", A("calculate", {"field": "total", "expression": "price * 2"}), {}, {"total": 300.0}),
    ("calculate in place", A("calculate", {"field": "price", "expression": "price + 0.5"}), {}, {"price": 150.5}),
    ("calculate divide by zero", A("calculate", {"field": "t", "expression": "price / (cost - 9.5)"}), {},
     {"t": None}),
    ("calculate modulo by zero", A("calculate", {"field": "t", "expression": "price % 0"}), {}, {"t": None}),
    ("calculate fmod sign", A("calculate", {"field": "t", "expression": "-cost % 4"}), {}, {"t": -1.5}),
    ("calculate null", A("calculate", {"field": "t", "expression": "price + 1"}), {"price": None}, {"t": None}),
    ("calculate round", A("calculate", {"field": "t", "expression": "round(cost * 1.1, 2)"}), {}, {"t": 10.45}),
    ("calculate round half away", A("calculate", {"field": "t", "expression": "round(2.5) + round(-2.5)"}), {},
     {"t": 0.0}),
    ("calculate round scaled", A("calculate", {"field": "t", "expression": "round(-93.05, 1)"}), {}, {"t": -93.1}),
    ("calculate min skips null", A("calculate", {"field": "t", "expression": "min(price, cost, 3)"}),
     {"price": None}, {"t": 3.0}),
    ("calculate max", A("calculate", {"field": "t", "expression": "max(price, cost)"}), {}, {"t": 150.0}),
    ("calculate abs", A("calculate", {"field": "t", "expression": "abs(cost - price)"}), {}, {"t": 140.5}),
    ("calculate overflow", A("calculate", {"field": "t", "expression": "cost * 1e308 * 10"}), {}, {"t": None}),
    ("calculate negative zero", A("calculate", {"field": "t", "expression": "-0.0 * price"}), {}, {"t": 0.0}),
    ("calculate text number", A("calculate", {"field": "t", "expression": "name * 2"}), {"name": " 12.5 "},
     {"t": 25.0}),
    ("calculate text not number", A("calculate", {"field": "t", "expression": "name * 2"}), {}, {"t": None}),
    ("calculate into text column", A("calculate", {"field": "city", "expression": "1 + 1"}), {}, {"city": 2.0}),
    ("lookup", A("lookup", {"field": "code", "source_field": "city", "table": [["Paris", "PAR"], ["Rome", "ROM"]]}),
     {}, {"code": "PAR"}),
    ("lookup default", A("lookup", {"field": "code", "source_field": "city", "table": [["Rome", "ROM"]],
                                    "default": "?"}), {}, {"code": "?"}),
    ("lookup miss keeps", A("lookup", {"field": "city", "source_field": "city", "table": [["Rome", "ROM"]]}), {}, {}),
    ("lookup in place", A("lookup", {"field": "city", "source_field": "city", "table": [["Paris", "Paname"]]}), {},
     {"city": "Paname"}),
    ("lookup is case-sensitive", A("lookup", {"field": "code", "source_field": "city", "table": [["paris", "x"]]}),
     {}, {"code": None}),
    ("lookup number key", A("lookup", {"field": "band", "source_field": "price", "table": [[150, "high"]]}), {},
     {"band": "high"}),
    ("lookup null key", A("lookup", {"field": "code", "source_field": "city", "table": [["", "none"]]}),
     {"city": None}, {"code": "none"}),
    ("lookup data set", A("lookup", {"field": "code", "source_field": "city", "table": "cities"}), {},
     {"code": "FR-75"}),
]
LOOKUPS = {"cities": {"Paris": "FR-75", "Lyon": "FR-69"}}


def _expected(action: Action, overrides: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    rule = one_rule(action)
    kinds = prepare_rules([rule], SCHEMA, LOOKUPS).output_schema
    row = {**BASE_ROW, **overrides}
    out = {column: row.get(column) for column in kinds}
    for column, kind in kinds.items():
        if out[column] is not None and kind != SCHEMA.get(column, kind):
            out[column] = str(out[column])  # only reached for columns that became text
    return {**out, **{k: v for k, v in changes.items() if not k.startswith("__")}}


@pytest.mark.parametrize(("action", "overrides", "changes"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_action_table(action: Action, overrides: dict[str, Any], changes: dict[str, Any]) -> None:
    (out,) = run_both([one_rule(action)], [{**BASE_ROW, **overrides}], lookups=LOOKUPS)
    assert out.row == _expected(action, overrides, changes)
    assert out.skipped is changes.get("__skipped", False)
    assert out.tags == changes.get("__tags", [])
    assert out.groups == changes.get("__groups", [])
    assert out.targeting == {k.removeprefix("__target_"): v for k, v in changes.items() if k.startswith("__target_")}
    assert out.fired == ["r1"]


def test_every_action_has_a_case() -> None:
    assert {case[1].type for case in CASES} == set(ACTIONS)


def test_spaced_column_names_work_everywhere() -> None:
    rule = one_rule(A("calculate", {"field": "with tax", "expression": 'row["unit price"] * 1.2'}),
                    A("set_field", {"field": "label", "value": "x"}),
                    conditions=ConditionGroup("and", [Condition("unit price", "greater_than", 5)]))
    (out,) = run_both([rule], [{**BASE_ROW, "unit price": 10.0}], SPACED)
    assert out.row["with tax"] == 12.0


@pytest.mark.parametrize(("kinds_in", "column", "kind_out"), [
    ({"price": "integer"}, "price", "text"),
    ({"cost": "decimal"}, "cost", "text"),
])
def test_type_rule_makes_written_columns_text_for_every_row(kinds_in: dict[str, str], column: str,
                                                            kind_out: str) -> None:
    rule = one_rule(A("set_field", {"field": column, "value": "n/a"}),
                    conditions=ConditionGroup("and", [Condition("name", "equals", "match me")]))
    compiled = compile_rules([rule], SCHEMA)
    assert compiled.output_schema[column] == kind_out
    rows = [{**BASE_ROW, "name": "match me"}, BASE_ROW, {**BASE_ROW, column: None}]
    outs = run_both([rule], rows)
    assert [o.row[column] for o in outs] == ["n/a", str(BASE_ROW[column]), None]


def test_type_rule_text_wins_over_decimal() -> None:
    rules = [Rule("a", "calc", actions=[A("calculate", {"field": "cost", "expression": "cost * 2"})]),
             Rule("b", "label", actions=[A("modify_field", {"field": "cost", "mode": "append", "value": " €"})])]
    assert compile_rules(rules, SCHEMA).output_schema["cost"] == "text"
    (out,) = run_both(rules, [BASE_ROW])
    assert out.row["cost"] == "19.0 €"


def test_calculate_makes_integer_column_decimal() -> None:
    rule = one_rule(A("calculate", {"field": "price", "expression": "price / 4"}),
                    conditions=ConditionGroup("and", [Condition("name", "equals", "x")]))
    assert compile_rules([rule], SCHEMA).output_schema["price"] == "decimal"
    outs = run_both([rule], [{**BASE_ROW, "name": "x"}, BASE_ROW])
    assert [o.row["price"] for o in outs] == [37.5, 150.0]


# --- chaining, priorities, skips -------------------------------------------------------

def _rule(rule_id: str, priority: int, *actions: Action, enabled: bool = True, **where: Any) -> Rule:
    items: list[Condition | ConditionGroup] = [Condition(field, "equals", value) for field, value in where.items()]
    return Rule(rule_id, f"Rule {rule_id}", enabled, priority, ConditionGroup("and", items), list(actions))


def test_priorities_ascending_and_later_set_wins() -> None:
    rules = [_rule("late", 2, A("set_field", {"field": "name", "value": "late"})),
             _rule("early", 1, A("set_field", {"field": "name", "value": "early"}))]
    (out,) = run_both(rules, [BASE_ROW])
    assert out.row["name"] == "late"
    assert out.fired == ["early", "late"]


def test_priority_ties_keep_list_order() -> None:
    rules = [_rule(str(i), 0, A("modify_field", {"field": "name", "mode": "append", "value": str(i)}))
             for i in range(4)]
    (out,) = run_both(rules, [BASE_ROW])
    assert out.row["name"] == "Shoe 420123"


def test_conditions_see_the_original_row() -> None:
    rules = [_rule("a", 0, A("set_field", {"field": "city", "value": "Rome"})),
             _rule("b", 1, A("add_tag", {"tag": "was paris"}), city="Paris")]
    (out,) = run_both(rules, [BASE_ROW])
    assert out.row["city"] == "Rome"
    assert out.tags == ["was paris"]


def test_actions_chain_on_the_modified_row() -> None:
    rules = [_rule("a", 0, A("set_field", {"field": "name", "value": "Boot"}),
                   A("modify_field", {"field": "name", "mode": "append", "value": "s"}),
                   A("calculate", {"field": "double", "expression": "price * 2"}),
                   A("calculate", {"field": "triple", "expression": "double + price"}),
                   A("lookup", {"field": "kind", "source_field": "name", "table": [["Boots", "footwear"]]}))]
    (out,) = run_both(rules, [BASE_ROW])
    assert (out.row["name"], out.row["triple"], out.row["kind"]) == ("Boots", 450.0, "footwear")


def test_disabled_rules_never_fire() -> None:
    rules = [_rule("off", 0, A("set_field", {"field": "name", "value": "off"}), enabled=False),
             _rule("on", 1, A("add_tag", {"tag": "on"}))]
    (out,) = run_both(rules, [BASE_ROW])
    assert out.row["name"] == "Shoe 42"
    assert out.fired == ["on"]
    assert out.trace[0].reason == "disabled"


def test_skip_stops_the_rule_and_later_rules() -> None:
    rules = [_rule("a", 0, A("add_tag", {"tag": "before"}), A("skip", {}), A("add_tag", {"tag": "after"})),
             _rule("b", 1, A("set_field", {"field": "name", "value": "changed"}))]
    (out,) = run_both(rules, [BASE_ROW])
    assert out.skipped and out.tags == ["before"] and out.row["name"] == "Shoe 42"
    assert out.fired == ["a"]
    assert out.trace[1].reason == "row already skipped"


def test_groups_and_tags_deduplicate_and_remove() -> None:
    rules = [_rule("a", 0, A("add_to_group", {"group": "g"}), A("add_to_group", {"group": "h"}),
                   A("add_tag", {"tag": "t"})),
             _rule("b", 1, A("add_to_group", {"group": "g"}), A("add_tag", {"tag": "t"}),
                   A("remove_from_group", {"group": "h"}), A("add_to_group", {"group": "i"}))]
    (out,) = run_both(rules, [BASE_ROW])
    assert (out.groups, out.tags) == (["g", "i"], ["t"])


def test_targeting_later_value_wins_and_unset_keys_are_null() -> None:
    rules = [_rule("a", 0, A("set_targeting", {"key": "subreddit", "value": "r/a"})),
             _rule("b", 1, A("set_targeting", {"key": "subreddit", "value": "r/b"}),
                   A("set_targeting", {"key": "flair", "value": "Deal"}), city="Rome")]
    outs = run_both(rules, [BASE_ROW, {**BASE_ROW, "city": "Rome"}])
    assert [o.targeting for o in outs] == [{"subreddit": "r/a"}, {"subreddit": "r/b", "flair": "Deal"}]
    assert compile_rules(rules, SCHEMA).target_columns == ("__target_subreddit", "__target_flair")


def _nested(logic: str, *items: Condition | ConditionGroup) -> ConditionGroup:
    return ConditionGroup(logic, list(items))


NESTED = _nested("and", Condition("price", "greater_than", 100),
                 _nested("or", Condition("city", "equals", "Rome"),
                         _nested("and", Condition("name", "contains", "shoe"), Condition("active", "equals", True))))


@pytest.mark.parametrize(("row", "fires"), [
    ({}, True),
    ({"price": 50}, False),
    ({"city": "Rome", "name": "Hat"}, True),
    ({"name": "Hat"}, False),
    ({"active": False}, False),
    ({"active": None, "city": "rome"}, True),
])
def test_nested_groups(row: dict[str, Any], fires: bool) -> None:
    (out,) = run_both([one_rule(A("add_tag", {"tag": "x"}), conditions=NESTED)], [{**BASE_ROW, **row}])
    assert out.fired == (["r1"] if fires else [])


@pytest.mark.parametrize("logic", ["and", "or"])
def test_empty_group_matches_every_row(logic: str) -> None:
    outs = run_both([one_rule(A("add_tag", {"tag": "x"}), conditions=ConditionGroup(logic, []))],
                    [BASE_ROW, {k: None for k in BASE_ROW}])
    assert [o.tags for o in outs] == [["x"], ["x"]]


def test_trace_explains_a_row() -> None:
    rules = [_rule("p", 0, A("set_field", {"field": "name", "value": "Premium"}), A("add_tag", {"tag": "vip"})),
             Rule("q", "Cheap", conditions=_nested("and", Condition("price", "less_than", 100)),
                  actions=[A("skip", {})]),
             Rule("r", "Rome or Milan", conditions=_nested("or", Condition("city", "equals", "Rome"),
                                                           Condition("city", "equals", "Milan")),
                  actions=[A("skip", {})]),
             _rule("d", 5, A("skip", {}), enabled=False)]
    out = apply_rules(rules, BASE_ROW, schema=SCHEMA)
    p, q, r, d = out.trace
    assert (p.matched, [(c.action, c.field, c.before, c.after) for c in p.changes]) == (
        True, [("set_field", "name", "Shoe 42", "Premium"), ("add_tag", "__tags", [], ["vip"])])
    assert not q.matched and q.reason == "price is less than 100 — no, it is '150'"
    assert r.reason == ("none of these matched: city equals 'Rome' — no, it is 'Paris'; "
                        "city equals 'Milan' — no, it is 'Paris'")
    assert d.reason == "disabled"
    assert "Rule p: fired" in out.explain() and "'Shoe 42' -> 'Premium'" in out.explain()


def test_trace_shows_empty_cells() -> None:
    rule = Rule("q", "Needs price", conditions=_nested("and", Condition("price", "greater_than", 1)),
                actions=[A("skip", {})])
    out = apply_rules([rule], {**BASE_ROW, "price": None}, schema=SCHEMA)
    assert out.trace[0].reason == "price is greater than 1 — no, it is empty"


def test_new_columns_come_after_input_columns() -> None:
    rules = [_rule("a", 0, A("set_field", {"field": "zeta", "value": "z"}),
                   A("calculate", {"field": "alpha", "expression": "1"}))]
    assert list(compile_rules(rules, SCHEMA).output_schema) == [*SCHEMA, "zeta", "alpha"]


LIST_ACTIONS = [A("add_to_group", {"group": "g"}), A("remove_from_group", {"group": "g"}),
                A("add_to_group", {"group": "h"}), A("add_tag", {"tag": "t"})]


@pytest.mark.parametrize("sequence", list(itertools.product(range(len(LIST_ACTIONS)), repeat=3)))
def test_list_semantics_for_every_firing_pattern(sequence: tuple[int, ...]) -> None:
    schema = {f"f{i}": "boolean" for i in range(len(sequence))}
    rules = [Rule(f"r{i}", f"R{i}", conditions=ConditionGroup("and", [Condition(f"f{i}", "equals", True)]),
                  actions=[LIST_ACTIONS[a]]) for i, a in enumerate(sequence)]
    rows = [dict(zip(schema, bits)) for bits in itertools.product([True, False], repeat=len(sequence))]
    run_both(rules, rows, schema)


def test_trace_off_gives_the_same_row() -> None:
    rules = [_rule("a", 0, A("set_field", {"field": "name", "value": "x"}), A("add_tag", {"tag": "t"})),
             _rule("b", 1, A("skip", {}), city="Rome")]
    prepared = prepare_rules(rules, SCHEMA)
    for row in (BASE_ROW, {**BASE_ROW, "city": "Rome"}):
        full, fast = prepared.apply(row), prepared.apply(row, trace=False)
        assert (fast.row, fast.skipped, fast.tags, fast.fired, fast.trace) == (
            full.row, full.skipped, full.tags, full.fired, [])
