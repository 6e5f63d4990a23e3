"""Rules: conditions on the original row, chained actions, a per-row trace, compiled to DuckDB SQL.

Public API:
    Rule, ConditionGroup, Condition, Action, RuleSet       the data model (JSON round trip)
    parse_rules(json_or_list, schema=None) -> list[Rule]   validated; RuleError names rule + fix
    OPERATORS, ACTIONS                                     registries (register_operator/_action)
    apply_rules(rules, row, schema=, lookups=) -> RuleOutcome     the per-row reference + trace
    prepare_rules(rules, schema, lookups) -> PreparedRules        prepare once, .apply(row, trace=)
    compile_rules(rules, schema, lookups) -> RulesSQL             .select_sql(source), .output_schema
    rule_match_counts(rules, data, schema) -> {rule_id: n}        "Test on data"
    not_numbers(rules, columns, schema) -> [NotNumbers]           rows a numeric comparison passes over

Semantics in one place: enabled rules fire in ascending priority (ties: list order);
conditions read the original row, actions the modified-so-far row; `skip` ends the row's
processing. Comparison rules: `operators`; text/number conversions: `values`; regex
subset: `regex`; arithmetic: `calc`; type rule and per-action details: `field_actions`;
SQL shape and its one fallback (`NotCompilable` for templates outside the SQL subset):
`compile_sql`.
"""

from __future__ import annotations

from engine.rules import field_actions as _field_actions  # noqa: F401  (registers built-in actions)
from engine.rules import row_actions as _row_actions  # noqa: F401  (registers built-in actions)
from engine.rules.actions import (
    ACTIONS,
    ActionSpec,
    Assignment,
    FieldChange,
    Param,
    PrepareContext,
    PreparedAction,
    RowState,
    SqlContext,
    register_action,
)
from engine.rules.apply import (
    PreparedRules,
    RuleOutcome,
    TraceStep,
    apply_rules,
    prepare_rules,
)
from engine.rules.calc import CalcError, parse_expression
from engine.rules.compile_sql import RulesSQL, compile_rules, rule_match_counts
from engine.rules.errors import NotCompilable, RuleError
from engine.rules.model import (
    Action,
    Condition,
    ConditionGroup,
    Rule,
    RuleSet,
    rules_to_json,
)
from engine.rules.numbers import NotNumbers, not_numbers
from engine.rules.operators import OPERATORS, OperatorSpec, register_operator
from engine.rules.plan import parse_rules, validate_rules
from engine.rules.regex import PatternError, compile_pattern

__all__ = [
    "ACTIONS", "OPERATORS", "Action", "ActionSpec", "Assignment", "CalcError", "Condition", "ConditionGroup",
    "FieldChange", "NotCompilable", "NotNumbers", "OperatorSpec", "Param", "PatternError", "PrepareContext", "PreparedAction",
    "PreparedRules", "RowState", "Rule", "RuleError", "RuleOutcome", "RuleSet", "RulesSQL", "SqlContext",
    "TraceStep", "apply_rules", "compile_pattern", "compile_rules", "not_numbers", "parse_expression", "parse_rules",
    "prepare_rules", "register_action", "register_operator", "rule_match_counts", "rules_to_json",
    "validate_rules",
]
