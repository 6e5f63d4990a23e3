"""Errors a rule author can cause: each names the rule and says what to fix."""

from __future__ import annotations

from engine.errors import EngineError


class RuleError(EngineError):
    """A rule set that cannot be parsed, validated or run."""

    def __init__(self, message: str, *, rule_id: str | None = None, rule_name: str | None = None,
                 field: str | None = None, row: int | None = None, line: int | None = None,
                 column: int | None = None) -> None:
        super().__init__(message, line=line, column=column, field=field, row=row)
        self.rule_id = rule_id
        self.rule_name = rule_name


class NotCompilable(RuleError):
    """The rule set is valid but cannot become SQL; run it per row with `prepare_rules`."""
