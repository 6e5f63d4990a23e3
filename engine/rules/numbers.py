"""Which rows a numeric comparison passes over because their cell is not a number ("Test on data")."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.rules.model import Condition, ConditionGroup, Rule
from engine.rules.operators import OPERATORS, make_cell, make_operand
from engine.rules.values import TEXT_KINDS

EXAMPLES = 3


@dataclass(frozen=True)
class NotNumbers:
    """A condition comparing a text column with a number, and the rows whose cell is not a number."""

    rule_id: str
    rule_name: str
    field: str
    operator: str
    value: Any
    rows: int
    examples: tuple[tuple[int, str], ...]  # (1-based row, cell text)

    def message(self) -> str:
        label = OPERATORS[self.operator].label
        shown = ", ".join(f"row {row:,}: {text[:40]!r}" for row, text in self.examples)
        more = ", …" if self.rows > len(self.examples) else ""
        return (f"Rule {self.rule_name!r}: {self.rows:,} row{'s' if self.rows != 1 else ''} of {self.field!r} "
                f"{'are' if self.rows != 1 else 'is'} not a number, so '{label} {self.value}' does not match "
                f"{'them' if self.rows != 1 else 'it'} ({shown}{more}). Clean the column or compare text.")


def _numeric_conditions(group: ConditionGroup) -> Iterator[Condition]:
    for item in group.items:
        if isinstance(item, ConditionGroup):
            yield from _numeric_conditions(item)
        elif item.operator in OPERATORS and OPERATORS[item.operator].compares_numbers:
            yield item


def not_numbers(rules: Sequence[Rule], columns: Mapping[str, Sequence[Any]],
                schema: Mapping[str, str]) -> list[NotNumbers]:
    """For each numeric comparison on a text column: the non-blank cells that are not numbers.

    `columns`: column name → its values in row order (e.g. a polars column's `to_list()`).
    """
    found: list[NotNumbers] = []
    for rule in rules:
        for condition in _numeric_conditions(rule.conditions):
            kind = schema.get(condition.field)
            if kind not in TEXT_KINDS or condition.field not in columns:
                continue
            try:
                if make_operand(condition.value, True).number is None:
                    continue  # a text value compares text
            except (TypeError, ValueError):
                continue
            rows = 0
            examples: list[tuple[int, str]] = []
            for index, value in enumerate(columns[condition.field], start=1):
                cell = make_cell(value, kind)
                if cell.blank or cell.number is not None:
                    continue
                rows += 1
                if len(examples) < EXAMPLES:
                    examples.append((index, cell.text))
            if rows:
                found.append(NotNumbers(rule.id, rule.name, condition.field, condition.operator, condition.value,
                                        rows, tuple(examples)))
    return found
