"""Database refusals a person can cause, as messages: two clicks racing past a uniqueness check, a NUL byte.

The services check names before writing, but two concurrent clicks can both pass the check; the
unique constraint then decides, and this turns its error into the project's ValidationFailed.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError

from studio.errors import StudioError, ValidationFailed

# table -> (what a row is called, the column people choose); a new unique name is one entry here.
NAMED: dict[str, tuple[str, str]] = {
    "datasets": ("a data set", "name"),
    "templates": ("a template", "name"),
    "rule_sets": ("a rule set", "name"),
    "notebooks": ("a notebook", "name"),
    "reddit_accounts": ("the Reddit account", "username"),
}
MESSAGES: dict[str, str] = {
    "users": "An account with this email already exists. Sign in instead.",
    "workspace_members": "That person is already a member of this workspace.",
    "invitations": "This invitation was just sent by another click; reload the page.",
}
RACE = "Someone saved the same thing at the same moment (another click or member); reload the page and try again."

_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (\w+)\.")
_PG_KEY = re.compile(r"Key \((?P<cols>[^)]*)\)=\((?P<vals>.*)\) already exists")


def _table(exc: IntegrityError) -> str | None:
    diag = getattr(getattr(exc, "orig", None), "diag", None)
    if diag is not None and getattr(diag, "table_name", None):
        return str(diag.table_name)
    m = _SQLITE_UNIQUE.search(str(exc.orig))
    return m.group(1) if m else None


_INSERT = re.compile(r"INSERT INTO \S+ \(([^)]*)\) VALUES", re.IGNORECASE)


def _value(exc: IntegrityError, column: str) -> Any:
    params = exc.params
    if isinstance(params, dict) and column in params:
        return params[column]
    m = _INSERT.search(exc.statement or "")
    if m and isinstance(params, tuple):  # positional parameters (SQLite): match them to the column list
        cols = [c.strip().strip('"') for c in m.group(1).split(",")]
        if column in cols and len(cols) == len(params):
            return params[cols.index(column)]
    diag = getattr(getattr(exc, "orig", None), "diag", None)
    m = _PG_KEY.search(str(getattr(diag, "message_detail", "") or ""))
    if m:
        cols = [c.strip() for c in m.group("cols").split(",")]
        vals = [v.strip() for v in m.group("vals").split(",")]
        if column in cols and len(cols) == len(vals):
            return vals[cols.index(column)]
    return None


def is_unique_violation(exc: IntegrityError) -> bool:
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return code == "23505" or "UNIQUE constraint failed" in str(exc.orig)


class DuplicateEntry(ValidationFailed, IntegrityError):
    """A unique constraint refused a write: a message for the page, and still an IntegrityError for the
    code that expects one (a retry after a concurrent insert, an idempotent webhook)."""

    def __init__(self, message: str, cause: IntegrityError) -> None:
        Exception.__init__(self, message)  # not the DBAPIError constructor: the cause's state is copied
        vars(self).update(vars(cause))
        self.message = message


class TextRefused(ValidationFailed, DataError):
    """The database refused text (a NUL byte); still a DataError for code that expects one."""

    def __init__(self, message: str, cause: DBAPIError | StatementError) -> None:
        Exception.__init__(self, message)  # not the DBAPIError constructor: the cause's state is copied
        vars(self).update(vars(cause))
        self.message = message


def as_message(exc: BaseException) -> StudioError | None:
    """The project's error for a refusal a person caused, or None to let the exception through."""
    if isinstance(exc, StudioError):
        return None
    if isinstance(exc, IntegrityError) and is_unique_violation(exc):
        table = _table(exc) or ""
        if table in NAMED:
            noun, column = NAMED[table]
            value = _value(exc, column)
            named = f" named {value!r}" if value is not None else " with this name"
            return DuplicateEntry(f"{noun[0].upper()}{noun[1:]}{named} already exists in this workspace; "
                                  "pick another name.", exc)
        return DuplicateEntry(MESSAGES.get(table, RACE), exc)
    if isinstance(exc, DataError | StatementError) and ("NUL" in str(exc) or "\\x00" in str(exc)):
        return TextRefused("Text cannot contain the NUL character (\\x00); remove it and try again.", exc)
    return None
