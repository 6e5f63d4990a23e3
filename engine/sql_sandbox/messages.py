"""DuckDB's errors, rewritten for an analyst: no internals, the position as line and column."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Sequence
from typing import Any

import duckdb

from engine.sql_sandbox.models import SqlError

_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MAX_MESSAGE = 400
_SETTING_ADVICE = re.compile(r"\b(SET|RESET|PRAGMA)\b")  # settings are locked: such advice misleads
_FUNCTION_KINDS = {"Scalar Function", "Table Function", "Aggregate Function", "Macro Function"}


def line_column(sql: str, byte_offset: int) -> tuple[int, int]:
    """1-based line and column of a DuckDB position (a byte offset into the UTF-8 SQL)."""
    before = sql.encode("utf-8")[:max(byte_offset, 0)].decode("utf-8", errors="ignore")
    return before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1


def error_payload(exc: BaseException) -> dict[str, Any] | None:
    """The JSON DuckDB puts in an error under ``errors_as_json``, or None for a plain message."""
    text = str(exc)
    start = text.find("{")
    if start < 0:
        return None
    try:
        payload = json.loads(text[start:])
    except ValueError:
        return None
    return payload if isinstance(payload, dict) and "exception_message" in payload else None


def describe_error(exc: duckdb.Error, *, sql: str, tables: Sequence[str], memory_mb: int,
                   con: duckdb.DuckDBPyConnection | None = None) -> SqlError:
    """A SqlError a person can act on for ``exc``, raised while running ``sql``."""
    payload = error_payload(exc)
    if payload is None:
        return SqlError(_clean(str(exc).partition(": ")[2] or str(exc)))
    kind = str(payload.get("exception_type", ""))
    text = str(payload.get("exception_message", ""))
    name = str(payload.get("name", ""))
    line = column = None
    if str(payload.get("position", "")).isdigit():
        line, column = line_column(sql, int(payload["position"]))
    if kind == "Out of Memory":
        message = memory_message(memory_mb)
    elif kind == "Catalog" and payload.get("type") == "Table" and name:
        message = missing_table_message(name, tables, _reserved_words(con))
    elif kind == "Catalog" and payload.get("type") in _FUNCTION_KINDS and name:
        message = f"{payload['type']} `{name}` does not exist.{_did_you_mean(payload.get('candidates'))}"
    elif kind == "Binder" and payload.get("error_subtype") == "COLUMN_NOT_FOUND" and name:
        message = f"Column `{name}` does not exist here.{_did_you_mean(payload.get('candidates'))}"
    elif kind == "Permission":
        message = ("The SQL sandbox cannot read files, URLs or other databases. "
                   f"Query the workspace's tables instead: {table_list(tables, _reserved_words(con))}")
    elif kind == "Parser":
        message = _clean(text[:1].upper() + text[1:])
    else:
        message = _clean(text)
    return SqlError(message, line=line, column=column)


def memory_message(memory_mb: int) -> str:
    """What to say when a query needed more than its memory limit."""
    return (f"The query needed more than the {memory_mb} MB of memory it may use and was stopped. "
            "Filter or aggregate earlier, select fewer columns, or add a LIMIT.")


def missing_table_message(name: str, tables: Sequence[str], reserved: frozenset[str] = frozenset()) -> str:
    """'Table `x` does not exist. Tables you can query: a, "my data" …'."""
    if not tables:
        return f"Table `{name}` does not exist: this workspace has no data sets yet. Upload one to query it."
    lowered = {t.lower(): t for t in tables}
    # `FROM my data` reaches DuckDB as table `my` with alias `data`: suggest the quoted name.
    close = [t for t in lowered if t.startswith(name.lower() + " ")]
    close = close or difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    suggestion = f" Did you mean {sql_name(lowered[close[0]], reserved)}?" if close else ""
    return f"Table `{name}` does not exist.{suggestion} Tables you can query: {table_list(tables, reserved)}"


def table_list(tables: Sequence[str], reserved: frozenset[str] = frozenset()) -> str:
    """'a, "my data". Names with spaces or symbols go in double quotes…' — the tables as written in SQL."""
    if not tables:
        return "none yet."
    written = [sql_name(t, reserved) for t in sorted(tables, key=str.lower)]
    quoted = [w for w in written if w.startswith('"')]
    hint = f" Write names with spaces or symbols in double quotes, as in SELECT * FROM {quoted[0]}." if quoted else ""
    return ", ".join(written) + "." + hint


def sql_name(name: str, reserved: frozenset[str] = frozenset()) -> str:
    """``name`` as written in SQL: bare when it is a plain identifier, else double-quoted."""
    if _PLAIN_NAME.fullmatch(name) and name.lower() not in reserved:
        return name
    return '"' + name.replace('"', '""') + '"'


def _reserved_words(con: duckdb.DuckDBPyConnection | None) -> frozenset[str]:
    """DuckDB's reserved keywords: a table with such a name must be quoted."""
    if con is None:
        return frozenset()
    try:
        rows = con.execute("SELECT keyword_name FROM duckdb_keywords() WHERE keyword_category = 'reserved'")
        return frozenset(str(row[0]).lower() for row in rows.fetchall())
    except duckdb.Error:
        return frozenset()


def _did_you_mean(candidates: object) -> str:
    """' Did you mean a, b?' from DuckDB's candidate list, or ''."""
    names = [c.strip().strip('"') for c in str(candidates or "").split(",") if c.strip()]
    return f" Did you mean {', '.join(names)}?" if names else ""


def _clean(text: str) -> str:
    """DuckDB's message without caret drawings, candidate dumps, advice to change settings, or '!'."""
    paragraph = text.strip().split("\n\n")[0]
    lines = [ln.strip() for ln in paragraph.split("\n") if ln.strip() and not ln.startswith(("\t", " ", "LINE "))]
    sentences = [s for ln in lines for s in re.split(r"(?<=[.!?])\s+", ln)]
    kept = [s[:-1] + "." if s.endswith("!") else s for s in sentences if not _SETTING_ADVICE.search(s)]
    message = " ".join(s if s.endswith((".", "?", ":")) else s + "." for s in kept) or "The query failed."
    message = re.sub(r"\s+", " ", message)
    return message if len(message) <= _MAX_MESSAGE else message[:_MAX_MESSAGE - 1].rstrip() + "…"
