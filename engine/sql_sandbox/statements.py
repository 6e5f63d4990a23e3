"""Which statements the sandbox runs: one read-only query, recognised by DuckDB's own parser."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from engine.sql_sandbox.messages import line_column
from engine.sql_sandbox.models import SqlError

ALLOWED = "SELECT, WITH, FROM, VALUES, TABLE, DESCRIBE, SUMMARIZE, SHOW, EXPLAIN, PIVOT or UNPIVOT"

_SAVE = "To keep a result, save it as a data set."
_READ_ONLY = ("The workspace's tables are read-only here; to derive a new table, "
              "save a query result as a data set.")
_HINTS = {
    "COPY": _SAVE, "EXPORT": _SAVE, "IMPORT": _SAVE,
    "ATTACH": "Only the workspace's tables can be queried.", "DETACH": "Only the workspace's tables can be queried.",
    "USE": "Only the workspace's tables can be queried.",
    "INSTALL": "Extensions cannot be installed or loaded here.", "LOAD": "Extensions cannot be installed or loaded here.",
    "FORCE": "Extensions cannot be installed or loaded here.",
    "SET": "The sandbox's settings are fixed.", "RESET": "The sandbox's settings are fixed.",
    "PRAGMA": "The sandbox's settings are fixed.",
    "CREATE": _READ_ONLY, "INSERT": _READ_ONLY, "UPDATE": _READ_ONLY, "DELETE": _READ_ONLY,
    "DROP": _READ_ONLY, "ALTER": _READ_ONLY, "TRUNCATE": _READ_ONLY, "MERGE": _READ_ONLY,
}
# DuckDB turns a PIVOT whose columns come from the data into several statements (an ENUM, then a SELECT).
_MULTI_OK = {"PIVOT", "PIVOT_WIDER"}


@dataclass(frozen=True)
class _Word:
    offset: int  # in bytes of the UTF-8 SQL, as DuckDB counts
    text: str


def check_read_only(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Raise SqlError unless ``sql`` is exactly one read-only statement; parse errors raise duckdb's."""
    statements = con.extract_statements(sql)
    if not statements:
        raise SqlError("Write a query to run, for example: SELECT * FROM my_table LIMIT 100.")
    if len(statements) > 1:
        line, column = _second_statement_position(sql, statements)
        raise SqlError(f"Run one statement at a time: this SQL holds {len(statements)} statements. "
                       "Keep one query and remove the rest, from the first `;` on.", line=line, column=column)
    words = _words(sql)
    label = _refused_label(con, sql, statements[0], words, explained=False)
    if label is not None:
        hint = _HINTS.get(label.split()[-1], "")
        line, column = line_column(sql, words[0].offset) if words else (None, None)
        raise SqlError(f"`{label}` statements cannot run here: the SQL sandbox only runs read-only queries "
                       f"({ALLOWED}). {hint}".rstrip(), line=line, column=column)


def _refused_label(con: duckdb.DuckDBPyConnection, sql: str, statement: duckdb.Statement,
                   words: list[_Word], *, explained: bool) -> str | None:
    """None when the statement only reads; otherwise the word that names what it does."""
    kind = statement.type
    first = words[0].text.upper() if words else ""
    if kind == duckdb.StatementType.SELECT:
        return None
    if kind == duckdb.StatementType.MULTI and first in _MULTI_OK:
        return None
    if kind == duckdb.StatementType.EXPLAIN and not explained:
        # EXPLAIN ANALYZE runs what it explains, so what it explains must pass the same check.
        inner = _explained_sql(sql, words)
        inner_statements = con.extract_statements(inner) if inner is not None else []
        if inner is None or len(inner_statements) != 1:
            return "EXPLAIN"
        label = _refused_label(con, inner, inner_statements[0], _words(inner), explained=True)
        return None if label is None else f"EXPLAIN {label}"
    if first in {"", "WITH", "("}:
        return str(kind.name)
    return first


def _words(sql: str) -> list[_Word]:
    """The tokens of ``sql`` without comments, each with its text."""
    raw = sql.encode("utf-8")
    tokens = duckdb.tokenize(sql)
    words: list[_Word] = []
    for index, (offset, kind) in enumerate(tokens):
        end = tokens[index + 1][0] if index + 1 < len(tokens) else len(raw)
        if kind != duckdb.token_type.comment:
            words.append(_Word(offset, raw[offset:end].decode("utf-8", errors="replace").strip()))
    return words


def _explained_sql(sql: str, words: list[_Word]) -> str | None:
    """The statement after ``EXPLAIN [ANALYZE] [(options)]``, or None when there is none."""
    index = 1
    if index < len(words) and words[index].text.upper() in {"ANALYZE", "ANALYSE"}:
        index += 1
    if index < len(words) and words[index].text == "(":
        depth = 0
        while index < len(words):
            depth += words[index].text.count("(") - words[index].text.count(")")
            index += 1
            if depth <= 0:
                break
    if index >= len(words):
        return None
    return sql.encode("utf-8")[words[index].offset:].decode("utf-8")


def _second_statement_position(sql: str, statements: list[duckdb.Statement]) -> tuple[int | None, int | None]:
    """Line and column where the second statement starts, when the parser's split lines up with ``sql``."""
    first = statements[0].query.encode("utf-8")
    if not sql.encode("utf-8").startswith(first):
        return None, None
    for word in _words(sql):
        if word.offset >= len(first):
            return line_column(sql, word.offset)
    return None, None
