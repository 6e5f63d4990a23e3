"""Nested data → flat columns with dotted names, and the options an upload can choose.

JSON objects (and Parquet structs) flatten to dotted column names: ``{"item": {"brand": "Nike",
"pricing": {"msrp": 99}}}`` gives ``item.brand`` and ``item.pricing.msrp``. ``flatten_depth`` is
the most path segments a name may have (default 3, as in Dotoro): an object reached at that depth
is kept whole as compact JSON text (``{"a":1}``), as is an empty object. ``flatten_depth=1`` keeps
every nested object as JSON. Arrays are, by choice (``arrays``):

- ``join`` (default): the elements as text joined by ``array_separator`` (default ``", "``); an
  element that is an object or array is compact JSON, a null is ``null``, booleans ``true``/``false``,
  numbers as JavaScript prints them (``1.0`` → ``1``); an empty array is an empty (null) cell.
- ``json``: the whole array as compact JSON text.
- ``first``: the first element only; an object there flattens under the array's name.
- ``expand``: one row per element (an object there flattens under the array's name, as with ``first``);
  several arrays in a record give every combination, an empty array one row with an empty cell. The rows
  a file expands into are bounded by ``MAX_EXPANDED_ROWS`` (engine/budgets.py), checked before expanding,
  and the growth is reported ("12 records became 40 rows").

Flattened names keep their dots (each segment is made snake_case), so templates, rules and
group-by address them as ``item.brand`` (templates: ``{{ item.brand }}`` resolves to that column).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from polars.exceptions import PanicException

from engine.budgets import MAX_EXPANDED_ROWS
from engine.ingest_errors import IngestError

ARRAY_MODES = ("join", "json", "first", "expand")
DEFAULT_DEPTH = 3
MAX_DEPTH = 10
MAX_SEPARATOR = 10


@dataclass(frozen=True)
class IngestOptions:
    """Choices an upload can make; the defaults suit most files.

    - ``has_header``: CSV/TSV/TXT/Excel: False when the first line is data (columns ``column_1…N``).
    - ``flatten_depth``, ``arrays``, ``array_separator``: JSON and Parquet nested data (module doc).
    - ``data_path``: JSON: where the rows are in the file, as dots (``data.items``); "" for the top level.
    - ``keep_text``: a column typed from formatted text (``$1,299.00``, ``50%``, ``Jan 15, 2024``)
      also keeps its original text as ``<name>_text``, so a template can print it as written.
    """

    has_header: bool = True
    flatten_depth: int = DEFAULT_DEPTH
    arrays: str = "join"
    array_separator: str = ", "
    keep_text: bool = False
    data_path: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.flatten_depth, int) or not 1 <= self.flatten_depth <= MAX_DEPTH:
            raise IngestError(f"The flattening depth must be a whole number from 1 to {MAX_DEPTH}, "
                              f"not {self.flatten_depth!r}.", field="flatten_depth")
        if self.arrays not in ARRAY_MODES:
            raise IngestError(f"Arrays can be handled as {', '.join(ARRAY_MODES)}; {self.arrays!r} is not one "
                              "of them.", field="arrays")
        if not isinstance(self.data_path, str) or len(self.data_path) > 200 or (
                self.data_path and any(not part.strip() for part in self.data_path.split("."))):
            raise IngestError(f"The path to the rows must be keys joined by dots (data.items), not {self.data_path!r}.",
                              field="data_path")
        if not isinstance(self.array_separator, str) or len(self.array_separator) > MAX_SEPARATOR:
            raise IngestError(f"The array separator may have at most {MAX_SEPARATOR} characters.",
                              field="array_separator")


    def to_dict(self) -> dict[str, Any]:
        """The choices that differ from the defaults, JSON-ready (stored with a data set version)."""
        default = IngestOptions()
        return {k: v for k, v in asdict(self).items() if v != getattr(default, k)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> IngestOptions:
        """Options back from `to_dict` (unknown keys ignored)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (data or {}).items() if k in known})


def compact_json(value: object) -> str:
    """JSON text as JavaScript's JSON.stringify writes it: no spaces, non-ASCII kept, 1.0 as 1."""
    return json.dumps(_js_numbers(value), ensure_ascii=False, separators=(",", ":"), default=_plain)


def _js_numbers(value: object) -> object:
    """Whole floats as ints (JavaScript has one number type: 1.0 reads back and prints as 1)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if isinstance(value, dict):
        return {k: _js_numbers(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_js_numbers(v) for v in value]
    return value


def js_number(value: float) -> str:
    """A float as JavaScript's String(n) prints it: 1.0 → "1", 1e-07 → "1e-7"."""
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    return re.sub(r"e([+-])0*(\d)", r"e\1\2", text) if "e" in text else text


def _plain(value: object) -> str:
    """Values JSON has no type for (dates, decimals from Parquet) as their text, as templates print them."""
    return str(value)


def element_text(value: object) -> str:
    """One array element as joined text: strings as they are, null as ``null``, objects as JSON."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return js_number(value)
    if isinstance(value, int):
        return repr(value)
    if isinstance(value, dict | list | tuple):
        return compact_json(value)
    return _plain(value)


def flatten_record(record: dict[str, Any], options: IngestOptions,
                   cell: Callable[[object], str | None]) -> dict[str, str | None]:
    """One JSON object as ``{dotted name: cell text}`` (``cell`` turns a scalar into text)."""
    out: dict[str, str | None] = {}

    def walk(obj: dict[str, Any], prefix: str, level: int) -> None:
        for key, value in obj.items():
            name = f"{prefix}.{key}" if prefix else key
            here = level + 1
            if isinstance(value, list):
                if options.arrays == "json":
                    out[name] = cell(compact_json(value))
                elif options.arrays == "join":
                    out[name] = cell(options.array_separator.join(element_text(v) for v in value)) if value else None
                elif not value:
                    out[name] = None
                elif isinstance(value[0], dict) and value[0] and here < options.flatten_depth:
                    walk(value[0], name, here)
                else:
                    first = value[0]
                    out[name] = cell(compact_json(first) if isinstance(first, dict | list) else first)
            elif isinstance(value, dict):
                if here >= options.flatten_depth or not value:
                    out[name] = cell(compact_json(value))
                else:
                    walk(value, name, here)
            else:
                out[name] = cell(value)

    walk(record, "", 0)
    return out


def _expand_refused(rows: int, where: str) -> IngestError:
    return IngestError(f"Expanding the lists into one row per item would make more than {rows:,} rows ({where}); "
                       f"the limit is {MAX_EXPANDED_ROWS:,}. Choose to join the items or keep the first one, or "
                       "split the file.", field="arrays")


def _expanded_count(obj: dict[str, Any], level: int, depth: int) -> int:
    """Rows one object expands into (capped just above the budget, so a hostile file stays cheap to count)."""
    total = 1
    for value in obj.values():
        if isinstance(value, list) and value:
            total *= sum(_expanded_count(v, level + 1, depth) if isinstance(v, dict) and v and level + 1 < depth
                         else 1 for v in value)
        elif isinstance(value, dict) and value and level + 1 < depth:
            total *= _expanded_count(value, level + 1, depth)
        if total > MAX_EXPANDED_ROWS:
            return MAX_EXPANDED_ROWS + 1
    return total


def expand_records(records: list[dict[str, Any]], options: IngestOptions,
                   cell: Callable[[object], str | None]) -> tuple[list[dict[str, str | None]], list[str]]:
    """Records as rows with every array expanded to one row per element (``arrays="expand"``), with a note."""
    total = 0
    for position, record in enumerate(records, 1):
        total += _expanded_count(record, 0, options.flatten_depth)
        if total > MAX_EXPANDED_ROWS:
            raise _expand_refused(MAX_EXPANDED_ROWS, f"reached at record {position:,}")
    rows = [row for record in records for row in _expand(record, "", 0, [{}], options, cell)]
    notes = [f"Lists were expanded to one row per item: {len(records):,} records became {len(rows):,} rows."] \
        if len(rows) != len(records) else []
    return rows, notes


def _expand(obj: dict[str, Any], prefix: str, level: int, rows: list[dict[str, str | None]],
            options: IngestOptions, cell: Callable[[object], str | None]) -> list[dict[str, str | None]]:
    for key, value in obj.items():
        name = f"{prefix}.{key}" if prefix else key
        here = level + 1
        if isinstance(value, list) and value:
            grown: list[dict[str, str | None]] = []
            for row in rows:
                for element in value:
                    if isinstance(element, dict) and element and here < options.flatten_depth:
                        grown.extend(_expand(element, name, here, [dict(row)], options, cell))
                    else:
                        text = cell(compact_json(element) if isinstance(element, dict | list) else element)
                        grown.append({**row, name: text})
            rows = grown
        elif isinstance(value, dict) and value and here < options.flatten_depth:
            rows = _expand(value, name, here, rows, options, cell)
        else:
            text = None if isinstance(value, list) else cell(compact_json(value) if isinstance(value, dict) else value)
            for row in rows:
                row[name] = text
    return rows


def _has_fields(dtype: pl.DataType) -> bool:
    return isinstance(dtype, pl.Struct) and bool(dtype.fields)


def explode_frame(frame: pl.DataFrame, options: IngestOptions) -> tuple[pl.DataFrame, list[str]]:
    """Typed (Parquet) data with list columns exploded to one row per item (``arrays="expand"``), with a note.

    Structs are unnested first (dotted names, up to the flattening depth) so lists inside them explode too.
    """
    height = frame.height
    while True:
        struct = next((c for c in frame.columns if _has_fields(frame[c].dtype)
                       and c.count(".") + 1 < options.flatten_depth), None)
        if struct is not None:
            fields = frame[struct].struct.unnest()
            frame = frame.drop(struct).hstack(fields.rename({f: f"{struct}.{f}" for f in fields.columns}))
            continue
        listed = next((c for c in frame.columns if isinstance(frame[c].dtype, pl.List | pl.Array)), None)
        if listed is None:
            break
        column = frame[listed] if isinstance(frame[listed].dtype, pl.List) else frame[listed].arr.to_list()
        grown = int(column.list.len().fill_null(0).clip(lower_bound=1).sum())
        if grown > MAX_EXPANDED_ROWS:
            raise _expand_refused(grown, f"at the list column '{listed}'")
        frame = frame.with_columns(column).explode(listed, empty_as_null=True, keep_nulls=True)
    notes = [f"Lists were expanded to one row per item: {height:,} records became {frame.height:,} rows."] \
        if frame.height != height else []
    return frame, notes


def flatten_frame(frame: pl.DataFrame, options: IngestOptions) -> tuple[list[pl.Series], list[str]]:
    """Typed (Parquet) columns with structs unnested to dotted names and lists handled per ``arrays``.

    Returns the columns (named ``c0…``, so that equal names cannot clash) and their dotted headers.
    """
    columns: list[pl.Series] = []
    headers: list[str] = []

    def walk(series: pl.Series, name: str, level: int) -> None:
        dtype = series.dtype
        if isinstance(dtype, pl.Struct) and dtype.fields and level < options.flatten_depth:
            for field in dtype.fields:
                walk(series.struct.field(field.name), f"{name}.{field.name}", level + 1)
            return
        if isinstance(dtype, pl.List | pl.Array) and options.arrays != "json":
            if options.arrays == "first":
                first = series.list.first() if isinstance(dtype, pl.List) else series.arr.first()
                walk(first, name, level)
                return
            series = _joined(series, options.array_separator)
        columns.append(series.alias(f"c{len(columns)}"))
        headers.append(name)

    for name in frame.columns:
        walk(frame[name], name, 1)
    return columns, headers


def _joined(series: pl.Series, separator: str) -> pl.Series:
    """A list column as joined text, element by element as the JSON path joins them."""
    try:
        items = series.to_list()
    # Python cannot hold a nested date past 9999; polars says so with a Rust panic (a BaseException).
    except (pl.exceptions.PolarsError, PanicException, OverflowError, ValueError):
        raise IngestError(f"Column '{series.name}' holds lists with values Python cannot read, such as dates "
                          "outside the years 1 to 9999. Correct them and upload the file again.",
                          field=series.name) from None
    return pl.Series(series.name, [None if v is None else separator.join(element_text(e) for e in v)
                                   for v in items], dtype=pl.String)


def parquet_has_nested(data: bytes) -> bool:
    """Whether a Parquet file has struct or list columns (read from its footer only; False when unreadable)."""
    try:
        schema = pq.read_schema(io.BytesIO(data))
    except (OSError, ValueError, pa.ArrowException):
        return False
    return any(pa.types.is_struct(f.type) or pa.types.is_list(f.type) or pa.types.is_large_list(f.type)
               or pa.types.is_fixed_size_list(f.type) or pa.types.is_map(f.type) for f in schema)
