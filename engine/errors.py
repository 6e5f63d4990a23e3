"""Errors a user can cause in the engine: each carries a message a person can act on."""

from __future__ import annotations


class EngineError(Exception):
    """Base of every user-facing engine error."""

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None,
                 field: str | None = None, row: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.field = field
        self.row = row

    def __str__(self) -> str:
        return self.message
