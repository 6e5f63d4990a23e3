"""JSON and JSON Lines uploads → String columns: an array of objects, or one object per line.

Hostile JSON ends in an IngestError, never in a crash: nesting deeper than Python's parser can
follow, integers longer than Python converts (4,300 digits), and escaped lone surrogates
(``"\\ud800"``, which no UTF-8 text can hold: replaced by U+FFFD, with a note).
"""

from __future__ import annotations

import json
import re
from typing import Any

import polars as pl

from engine.delimited import decode_text
from engine.ingest_errors import IngestError
from engine.ingest_nested import IngestOptions, compact_json, expand_records, flatten_record

MAX_INTEGER_DIGITS = 4_000  # Python refuses to convert more than 4,300 digits; stop clearly before it
_SURROGATE = re.compile("[\ud800-\udfff]")


class _LongInteger(Exception):
    """An integer literal with more digits than MAX_INTEGER_DIGITS."""

    def __init__(self, digits: int) -> None:
        super().__init__(digits)
        self.digits = digits


def read_json(data: bytes, label: str, *, lines: bool, max_columns: int,
              options: IngestOptions | None = None) -> tuple[pl.DataFrame, list[str], str, list[str]]:
    """An array of objects, or one object per line (NDJSON), as String columns (with notes).

    Nested objects flatten to dotted names and arrays are joined or kept, per ``options``
    (see engine.ingest_nested)."""
    options = options or IngestOptions()
    text, encoding = decode_text(data, label)
    if not text.strip():
        raise IngestError("The file is empty: it contains only whitespace.", field="file")
    records: Any
    try:
        records = _loads(text, label)
    except json.JSONDecodeError as exc:
        if exc.msg != "Extra data" or not text.lstrip().startswith("{"):
            raise _json_error(exc, label) from None
        records = _json_lines(text, label)
    if options.data_path:
        records = _at_path(records, options.data_path)
    if isinstance(records, dict) and (lines or options.data_path):
        records = [records]
    if not isinstance(records, list):
        kind = "a single object" if isinstance(records, dict) else f"a {_json_type(records)}"
        found = _rows_path(records) if isinstance(records, dict) else None
        hint = f" The rows seem to be under '{found}': give that as the path to the rows." if found else ""
        raise IngestError(f"This JSON file holds {kind}, not an array of objects. Use "
                          '[{"column": value}, …] or one object per line.' + hint, field="file")
    if not records:
        raise IngestError("The JSON array is empty: there are no rows.", field="file")
    for position, record in enumerate(records, 1):
        if not isinstance(record, dict):
            raise IngestError(f"Item {position} of the JSON array is a {_json_type(record)}, not an "
                              "object: every item must be an object of column values.", row=position)
    cells = _Cells()
    try:
        if options.arrays == "expand":  # one row per list item, growth reported
            flat, grown = expand_records(records, options, cells.text)
        else:
            flat, grown = [flatten_record(record, options, cells.text) for record in records], []
    except RecursionError:
        raise _too_deep(label) from None
    keys = list(dict.fromkeys(key for record in flat for key in record))
    parents = {key.rsplit(".", 1)[0] for key in keys if "." in key}
    # {"a": null} in one row and {"a": {"b": 1}} in another: `a` is the parent of a.b, not a column of its own
    keys = [key for key in keys if key not in parents or any(record.get(key) is not None for record in flat)]
    if len(keys) > max_columns:
        raise IngestError(f"The file has {len(keys)} columns; at most {max_columns} are supported."
                          + (" Lower the flattening depth to keep nested objects as JSON text."
                             if any("." in key for key in keys) else ""))
    columns = [[record.get(key) for record in flat] for key in keys]
    header = [cells.text(key) or "" for key in keys]
    frame = pl.DataFrame([pl.Series(f"c{index}", values, dtype=pl.String) for index, values in enumerate(columns)])
    notes = list(grown)
    if cells.replaced:
        notes.append(f"{cells.replaced:,} value(s) held escaped characters that are not valid text (lone "
                     "surrogates such as \\ud800); each was replaced by �.")
    return frame, header, encoding, notes


def _at_path(data: Any, path: str) -> Any:
    """The value at a dotted path such as ``data.items`` (Dotoro's dataPath), or an IngestError naming the keys."""
    current = data
    for depth, key in enumerate(path.split(".")):
        if not isinstance(current, dict) or key not in current:
            where = ".".join(path.split(".")[:depth]) or "the top level"
            keys = ", ".join(f"'{k}'" for k in list(current)[:10]) if isinstance(current, dict) else ""
            has = f" holds the keys {keys}" if keys else " is not an object"
            raise IngestError(f"The path '{path}' is not in this JSON file: {where}{has}.", field="data_path")
        current = current[key]
    return current


def _rows_path(data: dict[str, Any], prefix: str = "", depth: int = 0) -> str | None:
    """The dotted path of the first list of objects inside ``data`` (three levels at most), for a hint."""
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value[:10]):
            return path
        if isinstance(value, dict) and depth < 2:
            found = _rows_path(value, path, depth + 1)
            if found:
                return found
    return None


def _loads(text: str, label: str, *, line: int | None = None) -> Any:
    """json.loads with Python's own limits turned into messages."""
    try:
        return json.loads(text, parse_int=_integer)
    except RecursionError:
        raise _too_deep(label, line) from None
    except _LongInteger as exc:
        where = f" on line {line}" if line else ""
        raise IngestError(f"This {label} file holds a number with {exc.digits:,} digits{where}; numbers may have at "
                          f"most {MAX_INTEGER_DIGITS:,}. Put such values in quotes to keep them as text.",
                          line=line) from None


def _integer(literal: str) -> int:
    """An integer literal as an int, refusing lengths Python would refuse with a cryptic ValueError."""
    digits = len(literal.lstrip("-"))
    if digits > MAX_INTEGER_DIGITS:
        raise _LongInteger(digits)
    return int(literal)


def _too_deep(label: str, line: int | None = None) -> IngestError:
    where = f" (line {line})" if line else ""
    return IngestError(f"This {label} file nests lists or objects too deeply{where} to be read as a table. "
                       "Flatten the data so that each row is one object of column values.", line=line)


def _json_lines(text: str, label: str) -> list[Any]:
    """Parse NDJSON, naming the line and column of the first bad line."""
    records: list[Any] = []
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            record = _loads(line, label, line=number)
        except json.JSONDecodeError as exc:
            raise IngestError(f"This {label} file could not be read: {exc.msg} at line {number}, "
                              f"column {exc.colno}.", line=number, column=exc.colno) from None
        if not isinstance(record, dict):
            raise IngestError(f"Line {number} holds a {_json_type(record)}, not an object: put one "
                              "object of column values per line.", line=number)
        records.append(record)
    return records


def _json_error(exc: json.JSONDecodeError, label: str) -> IngestError:
    """An IngestError pointing at the line and column json found the problem at."""
    return IngestError(f"This {label} file could not be read: {exc.msg} at line {exc.lineno}, "
                       f"column {exc.colno}.", line=exc.lineno, column=exc.colno)


def _json_type(value: object) -> str:
    """The JSON name of a Python value's type."""
    names = {bool: "boolean", int: "number", float: "number", str: "string", list: "list",
             dict: "object", type(None): "null"}
    return names.get(type(value), type(value).__name__)


class _Cells:
    """Turns JSON values into cell text, counting the lone surrogates it had to replace."""

    def __init__(self) -> None:
        self.replaced = 0

    def text(self, value: object) -> str | None:
        """A JSON value as text; nested lists and objects stay JSON."""
        if value is None:
            return None
        if isinstance(value, str):
            return self._valid(value)
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return repr(value)
        return self._valid(compact_json(value))

    def _valid(self, text: str) -> str:
        """``text`` with every lone surrogate replaced by U+FFFD (UTF-8 cannot hold them)."""
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text, count = _SURROGATE.subn("\ufffd", text)
            self.replaced += count
        return text
