"""Row identity: which column names a row across versions of a data set, and how clean that key is.

`detect_key_column` picks the first header (after ingest's snake_case normalisation) that names an
identifier: ``id``, ``sku``, ``item_id``, ``g_id`` (Merchant Center's ``g:id``), ``product_id``,
``offer_id``. `key_report` counts the rows whose key is empty or shared with another row and keeps a
few samples, so a person can fix the feed or pick another column before versions are compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

KEY_CANDIDATES = ("id", "sku", "item_id", "g_id", "product_id", "offer_id")
MAX_SAMPLES = 5


def detect_key_column(columns: Sequence[str]) -> str | None:
    """The first column named like an identifier, in KEY_CANDIDATES' order; None when none is."""
    present = set(columns)
    return next((name for name in KEY_CANDIDATES if name in present), None)


@dataclass(frozen=True)
class KeyReport:
    """How usable `column` is as the rows' identity in one version."""

    column: str
    rows: int
    missing: bool = False  # the version has no such column
    empty_rows: int = 0  # rows whose key is null or blank
    duplicate_keys: int = 0  # distinct keys held by more than one row
    duplicate_rows: int = 0  # rows holding such a key
    empty_samples: tuple[int, ...] = ()  # 1-based row numbers
    duplicate_samples: tuple[tuple[str, int], ...] = field(default=())  # (key, rows holding it)

    @property
    def clean(self) -> bool:
        return not (self.missing or self.empty_rows or self.duplicate_keys)

    def summary(self) -> str:
        """One sentence a person can act on."""
        if self.missing:
            return f"The key column {self.column!r} is not in this version: pick another key column."
        if self.clean:
            return f"Every row has its own {self.column!r}."
        parts = []
        if self.empty_rows:
            rows = ", ".join(str(n) for n in self.empty_samples)
            parts.append(f"{self.empty_rows:,} row(s) have no {self.column!r} (rows {rows}"
                         f"{', …' if self.empty_rows > len(self.empty_samples) else ''})")
        if self.duplicate_keys:
            keys = ", ".join(f"{k!r} ×{n}" for k, n in self.duplicate_samples)
            parts.append(f"{self.duplicate_keys:,} {self.column!r} value(s) repeat across {self.duplicate_rows:,} rows "
                         f"({keys}{', …' if self.duplicate_keys > len(self.duplicate_samples) else ''})")
        return "; ".join(parts) + ". Such rows cannot be followed from one version to the next."

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column, "rows": self.rows, "missing": self.missing, "empty_rows": self.empty_rows,
                "duplicate_keys": self.duplicate_keys, "duplicate_rows": self.duplicate_rows,
                "empty_samples": list(self.empty_samples),
                "duplicate_samples": [[k, n] for k, n in self.duplicate_samples]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> KeyReport:
        return cls(str(data["column"]), int(data.get("rows", 0)), bool(data.get("missing", False)),
                   int(data.get("empty_rows", 0)), int(data.get("duplicate_keys", 0)),
                   int(data.get("duplicate_rows", 0)), tuple(int(n) for n in data.get("empty_samples", ())),
                   tuple((str(k), int(n)) for k, n in data.get("duplicate_samples", ())))


def key_values(table: pl.DataFrame, column: str) -> pl.Series:
    """The key as text, blanks as null: ``12`` and ``"12"`` are one key, ``" "`` none."""
    values = table[column].cast(pl.String, strict=False).str.strip_chars()
    return pl.select(pl.when(values == "").then(None).otherwise(values)).to_series().alias(column)


def key_report(table: pl.DataFrame, column: str) -> KeyReport:
    """Empty and repeated keys of `column` in `table` (counts and a few samples)."""
    if column not in table.columns:
        return KeyReport(column, table.height, missing=True)
    keys = key_values(table, column)
    empty = keys.is_null()
    empty_rows = int(empty.sum())
    empty_samples = tuple(int(i) + 1 for i in empty.arg_true().head(MAX_SAMPLES).to_list())
    counts = (pl.DataFrame({"k": keys}).drop_nulls().group_by("k").len()
              .filter(pl.col("len") > 1).sort(["len", "k"], descending=[True, False]))
    samples = tuple((str(k), int(n)) for k, n in counts.head(MAX_SAMPLES).iter_rows())
    return KeyReport(column, table.height, False, empty_rows, counts.height, int(counts["len"].sum() or 0),
                     empty_samples, samples)
