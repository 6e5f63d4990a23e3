"""Bulk-export file specs: which column of a platform's bulk tool each generated field fills."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from engine.errors import EngineError
from engine.platforms.registry import get_format

__all__ = [
    "HIERARCHY_COLUMNS",
    "ExportColumn",
    "ExportSpec",
    "get_export",
    "list_exports",
    "register_export",
]

# Output columns a plan adds for the hierarchy name patterns (campaign → ad group → ad).
HIERARCHY_COLUMNS: tuple[str, ...] = ("campaign_name", "ad_group_name", "ad_name")


@dataclass(frozen=True)
class ExportColumn:
    """One column of an export file: filled from a plan column or a constant."""

    header: str
    column: str | None = None
    value: str | None = None

    def __post_init__(self) -> None:
        if (self.column is None) == (self.value is None):
            raise EngineError(f"export column {self.header!r} needs exactly one of column or value")


@dataclass(frozen=True)
class ExportSpec:
    """How to write a generated set so a platform's own bulk tool imports it."""

    name: str
    label: str
    platform: str
    format: str
    source: str
    columns: tuple[ExportColumn, ...]
    file_type: Literal["csv", "tsv"] = "csv"
    encoding: str = "utf-8"
    keyword_columns: tuple[ExportColumn, ...] = ()
    match_types: tuple[str, ...] = ()

    @property
    def delimiter(self) -> str:
        """The field separator of the file."""
        return "\t" if self.file_type == "tsv" else ","

    def headers(self) -> list[str]:
        """Header row: the union of ad and keyword columns, in first-seen order."""
        seen: dict[str, None] = {}
        for col in self.columns + self.keyword_columns:
            seen.setdefault(col.header, None)
        return list(seen)


_EXPORTS: dict[str, ExportSpec] = {}


def register_export(spec: ExportSpec, *, replace: bool = False) -> ExportSpec:
    """Add an export spec; every column it reads must be a field of its format or a hierarchy name."""
    if spec.name in _EXPORTS and not replace:
        raise EngineError(f"export {spec.name!r} is already registered")
    fmt = get_format(spec.platform, spec.format)
    known = set(fmt.field_names) | set(HIERARCHY_COLUMNS) | {"keyword", "match_type"}
    for col in spec.columns + spec.keyword_columns:
        if col.column is not None and col.column not in known:
            raise EngineError(f"export {spec.name!r}: column {col.header!r} reads unknown {col.column!r}")
    _EXPORTS[spec.name] = spec
    return spec


def get_export(name: str) -> ExportSpec:
    """A registered export spec by name."""
    try:
        return _EXPORTS[name]
    except KeyError:
        raise EngineError(f"unknown export {name!r}; known: {', '.join(sorted(_EXPORTS))}") from None


def list_exports(platform: str | None = None, format: str | None = None) -> list[ExportSpec]:
    """Export specs, optionally only those of one platform / format."""
    return [s for s in _EXPORTS.values()
            if (platform is None or s.platform == platform) and (format is None or s.format == format)]
