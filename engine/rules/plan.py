"""Validation and preparation shared by the per-row path and the SQL compiler.

`parse_rules` checks names and parameters (and fields, when given a schema);
`prepare_plan` also applies the type rule, compiles templates, expressions and regexes,
and resolves lookup data sets, so both paths run from the same prepared plan.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.errors import EngineError
from engine.rules.actions import (
    ACTIONS,
    ActionSpec,
    PrepareContext,
    PreparedAction,
    validate_params,
)
from engine.rules.errors import RuleError
from engine.rules.model import (
    Action,
    Condition,
    ConditionGroup,
    Rule,
    RuleSet,
    ordered,
    rules_from_data,
)
from engine.rules.operators import OPERATORS, OperatorSpec
from engine.rules.values import KINDS

RulesInput = Sequence[Rule] | RuleSet


@dataclass(frozen=True)
class PreparedCondition:
    """A condition with its operator spec, column kind and prepared value."""

    condition: Condition
    kind: str
    spec: OperatorSpec
    value: Any


@dataclass(frozen=True)
class PreparedGroup:
    """A condition group of prepared items."""

    logic: str
    items: tuple[PreparedCondition | PreparedGroup, ...]


@dataclass(frozen=True)
class PreparedRule:
    """An enabled rule ready to run."""

    rule: Rule
    group: PreparedGroup
    actions: tuple[tuple[Action, PreparedAction], ...]


@dataclass(frozen=True)
class Plan:
    """Everything both paths need, computed once."""

    order: tuple[Rule, ...]  # every rule, firing order
    prepared: Mapping[str, PreparedRule]  # enabled rules by id
    schema: Mapping[str, str]  # input columns
    kinds: Mapping[str, str]  # output data columns (input order, then new columns)


def _did_you_mean(name: str, options: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(options), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _fail(rule: Rule, message: str, **extra: Any) -> RuleError:
    return RuleError(f"Rule {rule.name!r}: {message}", rule_id=rule.id, rule_name=rule.name, **extra)


def _as_list(rules: RulesInput | Any) -> list[Rule]:
    if isinstance(rules, RuleSet):
        return list(rules.rules)
    if isinstance(rules, Sequence) and all(isinstance(r, Rule) for r in rules):
        return list(rules)
    return rules_from_data(rules)


def check_schema(schema: Mapping[str, str]) -> dict[str, str]:
    """A column → kind mapping with known kinds and no reserved names (names differing only in letter case are
    told apart: the SQL reads them under engine.templates.sql_aliases names)."""
    for column, kind in schema.items():
        if kind not in KINDS:
            raise RuleError(f"column {column!r} has unknown kind {kind!r} (kinds: {', '.join(KINDS)})", field=column)
        if column.startswith("__"):
            raise RuleError(f"column {column!r} starts with '__', which is reserved for rule output; rename it",
                            field=column)
    return dict(schema)


Fail = Callable[[str, str | None], RuleError]


def _check_group(group: ConditionGroup, schema: Mapping[str, str] | None, path: str, fail: Fail) -> PreparedGroup:
    items: list[PreparedCondition | PreparedGroup] = []
    for number, item in enumerate(group.items, start=1):
        where = f"{path}.{number}" if path else str(number)
        if isinstance(item, ConditionGroup):
            items.append(_check_group(item, schema, where, fail))
            continue
        spec = OPERATORS.get(item.operator)
        if spec is None:
            raise fail(f"condition {where} uses unknown operator {item.operator!r}"
                       f"{_did_you_mean(item.operator, list(OPERATORS))} (operators: {', '.join(OPERATORS)})",
                       item.field)
        if schema is not None and item.field not in schema:
            raise fail(f"condition {where} uses unknown column {item.field!r}"
                       f"{_did_you_mean(item.field, list(schema))}", item.field)
        try:
            value = spec.prepare(item.value, item.case_sensitive)
        except (ValueError, TypeError) as exc:
            raise fail(f"condition {where} ({item.field} {item.operator}) {exc}", item.field) from None
        items.append(PreparedCondition(item, schema[item.field] if schema is not None else "text", spec, value))
    return PreparedGroup(group.logic, tuple(items))


def _rule_fail(rule: Rule) -> Fail:
    return lambda message, column: _fail(rule, message, field=column)


def prepare_conditions(rule: Rule, schema: Mapping[str, str]) -> PreparedGroup:
    """A rule's conditions, checked against `schema` and prepared."""
    return _check_group(rule.conditions, schema, "", _rule_fail(rule))


def prepare_group(group: ConditionGroup, schema: Mapping[str, str], *, label: str) -> PreparedGroup:
    """A standalone condition group (e.g. for COUNT_IF); errors start with `label`."""
    return _check_group(group, schema, "", lambda message, column: RuleError(f"{label}: {message}", field=column))


def _check_actions(rule: Rule) -> list[tuple[Action, ActionSpec, dict[str, Any]]]:
    if not rule.actions:
        raise _fail(rule, "has no actions; add at least one")
    out = []
    for number, action in enumerate(rule.actions, start=1):
        spec = ACTIONS.get(action.type)
        if spec is None:
            raise _fail(rule, f"action {number} has unknown type {action.type!r}"
                              f"{_did_you_mean(action.type, list(ACTIONS))} (actions: {', '.join(ACTIONS)})")
        try:
            params = validate_params(spec, action.params)
        except (ValueError, TypeError) as exc:
            raise _fail(rule, f"action {number} ({action.type}): {exc}") from None
        out.append((action, spec, params))
    return out


def validate_rules(rules: RulesInput, schema: Mapping[str, str] | None = None) -> list[Rule]:
    """Check operators, actions, parameters and (with a schema) columns; return the rules."""
    rule_list = _as_list(rules)
    if schema is not None:
        schema = check_schema(schema)
    created = {params.get("field") for rule in rule_list for _, spec, params in _check_actions(rule)
               if spec.creates_columns}
    for rule in rule_list:
        _check_group(rule.conditions, schema, "", _rule_fail(rule))
        for number, (action, spec, params) in enumerate(_check_actions(rule), start=1):
            for column in spec.reads(params):
                if schema is not None and column not in schema and column not in created:
                    raise _fail(rule, f"action {number} ({action.type}) uses unknown column {column!r}"
                                      f"{_did_you_mean(column, list(schema))}", field=column)
    return rule_list


def parse_rules(data: Any, *, schema: Mapping[str, str] | None = None) -> list[Rule]:
    """Rules from JSON text or a list, validated; errors name the rule and what to fix.

    With a schema this also checks columns, templates, expressions and regexes (lookup
    data set names are checked later, when the data sets are known).
    """
    rules = rules_from_data(data)
    if schema is None:
        return validate_rules(rules)
    prepare_plan([dataclasses.replace(rule, enabled=True) for rule in rules], schema, None)  # disabled ones too
    return rules


def output_kinds(rules: Sequence[Rule], schema: Mapping[str, str]) -> dict[str, str]:
    """The type rule: written columns become text (set/modify/lookup) or decimal (calculate)."""
    writes: dict[str, set[str]] = {}
    created = {params.get("field") for rule in rules if rule.enabled
               for _, spec, params in _check_actions(rule) if spec.creates_columns}
    for rule in ordered(rules):
        if not rule.enabled:
            continue
        for number, (_action, spec, params) in enumerate(_check_actions(rule), start=1):
            column = spec.target(params)
            if column is None or spec.writes_kind is None:
                continue
            if column not in schema and column not in created:
                raise _fail(rule, f"action {number} ({spec.name}) writes unknown column {column!r}"
                                  f"{_did_you_mean(column, list(schema))}", field=column)
            writes.setdefault(column, set()).add(spec.writes_kind)
    kinds = dict(schema)
    for column, effects in writes.items():
        kind = "text" if "text" in effects else "decimal"
        if kind == "decimal" and schema.get(column) in ("boolean", "date", "datetime"):
            culprit = next(r for r in rules if r.enabled and any(
                a.type == "calculate" and a.params.get("field") == column for a in r.actions))
            raise _fail(culprit, f"calculate cannot write numbers into the {schema[column]} column {column!r}; "
                                 "write to a new column", field=column)
        kinds[column] = kind
    return kinds


def prepare_plan(rules: RulesInput, schema: Mapping[str, str],
                 lookups: Mapping[str, Mapping[str, str]] | None = None) -> Plan:
    """Validate and prepare `rules` for `schema` (both paths run from this).

    `lookups=None` means "not known yet": lookup actions naming a data set are prepared
    with an empty table (used by `parse_rules`); callers that run rules pass a mapping.
    """
    rule_list = validate_rules(rules, schema)
    schema = check_schema(schema)
    kinds = output_kinds(rule_list, schema)
    ctx = PrepareContext(kinds, lookups)
    prepared: dict[str, PreparedRule] = {}
    for rule in ordered(rule_list):
        if not rule.enabled:
            continue
        group = prepare_conditions(rule, schema)
        actions = []
        for number, (action, spec, params) in enumerate(_check_actions(rule), start=1):
            try:
                actions.append((action, spec.prepare(params, ctx)))
            except RuleError:
                raise
            except (ValueError, TypeError, EngineError) as exc:
                message = getattr(exc, "message", None) or str(exc)
                raise _fail(rule, f"action {number} ({action.type}): {message}",
                            field=params.get("field")) from None
        prepared[rule.id] = PreparedRule(rule, group, tuple(actions))
    return Plan(tuple(ordered(rule_list)), prepared, schema, kinds)
