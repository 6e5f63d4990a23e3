"""Platforms → content types → formats → fields with limits, counting methods and export specs."""

from __future__ import annotations

from engine.platforms import builtin as _builtin  # noqa: F401  (registers the built-ins)
from engine.platforms.builtin import HASHTAG_PATTERN, URL_PATTERN
from engine.platforms.counting import (
    CountMethod,
    get_count_method,
    list_count_methods,
    register_count_method,
)
from engine.platforms.exports import (
    HIERARCHY_COLUMNS,
    ExportColumn,
    ExportSpec,
    get_export,
    list_exports,
    register_export,
)
from engine.platforms.registry import (
    FIELD_KINDS,
    FieldKind,
    FieldSpec,
    Format,
    Platform,
    get_format,
    get_platform,
    list_formats,
    list_platforms,
    register_format,
    register_platform,
    repeated,
)

__all__ = [
    "FIELD_KINDS",
    "HASHTAG_PATTERN",
    "HIERARCHY_COLUMNS",
    "URL_PATTERN",
    "CountMethod",
    "ExportColumn",
    "ExportSpec",
    "FieldKind",
    "FieldSpec",
    "Format",
    "Platform",
    "get_count_method",
    "get_export",
    "get_format",
    "get_platform",
    "list_count_methods",
    "list_exports",
    "list_formats",
    "list_platforms",
    "register_count_method",
    "register_export",
    "register_format",
    "register_platform",
    "repeated",
]
