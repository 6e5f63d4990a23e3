"""The error every template problem becomes: a message that says where and what to fix."""

from __future__ import annotations

from engine.errors import EngineError


def where(line: int | None, column: int | None) -> str:
    """`line 3, column 7` (or just `line 3`); empty when the position is unknown."""
    if line is None:
        return ""
    return f"line {line}, column {column}" if column is not None else f"line {line}"


class TemplateError(EngineError):
    """A template that cannot be compiled or rendered; `.line`/`.column` (1-based) when known.

    `.detail` is the message without the position prefix; `.row` is the 0-based index of the
    row being rendered (the message counts rows from 1).
    """

    def __init__(self, detail: str, *, line: int | None = None, column: int | None = None,
                 field: str | None = None, row: int | None = None) -> None:
        parts = []
        if row is not None:
            parts.append(f"row {row + 1}")
        if line is not None:
            parts.append(where(line, column))
        message = f"{', '.join(parts)}: {detail}" if parts else detail
        super().__init__(message, line=line, column=column, field=field, row=row)
        self.detail = detail

    def at(self, *, line: int | None = None, column: int | None = None, row: int | None = None,
           field: str | None = None) -> TemplateError:
        """A copy with the missing position facts filled in."""
        return TemplateError(
            self.detail,
            line=self.line if self.line is not None else line,
            column=self.column if self.column is not None else column,
            field=self.field if self.field is not None else field,
            row=self.row if self.row is not None else row,
        )
