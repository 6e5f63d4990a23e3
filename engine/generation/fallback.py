"""Per-row Python work inside the one DuckDB query: Jinja2 fallback renders and non-SQL truncation.

Each piece is a vectorised (Arrow) DuckDB UDF, so DuckDB calls it only for the rows that
reach it — the prefix of a preview, a CASE branch that fires, a streamed batch — and the
plan stays one query whose constraint checks and dedup see the fallback text too.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import duckdb
import pyarrow as pa

from engine.errors import EngineError
from engine.generation.schema import ROW, quote

__all__ = ["Renderable", "RowUDF", "TruncateUDF", "UDFError", "light_work", "next_udf_prefix"]

_SEQ = itertools.count(1)

# One per-row render at a time in the process. Renders are pure Python: several at once only trade the GIL
# among themselves (5 sessions' worst-case templates left an ordinary preview 3× slower), while one at a time
# leaves every other session's Python a fair half of it. Taken per row, so concurrent previews interleave.
_RENDER_SLOT = threading.Lock()
# Light work (a preview without per-row renders: ~0.3 s of mostly DuckDB) goes first: while any runs, per-row
# renders pause between rows (until their own deadline), so a session's ordinary preview keeps its unloaded
# time whatever other sessions' templates do; the heavy preview pays the wait within its PREVIEW_SECONDS.
_LIGHT = [0]
_LIGHT_LOCK = threading.Lock()


@contextmanager
def light_work() -> Iterator[None]:
    """Mark work that per-row renders should make way for while it runs."""
    with _LIGHT_LOCK:
        _LIGHT[0] += 1
    try:
        yield
    finally:
        with _LIGHT_LOCK:
            _LIGHT[0] -= 1


def _yield_to_light(deadline: float | None) -> None:
    while _LIGHT[0] and (deadline is None or time.monotonic() < deadline):
        time.sleep(0.002)


def next_udf_prefix() -> str:
    """A prefix unique in this process, so plans sharing one DuckDB database never collide."""
    return f"__dotoro_{next(_SEQ)}"


class Renderable(Protocol):
    """What a fallback needs from a compiled template."""

    def render(self, row: Mapping[str, Any], *, deadline: float | None = None) -> str: ...


class UDFError(EngineError):
    """A per-row render failed; carries the row so the message can point at it."""


@dataclass
class RowUDF:
    """Render one template per row in Python: `name({__row, col1, col2, …}) → VARCHAR`.

    The row travels as one STRUCT so the UDF has a fixed arity and gets dicts back directly.
    """

    name: str
    label: str
    template: Renderable
    columns: Sequence[tuple[str, str]]  # (column name, DuckDB type)
    sql_names: Mapping[str, str] = field(default_factory=dict)  # column → its SQL name (sql_aliases.py)
    errors: list[EngineError] = field(default_factory=list)
    deadline: float | None = None  # time.monotonic() by which a preview's renders must end (PREVIEW_SECONDS)

    def call_sql(self) -> str:
        """The SQL call of this UDF on the current row."""
        names = [self.sql_names.get(c, c) for c in [ROW, *(c for c, _ in self.columns)]]
        fields = ", ".join(f"{quote(c)} := {quote(c)}" for c in names)
        return f"{quote(self.name)}(struct_pack({fields}))"

    def _struct_type(self) -> str:
        fields = ", ".join(f"{quote(self.sql_names.get(c, c))} {t}" for c, t in [(ROW, "BIGINT"), *self.columns])
        return f"STRUCT({fields})"

    def register(self, con: duckdb.DuckDBPyConnection) -> None:
        """Add the UDF to a DuckDB database (visible to all its cursors)."""
        con.create_function(self.name, self._call, [duckdb.sqltype(self._struct_type())],  # type: ignore[call-overload]
                            duckdb.sqltype("VARCHAR"), type="arrow", null_handling="special")

    def _call(self, rows: pa.Array) -> pa.Array:
        out: list[str] = []
        names = {sql: name for name, sql in self.sql_names.items()}
        for row in rows.to_pylist():
            if names:
                row = {names.get(k, k): v for k, v in row.items()}
            row_index = row.pop(ROW)
            try:
                with _RENDER_SLOT:
                    out.append(self.template.render(row, deadline=self.deadline))
                _yield_to_light(self.deadline)
            except EngineError as exc:
                if exc.row is None:
                    exc.row = row_index
                if exc.field is None:
                    exc.field = self.label
                self.errors.append(exc)
                raise
        return pa.array(out, pa.string())


@dataclass
class TruncateUDF:
    """Cut text with a Python counting method: `name(value) → VARCHAR`."""

    name: str
    truncate: Callable[[str], str | None]  # None: NULL (a check that finds nothing)

    def call_sql(self, expr: str) -> str:
        """The SQL call of this UDF on an expression."""
        return f"{quote(self.name)}({expr})"

    def register(self, con: duckdb.DuckDBPyConnection) -> None:
        """Add the UDF to a DuckDB database."""
        con.create_function(self.name, self._call, [duckdb.sqltype("VARCHAR")],  # type: ignore[call-overload]
                            duckdb.sqltype("VARCHAR"), type="arrow", null_handling="special")

    def _call(self, values: pa.Array) -> pa.Array:
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        # the function is pure: each distinct value once (a constant field, a category's name repeat a lot)
        encoded = values.dictionary_encode()
        distinct = [None if v is None else self.truncate(v) for v in encoded.dictionary.to_pylist()]
        return pa.array(distinct, pa.string()).take(encoded.indices)
