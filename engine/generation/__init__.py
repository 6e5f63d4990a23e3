"""Data × rules × templates → variations, compiled to one DuckDB query (preview, stats, bulk)."""

from __future__ import annotations

from engine.generation.bulk import generate_to_parquet, write_export
from engine.generation.config import (
    ConstraintStrategy,
    GenerationConfig,
    Hierarchy,
    KeywordCombinator,
)
from engine.generation.constraints import check_value, truncate_value
from engine.generation.plan import Plan, build_plan, connect
from engine.generation.preview import (
    HistogramBin,
    Preview,
    PreviewStats,
    Violation,
    compute_stats,
    preview,
)
from engine.generation.source import Source, column_facts, prepare_source

__all__ = [
    "ConstraintStrategy",
    "GenerationConfig",
    "Hierarchy",
    "HistogramBin",
    "KeywordCombinator",
    "Plan",
    "Preview",
    "PreviewStats",
    "Source",
    "Violation",
    "build_plan",
    "check_value",
    "column_facts",
    "compute_stats",
    "connect",
    "generate_to_parquet",
    "prepare_source",
    "preview",
    "truncate_value",
    "write_export",
]
