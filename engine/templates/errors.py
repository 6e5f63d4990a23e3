"""The error every template problem becomes: a message that says where and what to fix."""

from __future__ import annotations

import re

from jinja2.exceptions import (
    FilterArgumentError,
    SecurityError,
    TemplateRuntimeError,
    UndefinedError,
)

from engine.errors import EngineError

_UNSAFE_ATTR = re.compile(r"access to attribute '([^']*)' of '([^']*)' object is unsafe")


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


def describe(exc: BaseException) -> str:
    """A message a template author can act on, for any exception a template caused (never its type name)."""
    if isinstance(exc, SecurityError):
        hit = _UNSAFE_ATTR.search(str(exc))
        if hit:
            return f"`{hit.group(1)}` is off limits: templates cannot reach Python internals"
        return f"not allowed in templates: {exc}"
    if isinstance(exc, UndefinedError):
        hit = re.match(r"'([^']*)' is undefined", str(exc))
        return f"`{hit.group(1)}` has no value in this row" if hit else str(exc)
    if isinstance(exc, RecursionError):
        return "the template calls itself too deeply; flatten the macros that call each other"
    if isinstance(exc, MemoryError):
        return "the template needs too much memory; make it build less text"
    if isinstance(exc, ZeroDivisionError):
        return "division by zero; guard the divisor with `{% if … != 0 %}`"
    if isinstance(exc, OverflowError):
        return "a number in the template is too large to compute (numbers with decimals stop near 1.8e308); " \
               "use smaller numbers"
    if isinstance(exc, ValueError) and str(exc) == "empty separator":
        return "`split` needs a separator of at least one character"
    if isinstance(exc, ValueError) and "integer string conversion" in str(exc):
        return "a number has too many digits to convert (more than 4,300); use a shorter number"
    if isinstance(exc, TypeError) and "not supported between instances" in str(exc):
        return f"cannot compare these values: {exc}"
    if isinstance(exc, TypeError) and "unsupported operand" in str(exc):
        return f"these values cannot be combined: {exc}; convert them first, e.g. with `| string` or `| int`"
    if isinstance(exc, (FilterArgumentError, TemplateRuntimeError)):
        return f"wrong use of a filter or tag: {exc}"
    if isinstance(exc, (TypeError, ValueError)):
        return f"a value of the wrong kind for this operation: {exc}"
    if isinstance(exc, LookupError):
        return f"no such item in this row: {exc}"
    if isinstance(exc, AttributeError):
        return f"no such attribute: {exc}"
    return f"the template failed on this row ({exc}); check the expression on this line"
