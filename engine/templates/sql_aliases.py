"""Case-unique SQL names for columns whose names differ only in letter case (issue 16 bug 2).

DuckDB folds ASCII letters in identifiers, so `"Brand"` and `"brand"` name one column there while
a template, a rule and the per-row path tell them apart. Every SQL path quotes a column through
`case_aliases`: the first name of each group of names equal but for ASCII case keeps its name, each
later one reads as `__case<n>_<name>` (user columns never start with `__`), and a table is renamed
the same way (`alias_table`) before DuckDB sees it. The map depends only on the order of the names,
and a name's alias only on the names before it, so a schema and any schema extending it (the rules'
output, then the variation sources) agree on every alias they share.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["alias_table", "case_aliases", "fold"]

_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)  # DuckDB folds ASCII letters only


def fold(name: str) -> str:
    """A name as DuckDB compares identifiers (ASCII letters lowercased; ä/Ä and ß/SS stay apart)."""
    return name.translate(_ASCII_LOWER)


def case_aliases(names: Iterable[str]) -> dict[str, str]:
    """name → internal SQL name, for each name that differs from an earlier one only in ASCII case."""
    groups: dict[str, list[str]] = {}
    out: dict[str, str] = {}
    for name in names:
        group = groups.setdefault(fold(name), [])
        if name in group:
            continue
        if group:
            out[name] = f"__case{len(group)}_{name}"
        group.append(name)
    return out


def alias_table(table: Any, aliases: Mapping[str, str]) -> Any:
    """A pyarrow Table or polars DataFrame with its columns renamed by `aliases` (zero-copy; itself when none)."""
    names = list(table.column_names if hasattr(table, "column_names") else table.columns)
    if not any(name in aliases for name in names):
        return table
    if hasattr(table, "rename_columns"):  # pyarrow
        return table.rename_columns([aliases.get(name, name) for name in names])
    return table.rename({name: aliases[name] for name in names if name in aliases})
