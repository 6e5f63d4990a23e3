"""The template budgets in SQL: the compiled path refuses what the per-row render refuses, in the same words.

A guard is `CASE WHEN <size> > <limit> THEN error(<marker + JSON>) ELSE <value> END`, with the
value bound once (`Binder.bind`, a one-item lambda) so that checking its size does not build it
twice. DuckDB stops the query at the first `error()`; `sql_refusal` turns that error back into
the TemplateError the per-row render raises: same message, line, field and (when the guard sits
where the row key is in scope) row.

What is guarded: `replace` whose new text is longer than the old (`too_big("replace")`), `~`
(`too_big("`~`")`) and, in a plan, each field's whole output (`output_too_long()`, line unknown
as per row). Where several guards would fire on one row, DuckDB's vectorised evaluation may meet
a different one first than the per-row render, which stops at its first in reading order.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence

from engine.templates.errors import TemplateError
from engine.templates.limits import MAX_OUTPUT_CHARS, MAX_STRING_CHARS, output_too_long
from engine.templates.sql_values import Binder, sql_str

MARKER = "dotoro-template-budget:"
"""Starts the text of every guard's `error()`; nothing else in a plan's SQL raises it."""

_OUT = "__dotoro_out"


def refusal_sql(detail: str, line: int | None, *, field: str | None = None, row_sql: str | None = None) -> str:
    """SQL that raises the refusal (`row_sql`: the 0-based row key, when in scope)."""
    payload = sql_str(MARKER + json.dumps({"detail": detail, "line": line, "field": field}, ensure_ascii=True))
    if row_sql is None:
        return f"error({payload})"
    return f"error(concat({payload}, '#', CAST({row_sql} AS VARCHAR)))"


_GUARD_CALL = re.compile(r"error\('" + re.escape(MARKER) + r"((?:[^']|'')*)'\)")
"""A guard's `error('…')` as `refusal_sql` writes it (a user's quote is always doubled inside a literal)."""


def locate_refusals(sql: str, *, field: str, row_sql: str) -> str:
    """A template's SQL whose guards also name the field and the row, as the per-row path does in a plan."""
    def rewrite(hit: re.Match[str]) -> str:
        payload = json.loads(hit.group(1).replace("''", "'"))
        payload["field"] = field
        return refusal_sql(str(payload["detail"]), payload["line"], field=field, row_sql=row_sql)

    return _GUARD_CALL.sub(rewrite, sql)


def sql_refusal(exc: BaseException) -> TemplateError | None:
    """The TemplateError a guard raised inside DuckDB (None for any other error)."""
    message = str(exc)
    at = message.find(MARKER)
    if at < 0:
        return None
    try:
        payload, end = json.JSONDecoder().raw_decode(message, at + len(MARKER))
    except ValueError:
        return None
    error = TemplateError(str(payload.get("detail")), line=payload.get("line"))
    error.field = payload.get("field")  # set afterwards: the per-row path names them outside the message
    rest = message[end:]
    if rest.startswith("#") and rest[1:].split()[0].isdigit():
        error.row = int(rest[1:].split()[0])
    return error


def bind_all(binder: Binder, exprs: Sequence[str], body: Callable[[list[str]], str]) -> str:
    """`body` of every expression, each evaluated once when costly (nested one-item lambdas)."""
    if not exprs:
        return body([])
    return binder.bind(exprs[0], lambda first: bind_all(binder, exprs[1:], lambda rest: body([first, *rest])))


def string_guard(size_sql: str, value_sql: str, detail: str, line: int | None) -> str:
    """`value_sql`, or the refusal when `size_sql` (its would-be length) passes MAX_STRING_CHARS."""
    return f"(CASE WHEN {size_sql} > {MAX_STRING_CHARS} THEN {refusal_sql(detail, line)} ELSE {value_sql} END)"


def output_guard_sql(value_sql: str, *, field: str, row_sql: str) -> str:
    """A field's rendered text, refused over MAX_OUTPUT_CHARS as the per-row render refuses it."""
    refuse = refusal_sql(output_too_long(), None, field=field, row_sql=row_sql)
    value_sql = locate_refusals(value_sql, field=field, row_sql=row_sql)
    return (f"list_transform([{value_sql}], lambda {_OUT}: CASE WHEN length({_OUT}) > {MAX_OUTPUT_CHARS} "
            f"THEN {refuse} ELSE {_OUT} END)[1]")


def output_length_guard_sql(length_sql: str, *, field: str, row_sql: str) -> str:
    """A field's measured length (stats), refused over MAX_OUTPUT_CHARS like its text would be."""
    refuse = refusal_sql(output_too_long(), None, field=field, row_sql=row_sql)
    length_sql = locate_refusals(length_sql, field=field, row_sql=row_sql)
    return (f"list_transform([{length_sql}], lambda {_OUT}: CASE WHEN {_OUT} > {MAX_OUTPUT_CHARS} "
            f"THEN {refuse} ELSE {_OUT} END)[1]")
