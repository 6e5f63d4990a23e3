"""The rule data model: plain dataclasses with a JSON round trip.

JSON shape (keys other than these are refused, so typos surface):
    {"id": "r1", "name": "Premium", "enabled": true, "priority": 10,
     "conditions": {"logic": "and", "items": [
         {"field": "price", "operator": "greater_than", "value": 100, "case_sensitive": false},
         {"logic": "or", "items": [...]}]},
     "actions": [{"type": "set_field", "params": {"field": "title", "value": "Premium {{ name }}"}}]}
A rule set is a list of rules or {"rules": [...]}. `enabled` defaults to true, `priority`
to 0, `name` to the id, `conditions` to the empty group (which matches every row).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.rules.errors import RuleError

LOGICS = ("and", "or")
MAX_DEPTH = 20


@dataclass
class Condition:
    """Compare one column of the original row with a value."""

    field: str
    operator: str
    value: Any = None
    case_sensitive: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        out: dict[str, Any] = {"field": self.field, "operator": self.operator, "value": self.value}
        if self.case_sensitive:
            out["case_sensitive"] = True
        return out

    def describe(self) -> str:
        """Readable form for traces: `price greater_than 100`."""
        return f"{self.field} {self.operator}" + ("" if self.value in (None, "") else f" {self.value!r}")


@dataclass
class ConditionGroup:
    """AND/OR over conditions and nested groups; an empty group matches every row."""

    logic: str = "and"
    items: list[Condition | ConditionGroup] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"logic": self.logic, "items": [item.to_dict() for item in self.items]}


@dataclass
class Action:
    """One action: its registry name and parameters."""

    type: str
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"type": self.type, "params": dict(self.params)}


@dataclass
class Rule:
    """Enabled flag, priority, conditions on the original row, and actions."""

    id: str
    name: str
    enabled: bool = True
    priority: int = 0
    conditions: ConditionGroup = field(default_factory=ConditionGroup)
    actions: list[Action] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"id": self.id, "name": self.name, "enabled": self.enabled, "priority": self.priority,
                "conditions": self.conditions.to_dict(), "actions": [a.to_dict() for a in self.actions]}

    def to_json(self) -> str:
        """This rule as JSON text."""
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Rule:
        """Parse one rule (structure only; `parse_rules` also validates)."""
        return rule_from_data(_load(text), 1)


@dataclass
class RuleSet:
    """An ordered list of rules with a JSON round trip."""

    rules: list[Rule] = field(default_factory=list)

    def ordered(self) -> list[Rule]:
        """Every rule in firing order: ascending priority, ties by list order."""
        return ordered(self.rules)

    def to_json(self, indent: int | None = None) -> str:
        """{"rules": [...]} as JSON text."""
        return json.dumps({"rules": [r.to_dict() for r in self.rules]}, ensure_ascii=False, indent=indent)

    @classmethod
    def from_json(cls, text: str | Sequence[Any] | Mapping[str, Any]) -> RuleSet:
        """Parse a rule set (structure only; `parse_rules` also validates)."""
        return cls(rules_from_data(text))


def ordered(rules: Sequence[Rule]) -> list[Rule]:
    """Rules in firing order: ascending priority, ties by list order."""
    return [rule for _, rule in sorted(enumerate(rules), key=lambda pair: (pair[1].priority, pair[0]))]


def _load(data: Any) -> Any:
    if isinstance(data, (str, bytes)):
        try:
            return json.loads(data)
        except json.JSONDecodeError as exc:
            raise RuleError(f"the rules are not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
                            line=exc.lineno, column=exc.colno) from None
    return data


def rules_from_data(data: Any) -> list[Rule]:
    """Rules from JSON text, a list of dicts/Rules or {"rules": [...]}; checks structure only."""
    data = _load(data)
    if isinstance(data, RuleSet):
        data = data.rules
    if isinstance(data, Mapping) and set(data) == {"rules"}:
        data = data["rules"]
    if not isinstance(data, Sequence) or isinstance(data, (str, bytes)):
        raise RuleError('rules must be a list of rules or {"rules": [...]}')
    rules = [item if isinstance(item, Rule) else rule_from_data(item, index)
             for index, item in enumerate(data, start=1)]
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise RuleError(f"Rule {rule.name!r}: the id {rule.id!r} is used by another rule; ids must be unique",
                            rule_id=rule.id, rule_name=rule.name)
        seen.add(rule.id)
    return rules


def _keys(obj: Any, allowed: Sequence[str], required: Sequence[str], what: str, where: str) -> Mapping[str, Any]:
    if not isinstance(obj, Mapping):
        raise RuleError(f"{where}: {what} must be an object")
    unknown = [key for key in obj if key not in allowed]
    if unknown:
        raise RuleError(f"{where}: unknown key {unknown[0]!r} in {what} (allowed: {', '.join(allowed)})")
    missing = [key for key in required if key not in obj]
    if missing:
        raise RuleError(f"{where}: {what} needs {missing[0]!r}")
    return obj


def rule_from_data(obj: Any, index: int) -> Rule:
    """One Rule from a dict; errors name the rule and what to fix."""
    if isinstance(obj, Rule):
        return obj
    where = f"Rule {index}"
    if isinstance(obj, Mapping) and isinstance(obj.get("name") or obj.get("id"), str):
        where = f"Rule {obj.get('name') or obj.get('id')!r}"
    data = _keys(obj, ("id", "name", "enabled", "priority", "conditions", "actions"), ("id",), "a rule", where)
    rule_id, name = data["id"], data.get("name", data["id"])
    if not isinstance(rule_id, str) or not rule_id.strip() or "\x00" in rule_id:
        raise RuleError(f"{where}: 'id' must be non-empty text")
    if not isinstance(name, str):
        raise RuleError(f"{where}: 'name' must be text")
    enabled, priority = data.get("enabled", True), data.get("priority", 0)
    if not isinstance(enabled, bool):
        raise RuleError(f"{where}: 'enabled' must be true or false")
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise RuleError(f"{where}: 'priority' must be a whole number")
    conditions = group_from_data(data.get("conditions", {"logic": "and", "items": []}), where, 1)
    actions_data = data.get("actions", [])
    if not isinstance(actions_data, list):
        raise RuleError(f"{where}: 'actions' must be a list")
    actions = []
    for number, item in enumerate(actions_data, start=1):
        if isinstance(item, Action):
            actions.append(item)
            continue
        act = _keys(item, ("type", "params"), ("type",), f"action {number}", where)
        if not isinstance(act["type"], str):
            raise RuleError(f"{where}: action {number} 'type' must be text")
        params = act.get("params", {})
        if not isinstance(params, Mapping):
            raise RuleError(f"{where}: action {number} 'params' must be an object")
        actions.append(Action(act["type"], dict(params)))
    return Rule(rule_id, name, enabled, priority, conditions, actions)


def group_from_data(obj: Any, where: str, depth: int) -> ConditionGroup:
    """A ConditionGroup from a dict, nested groups included."""
    if isinstance(obj, ConditionGroup):
        return obj
    if depth > MAX_DEPTH:
        raise RuleError(f"{where}: condition groups are nested more than {MAX_DEPTH} deep")
    data = _keys(obj, ("logic", "items"), (), "a condition group", where)
    logic = data.get("logic", "and")
    if logic not in LOGICS:
        raise RuleError(f"{where}: condition group logic must be 'and' or 'or', not {logic!r}")
    items_data = data.get("items", [])
    if not isinstance(items_data, list):
        raise RuleError(f"{where}: condition group 'items' must be a list")
    items: list[Condition | ConditionGroup] = []
    for item in items_data:
        if isinstance(item, (Condition, ConditionGroup)):
            items.append(item)
        elif isinstance(item, Mapping) and ("items" in item or "logic" in item):
            items.append(group_from_data(item, where, depth + 1))
        else:
            cond = _keys(item, ("field", "operator", "value", "case_sensitive"), ("field", "operator"),
                         "a condition", where)
            if not isinstance(cond["field"], str) or not isinstance(cond["operator"], str):
                raise RuleError(f"{where}: a condition's 'field' and 'operator' must be text")
            case_sensitive = cond.get("case_sensitive", False)
            if not isinstance(case_sensitive, bool):
                raise RuleError(f"{where}: 'case_sensitive' must be true or false")
            items.append(Condition(cond["field"], cond["operator"], cond.get("value"), case_sensitive))
    return ConditionGroup(logic, items)


def rules_to_json(rules: Sequence[Rule], indent: int | None = None) -> str:
    """A list of rules as JSON text (a list)."""
    return json.dumps([r.to_dict() for r in rules], ensure_ascii=False, indent=indent)
