"""The per-row reference path: apply rules to one row and trace why it looks the way it does.

Semantics (the SQL compiler reproduces them exactly):
- rules fire in ascending priority, ties by list order; disabled rules never fire;
- every condition is evaluated on the ORIGINAL row (input kinds); actions chain on the
  modified row, so a later set_field wins and templates see earlier changes;
- `skip` stops the row: no later action of the same rule nor any later rule runs;
- the type rule converts written columns up front (see `field_actions`), so every row of
  the output has the same kinds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.rules.actions import FieldChange, RowState
from engine.rules.operators import Cell, make_cell
from engine.rules.plan import (
    Plan,
    PreparedCondition,
    PreparedGroup,
    RulesInput,
    prepare_plan,
)
from engine.rules.values import coerce

_SHOWN = 60


@dataclass(frozen=True)
class TraceStep:
    """One rule's part in a row's story: did it fire, why not, and what it changed."""

    rule_id: str
    rule_name: str
    matched: bool
    reason: str | None = None  # why it did not fire: "disabled", "row already skipped", failing condition
    changes: tuple[FieldChange, ...] = ()

    def describe(self) -> str:
        """One readable line (plus one line per change)."""
        if not self.matched:
            return f"{self.rule_name}: did not fire ({self.reason})"
        lines = [f"{self.rule_name}: fired"]
        lines += [f"  {c.action} {c.field}: {c.before!r} -> {c.after!r}" for c in self.changes]
        return "\n".join(lines)


@dataclass
class RuleOutcome:
    """The row after the rules, its metadata, and the trace."""

    row: dict[str, Any]
    skipped: bool
    tags: list[str]
    groups: list[str]
    targeting: dict[str, str]
    trace: list[TraceStep]
    fired: list[str] = field(default_factory=list)  # rule ids, in firing order

    def explain(self) -> str:
        """The whole trace as text, for "why does row 17 look like this"."""
        return "\n".join(step.describe() for step in self.trace) or "no rules"


class PreparedRules:
    """Rules validated and prepared for one schema; `apply` runs them on a row."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan

    @property
    def output_schema(self) -> dict[str, str]:
        """Column → kind after the rules (input columns in order, then new ones)."""
        return dict(self.plan.kinds)

    def apply(self, row: Mapping[str, Any], *, trace: bool = True) -> RuleOutcome:
        """Run every rule on one row; `trace=False` skips building the trace (bulk fallback)."""
        plan = self.plan
        original = {column: row.get(column) for column in plan.schema}
        current = {column: coerce(original.get(column), plan.schema.get(column, kind), kind)
                   if column in plan.schema else None for column, kind in plan.kinds.items()}
        state = RowState(current, plan.kinds)
        cells: dict[str, Cell] = {}
        steps: list[TraceStep] = []
        fired: list[str] = []
        for rule in plan.order:
            prepared = plan.prepared.get(rule.id)
            if prepared is None or state.skipped:
                if trace:
                    steps.append(TraceStep(rule.id, rule.name, False,
                                           "disabled" if prepared is None else "row already skipped"))
                continue
            ok, why = _evaluate(prepared.group, original, cells, trace)
            if not ok:
                if trace:
                    steps.append(TraceStep(rule.id, rule.name, False, why))
                continue
            fired.append(rule.id)
            changes: list[FieldChange] = []
            for _action, runnable in prepared.actions:
                changes += runnable.apply(state)
                if state.skipped:
                    break
            if trace:
                steps.append(TraceStep(rule.id, rule.name, True, None, tuple(changes)))
        return RuleOutcome(state.row, state.skipped, state.tags, state.groups, state.targeting, steps, fired)


def prepare_rules(rules: RulesInput, schema: Mapping[str, str],
                  lookups: Mapping[str, Mapping[str, str]] | None = None) -> PreparedRules:
    """Validate and prepare once, then `apply` row after row (the per-row fallback)."""
    return PreparedRules(prepare_plan(rules, schema, lookups or {}))


def apply_rules(rules: RulesInput, row: Mapping[str, Any], *, schema: Mapping[str, str],
                lookups: Mapping[str, Mapping[str, str]] | None = None) -> RuleOutcome:
    """Apply `rules` to one row (the reference for the compiled SQL)."""
    return prepare_rules(rules, schema, lookups).apply(row)


def matches(group: PreparedGroup, row: Mapping[str, Any]) -> bool:
    """Whether a prepared condition group matches an original row."""
    return _evaluate(group, row, {}, False)[0]


def _evaluate(group: PreparedGroup, row: Mapping[str, Any], cells: dict[str, Cell],
              explain: bool) -> tuple[bool, str | None]:
    reasons: list[str] = []
    for item in group.items:
        ok, why = _evaluate_item(item, row, cells, explain)
        if group.logic == "and" and not ok:
            return False, why
        if group.logic == "or":
            if ok:
                return True, None
            reasons.append(why or "")
    if group.logic == "or" and group.items:
        return False, ("none of these matched: " + "; ".join(reasons)) if explain else None
    return True, None


def _evaluate_item(item: PreparedCondition | PreparedGroup, row: Mapping[str, Any],
                   cells: dict[str, Cell], explain: bool) -> tuple[bool, str | None]:
    if isinstance(item, PreparedGroup):
        return _evaluate(item, row, cells, explain)
    column = item.condition.field
    cell = cells.get(column)
    if cell is None:
        cell = cells[column] = make_cell(row.get(column), item.kind)
    if item.spec.evaluate(cell, item.value, item.condition.case_sensitive):
        return True, None
    if not explain:
        return False, None
    shown = "empty" if cell.blank else repr(cell.text if len(cell.text) <= _SHOWN else cell.text[:_SHOWN] + "…")
    c = item.condition
    value = "" if c.value in (None, "") else f" {c.value!r}"
    return False, f"{c.field} {item.spec.label}{value} — no, it is {shown}"
