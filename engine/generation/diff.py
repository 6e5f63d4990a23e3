"""What a new version of a data set changes, row by row, computed in DuckDB over both versions at once.

Rows are matched by a key column when the data set has one (`row_keys`), by position otherwise. A row
is *added* (its key only in the new version), *removed* (only in the old), *changed* (in both, and one
of the compared columns differs) or *unchanged*; a row in both whose position changed is also *moved*
(a key column makes that harmless: identity does not depend on the position). The compared columns are
the ones the set's templates and rules name (`used_columns`): a change elsewhere changes no text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from engine.generation.schema import ROW

KEY = "__key"
SAMPLES = 5
KINDS = ("added", "removed", "changed", "unchanged")


def row_keys(frame: pl.DataFrame, key_column: str | None) -> pl.Series:
    """Each row's identity as text: its key, trimmed; the n-th repeat of a key gets ``key#n``; a row
    without a key (or every row, without a key column) is named by its position, ``#row:<index>``."""
    n = frame.height
    position = pl.Series(KEY, [f"#row:{i}" for i in range(n)], dtype=pl.String)
    if key_column is None or key_column not in frame.columns:
        return position
    values = frame[key_column].cast(pl.String, strict=False).str.strip_chars()
    df = pl.DataFrame({"k": values, "p": position})
    occurrence = df.select(pl.int_range(pl.len()).over("k").alias("n"))["n"]
    df = df.with_columns(occurrence.alias("n"))
    out = df.select(
        pl.when(pl.col("k").is_null() | (pl.col("k") == "")).then(pl.col("p"))
        .when(pl.col("n") == 0).then(pl.col("k"))
        .otherwise(pl.col("k") + "#" + (pl.col("n") + 1).cast(pl.String)).alias(KEY))
    return out[KEY]


def attach_keys(ledger: pa.Table, keys: pl.Series) -> pa.Table:
    """The ledger with each variation's row key (`__key`), taken by its absolute `__row`."""
    taken = pc.take(keys.to_arrow(), pc.cast(ledger.column(ROW), pa.int64()))
    if KEY in ledger.column_names:
        ledger = ledger.drop_columns([KEY])
    return ledger.append_column(KEY, pc.cast(taken, pa.string()))


def used_columns(config: Mapping[str, Any], columns: Iterable[str]) -> list[str]:
    """The data's columns that the configuration (templates, rules, structure, …) names anywhere.

    A name counts when it appears as a whole word in the configuration's text, so a column used in a
    template, a rule condition or a campaign-structure field counts; all columns when none is named.
    """
    text = json.dumps(dict(config), ensure_ascii=False, default=str)
    names = [c for c in columns if not c.startswith("__")]
    found = [c for c in names if re.search(r"(?<![A-Za-z0-9_])" + re.escape(c) + r"(?![A-Za-z0-9_])", text)]
    return found or names


@dataclass(frozen=True)
class VersionDiff:
    """Counts per kind, changed rows per column, a few samples of each kind, and the removed keys."""

    counts: dict[str, int]
    by_field: dict[str, int]
    samples: dict[str, list[dict[str, Any]]]
    columns: list[str]
    removed: list[tuple[str, int]] = field(default_factory=list)  # (key, row in the old version)

    def to_dict(self) -> dict[str, Any]:
        return {"counts": self.counts, "by_field": self.by_field, "samples": self.samples, "columns": self.columns}


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _text(name: str, present: set[str]) -> str:
    return f"CAST({_q(name)} AS VARCHAR)" if name in present else "CAST(NULL AS VARCHAR)"


def _side(frame: pl.DataFrame, keys: pl.Series, columns: Sequence[str]) -> pa.Table:
    present = set(frame.columns)
    data = {KEY: keys.to_arrow(), ROW: pa.array(range(frame.height), pa.int64())}
    for c in columns:
        if c not in present:
            data[c] = pa.nulls(frame.height, pa.string())
            continue
        s = frame[c]
        if s.dtype.is_numeric():  # 4 and 4.0 are one value when a version's column was read as decimals
            data[c] = s.cast(pl.Float64, strict=False).cast(pl.String).str.replace(r"\.0$", "").to_arrow()
        else:
            data[c] = s.cast(pl.String, strict=False).to_arrow()
    return pa.table(data)


def diff_versions(old: pl.DataFrame, new: pl.DataFrame, *, key_column: str | None, columns: Sequence[str],
                  samples: int = SAMPLES) -> VersionDiff:
    """Compare two versions by key over `columns` (see the module note); vectorised, no per-row Python."""
    cols = list(dict.fromkeys(columns))
    a = _side(old, row_keys(old, key_column), cols)
    b = _side(new, row_keys(new, key_column), cols)
    sep = "chr(31)"
    digest = (f"md5(concat_ws({sep}, " + ", ".join(f"coalesce({_q(c)}, chr(0))" for c in cols) + "))") if cols else "''"
    con = duckdb.connect(config={"enable_external_access": False, "threads": 2})
    try:
        con.register("a_in", a)
        con.register("b_in", b)
        con.execute(f"CREATE TEMP TABLE a AS SELECT *, {digest} AS __h FROM a_in")
        con.execute(f"CREATE TEMP TABLE b AS SELECT *, {digest} AS __h FROM b_in")
        con.execute(
            "CREATE TEMP TABLE j AS SELECT coalesce(b.__key, a.__key) AS k, a.__row AS old_row, b.__row AS new_row, "
            "CASE WHEN a.__key IS NULL THEN 'added' WHEN b.__key IS NULL THEN 'removed' "
            "WHEN a.__h <> b.__h THEN 'changed' ELSE 'unchanged' END AS kind "
            "FROM a FULL OUTER JOIN b ON a.__key = b.__key")
        counts = {k: 0 for k in KINDS}
        for kind, n in con.execute("SELECT kind, count(*) FROM j GROUP BY kind").fetchall():
            counts[str(kind)] = int(n)
        counts["moved"] = int(con.execute("SELECT count(*) FROM j WHERE old_row <> new_row").fetchone()[0])  # type: ignore[index]
        by_field: dict[str, int] = {}
        if cols and counts["changed"]:
            sums = ", ".join(f"sum(CASE WHEN a.{_q(c)} IS DISTINCT FROM b.{_q(c)} THEN 1 ELSE 0 END)" for c in cols)
            row = con.execute(f"SELECT {sums} FROM j JOIN a ON a.__key = j.k JOIN b ON b.__key = j.k "
                              "WHERE j.kind = 'changed'").fetchone()
            by_field = {c: int(v or 0) for c, v in zip(cols, row or (), strict=True) if v}
        out: dict[str, list[dict[str, Any]]] = {}
        for kind, side, row_col in (("added", "b", "new_row"), ("removed", "a", "old_row"), ("unchanged", "b", "new_row")):
            rows = con.execute(f"SELECT j.k, j.{row_col}, {', '.join(f'{side}.{_q(c)}' for c in cols) or 'NULL'} FROM j "
                               f"JOIN {side} ON {side}.__key = j.k WHERE j.kind = '{kind}' ORDER BY j.{row_col} "
                               f"LIMIT {int(samples)}").fetchall()
            out[kind] = [{"key": r[0], "row": int(r[1]), "values": dict(zip(cols, r[2:], strict=False))} for r in rows]
        changed = con.execute(
            f"SELECT j.k, j.old_row, j.new_row, {', '.join(f'a.{_q(c)}' for c in cols) or 'NULL'}, "
            f"{', '.join(f'b.{_q(c)}' for c in cols) or 'NULL'} FROM j JOIN a ON a.__key = j.k JOIN b ON b.__key = j.k "
            f"WHERE j.kind = 'changed' ORDER BY j.new_row LIMIT {int(samples)}").fetchall()
        n = len(cols)
        out["changed"] = [{"key": r[0], "old_row": int(r[1]), "row": int(r[2]),
                           "fields": {c: [r[3 + i], r[3 + n + i]] for i, c in enumerate(cols) if r[3 + i] != r[3 + n + i]}}
                          for r in changed]
        removed = [(str(k), int(r)) for k, r in con.execute(
            "SELECT k, old_row FROM j WHERE kind = 'removed' ORDER BY old_row").fetchall()]
    finally:
        con.close()
    return VersionDiff(counts, by_field, out, cols, removed)


__all__ = ["KEY", "KINDS", "VersionDiff", "attach_keys", "diff_versions", "row_keys", "used_columns"]
