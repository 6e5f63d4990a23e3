"""The rule model: JSON round trip, validation and the messages a rule author sees."""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine.errors import EngineError
from engine.rules import (
    Action,
    Condition,
    ConditionGroup,
    Rule,
    RuleError,
    RuleSet,
    apply_rules,
    compile_rules,
    parse_rules,
    rules_to_json,
)
from tests.engine.test_rules_helpers import SCHEMA

RULES_JSON = [
    {"id": "r1", "name": "Premium", "enabled": True, "priority": 10,
     "conditions": {"logic": "and", "items": [
         {"field": "price", "operator": "greater_than", "value": 100},
         {"logic": "or", "items": [{"field": "city", "operator": "in", "value": ["Paris", "Rome"]},
                                   {"field": "name", "operator": "regex", "value": "^VIP", "case_sensitive": True}]}]},
     "actions": [{"type": "set_field", "params": {"field": "tier", "value": "premium"}},
                 {"type": "add_tag", "params": {"tag": "vip"}}]},
    {"id": "r2", "name": "Skip blanks", "enabled": False, "priority": 0,
     "conditions": {"logic": "and", "items": [{"field": "name", "operator": "is_empty", "value": None}]},
     "actions": [{"type": "skip", "params": {}}]},
]


def test_json_round_trip() -> None:
    rules = parse_rules(json.dumps(RULES_JSON), schema=SCHEMA)
    assert json.loads(rules_to_json(rules)) == RULES_JSON
    assert parse_rules(rules_to_json(rules)) == rules
    ruleset = RuleSet(rules)
    assert RuleSet.from_json(ruleset.to_json()) == ruleset
    assert Rule.from_json(rules[0].to_json()) == rules[0]
    assert parse_rules({"rules": RULES_JSON}) == rules


def test_dataclasses_are_the_model() -> None:
    (rule, _) = parse_rules(RULES_JSON)
    assert rule.conditions.items[0] == Condition("price", "greater_than", 100)
    assert isinstance(rule.conditions.items[1], ConditionGroup)
    assert rule.actions[1] == Action("add_tag", {"tag": "vip"})


def test_defaults() -> None:
    (rule,) = parse_rules([{"id": "x", "actions": [{"type": "skip"}]}])
    assert (rule.name, rule.enabled, rule.priority, rule.conditions) == ("x", True, 0, ConditionGroup("and", []))


def test_ruleset_orders_by_priority_then_position() -> None:
    rules = [Rule(str(i), str(i), priority=p, actions=[Action("skip")]) for i, p in enumerate([2, 1, 2, 0])]
    assert [r.id for r in RuleSet(rules).ordered()] == ["3", "1", "0", "2"]


def _rule(**overrides: Any) -> list[dict[str, Any]]:
    base: dict[str, Any] = {"id": "r1", "name": "Premium",
                            "conditions": {"logic": "and", "items": [
                                {"field": "price", "operator": "greater_than", "value": 100}]},
                            "actions": [{"type": "add_tag", "params": {"tag": "x"}}]}
    base.update(overrides)
    return [base]


def _cond(**condition: Any) -> list[dict[str, Any]]:
    return _rule(conditions={"logic": "and", "items": [condition]})


def _act(action_type: str, **params: Any) -> list[dict[str, Any]]:
    return _rule(actions=[{"type": action_type, "params": params}])


ERRORS = [
    ("not json", "{oops", "the rules are not valid JSON"),
    ("not a list", json.dumps({"id": "x"}), 'rules must be a list of rules or {"rules": [...]}'),
    ("unknown rule key", _rule(priorty=1), "Rule 'Premium': unknown key 'priorty' in a rule"),
    ("missing id", [{"name": "n", "actions": []}], "Rule 'n': a rule needs 'id'"),
    ("duplicate id", _rule() + _rule(name="Other"), "the id 'r1' is used by another rule"),
    ("bad enabled", _rule(enabled="yes"), "'enabled' must be true or false"),
    ("bad priority", _rule(priority=1.5), "'priority' must be a whole number"),
    ("no actions", _rule(actions=[]), "Rule 'Premium': has no actions; add at least one"),
    ("bad logic", _rule(conditions={"logic": "xor", "items": []}), "logic must be 'and' or 'or', not 'xor'"),
    ("unknown operator", _cond(field="price", operator="grater_than", value=1),
     "Rule 'Premium': condition 1 uses unknown operator 'grater_than'; did you mean 'greater_than'?"),
    ("unknown column", _cond(field="prise", operator="equals", value=1),
     "Rule 'Premium': condition 1 uses unknown column 'prise'; did you mean 'price'?"),
    ("nested unknown column", _rule(conditions={"logic": "and", "items": [
        {"logic": "or", "items": [{"field": "city", "operator": "equals", "value": "x"},
                                  {"field": "citi", "operator": "equals", "value": "x"}]}]}),
     "condition 1.2 uses unknown column 'citi'"),
    ("condition key typo", _cond(field="price", operator="equals", valeu=1), "unknown key 'valeu' in a condition"),
    ("case_sensitive type", _cond(field="name", operator="equals", value="x", case_sensitive="no"),
     "'case_sensitive' must be true or false"),
    ("missing value", _cond(field="price", operator="greater_than"),
     "condition 1 (price greater_than) needs one value"),
    ("empty value", _cond(field="name", operator="contains", value=""), "needs a non-empty value"),
    ("list value", _cond(field="name", operator="equals", value=["a"]), "needs one value"),
    ("empty in", _cond(field="name", operator="in", value=[]), "needs at least one value"),
    ("in of objects", _cond(field="name", operator="in", value=[{"a": 1}]), "must be text or a number"),
    ("value on is_empty", _cond(field="name", operator="is_empty", value="x"), "takes no value"),
    ("bad regex", _cond(field="name", operator="regex", value="(a+)+"), "can take exponential time"),
    ("regex not text", _cond(field="name", operator="regex", value=5), "needs a regex pattern as text"),
    ("unknown action", _act("set_feild", field="x", value="y"),
     "Rule 'Premium': action 1 has unknown type 'set_feild'; did you mean 'set_field'?"),
    ("unknown param", _act("add_tag", tga="x"), "action 1 (add_tag): unknown parameter 'tga' (expected: tag)"),
    ("missing param", _act("set_field", field="x"), "action 1 (set_field): parameter 'value' is required"),
    ("param type", _act("add_tag", tag=5), "parameter 'tag' must be text"),
    ("empty tag", _act("add_tag", tag=" "), "parameter 'tag' must not be empty"),
    ("bad mode", _act("modify_field", field="name", mode="insert", value="x"),
     "parameter 'mode' must be one of append, prepend, replace, not 'insert'"),
    ("replace without find", _act("modify_field", field="name", mode="replace", value="x"),
     "mode 'replace' needs a non-empty 'find'"),
    ("find without replace", _act("modify_field", field="name", mode="append", value="x", find="y"),
     "'find' and 'regex' only apply to mode 'replace'"),
    ("empty-matching regex find", _act("modify_field", field="name", mode="replace", find="x*", regex=True),
     "can match empty text"),
    ("modify unknown column", _act("modify_field", field="nmae", mode="append", value="x"),
     "action 1 (modify_field) uses unknown column 'nmae'; did you mean 'name'?"),
    ("reserved target", _act("set_field", field="__skipped", value="x"), "names starting with '__' are reserved"),
    ("bad targeting key", _act("set_targeting", key="sub reddit", value="x"), "must start with a letter"),
    ("lookup pairs", _act("lookup", field="c", source_field="city", table=[["a"]]), "lookup pair 1 must be [key, value]"),
    ("lookup duplicate key", _act("lookup", field="c", source_field="city", table=[["a", "1"], ["a", "2"]]),
     "lookup key 'a' appears twice"),
    ("lookup source", _act("lookup", field="c", source_field="town", table=[["a", "1"]]),
     "uses unknown column 'town'"),
    ("calculate syntax", _act("calculate", field="t", expression="price *"), "is not valid arithmetic"),
    ("calculate unknown column", _act("calculate", field="t", expression="prise * 2"),
     "unknown column 'prise'; did you mean 'price'?"),
    ("calculate into date", _act("calculate", field="launch", expression="1"),
     "calculate cannot write numbers into the date column 'launch'"),
    ("calculate date operand", _act("calculate", field="t", expression="launch + 1"),
     "column 'launch' holds date values, which are not numbers"),
]


@pytest.mark.parametrize(("data", "message"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_error_messages(data: Any, message: str) -> None:
    with pytest.raises(RuleError) as info:
        parse_rules(data, schema=SCHEMA)
    assert message in str(info.value)
    assert isinstance(info.value, EngineError)


def test_errors_carry_rule_and_field() -> None:
    with pytest.raises(RuleError) as info:
        parse_rules(_cond(field="prise", operator="equals", value=1), schema=SCHEMA)
    assert (info.value.rule_id, info.value.rule_name, info.value.field) == ("r1", "Premium", "prise")


def test_without_schema_only_names_and_params_are_checked() -> None:
    assert parse_rules(_cond(field="anything", operator="equals", value=1))
    with pytest.raises(RuleError, match="unknown operator"):
        parse_rules(_cond(field="anything", operator="nope", value=1))


def test_lookup_data_set_is_checked_when_rules_run() -> None:
    rules = parse_rules(_act("lookup", field="c", source_field="city", table="regions"), schema=SCHEMA)
    for run in (lambda: compile_rules(rules, SCHEMA, {"cities": {}}),
                lambda: apply_rules(rules, {}, schema=SCHEMA, lookups={"cities": {}})):
        with pytest.raises(RuleError, match="lookup data set 'regions' is not available \\(available: cities\\)"):
            run()


@pytest.mark.parametrize(("schema", "message"), [
    ({"__row": "integer"}, "reserved"),
    ({"price": "money"}, "unknown kind 'money'"),
])
def test_bad_schemas(schema: dict[str, str], message: str) -> None:
    with pytest.raises(RuleError, match=message):
        compile_rules([], schema)


def test_deep_nesting_is_refused() -> None:
    group: dict[str, Any] = {"logic": "and", "items": []}
    for _ in range(25):
        group = {"logic": "and", "items": [group]}
    with pytest.raises(RuleError, match="nested more than 20 deep"):
        parse_rules(_rule(conditions=group))


def test_public_api_matches_the_contract() -> None:
    from engine import rules

    contract = ["Rule", "ConditionGroup", "Condition", "Action", "RuleSet", "RuleError", "OPERATORS", "ACTIONS", "parse_rules", "apply_rules", "RuleOutcome", "TraceStep", "compile_rules", "RulesSQL", "rule_match_counts"]
    assert [name for name in contract if not hasattr(rules, name)] == []
    assert set(rules.__all__) <= set(dir(rules))
    documented = {op for op in rules.OPERATORS if op in (rules.operators.__doc__ or "")}
    assert documented >= {"equals", "contains", "regex", "is_empty", "greater_than"}


def test_nul_characters_are_refused() -> None:
    with pytest.raises(RuleError, match="NUL"):
        parse_rules(_cond(field="name", operator="equals", value="a\x00b"), schema=SCHEMA)
    with pytest.raises(RuleError, match="NUL"):
        parse_rules(_act("set_field", field="name", value="a\x00"), schema=SCHEMA)


def test_disabled_rules_are_validated_too() -> None:
    data = _rule(enabled=False, actions=[{"type": "calculate", "params": {"field": "t", "expression": "2 ** 8"}}])
    with pytest.raises(RuleError, match="power"):
        parse_rules(data, schema=SCHEMA)
