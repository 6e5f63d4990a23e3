"""Dotoro's pure engine: data × rules × templates → variations, as one compiled DuckDB plan.

The public API (studio/ and workers/ import from here, nothing deeper):

Ingest — uploaded bytes → typed table
    ingest(data, filename) -> IngestResult(table, columns: ColumnProfile(name, kind, …, format), …)
    ingest(..., options=IngestOptions(has_header=, flatten_depth=, arrays=, array_separator=, keep_text=))
Templates — Jinja2 in an immutable sandbox, compiled to SQL when exact
    compile_template(source, schema) -> CompiledTemplate(.sql, .fallback_reason, .variables, .render(row))
    validate_template(source, columns, …) -> TemplateReport;  convert_dotoro(source) -> str
Rules — conditions on the original row, chained actions, per-row trace
    parse_rules(json_or_list, schema=) -> list[Rule];  apply_rules(rules, row, schema=) -> RuleOutcome
    compile_rules(rules, schema, lookups) -> RulesSQL
Transforms — GROUP BY into derived tables
    group_by(df, TransformSpec(...)) -> pl.DataFrame
Platforms — platform → content type → format → fields with sourced limits; export specs
    get_format("reddit", "thread") -> Format;  list_platforms();  register_format(Format(...))
    get_export("google_ads_editor_csv") -> ExportSpec
Generation — one DuckDB plan for preview, stats and bulk
    connect() -> a DuckDB connection for plans (hold one per process)
    prepare_source(table_or_ingest_result) -> Source (index a data set once)
    build_plan(source, GenerationConfig(...), connection=con) -> Plan
    preview(plan, limit=50) -> Preview(variations, stats: PreviewStats)
    plan.head(n), plan.batches(batch_size) -> Arrow;  generate_to_parquet(plan, path)
    write_export(plan, path, "google_ads_editor_csv");  plan.keywords();  plan.explain()
Errors — every user-facing error is an EngineError (message, line, column, field, row)
"""

from __future__ import annotations

from engine.errors import EngineError
from engine.generation import (
    ConstraintStrategy,
    GenerationConfig,
    Hierarchy,
    HistogramBin,
    KeywordCombinator,
    Plan,
    Preview,
    PreviewStats,
    Source,
    Violation,
    build_plan,
    check_value,
    compute_stats,
    connect,
    generate_to_parquet,
    prepare_source,
    preview,
    truncate_value,
    write_export,
)
from engine.ingest import (
    ColumnProfile,
    IngestError,
    IngestOptions,
    IngestResult,
    NeedsSheetChoice,
    ingest,
    list_sheets,
)
from engine.platforms import (
    CountMethod,
    ExportColumn,
    ExportSpec,
    FieldSpec,
    Format,
    Platform,
    get_count_method,
    get_export,
    get_format,
    get_platform,
    list_count_methods,
    list_exports,
    list_formats,
    list_platforms,
    register_count_method,
    register_export,
    register_format,
    register_platform,
)
from engine.rules import (
    Action,
    Condition,
    ConditionGroup,
    NotCompilable,
    Rule,
    RuleError,
    RuleOutcome,
    RuleSet,
    RulesSQL,
    apply_rules,
    compile_rules,
    parse_rules,
    prepare_rules,
    rule_match_counts,
)
from engine.templates import (
    CompiledTemplate,
    TemplateError,
    TemplateReport,
    compile_template,
    convert_dotoro,
    validate_template,
)
from engine.transforms import Aggregation, TransformError, TransformSpec, group_by

__all__ = [
    # rules
    "Action",
    # transforms
    "Aggregation",
    # ingest
    "ColumnProfile",
    # templates
    "CompiledTemplate",
    "Condition",
    "ConditionGroup",
    # generation
    "ConstraintStrategy",
    # platforms
    "CountMethod",
    # errors
    "EngineError",
    "ExportColumn",
    "ExportSpec",
    "FieldSpec",
    "Format",
    "GenerationConfig",
    "Hierarchy",
    "HistogramBin",
    "IngestError",
    "IngestOptions",
    "IngestResult",
    "KeywordCombinator",
    "NeedsSheetChoice",
    "NotCompilable",
    "Plan",
    "Platform",
    "Preview",
    "PreviewStats",
    "Rule",
    "RuleError",
    "RuleOutcome",
    "RuleSet",
    "RulesSQL",
    "Source",
    "TemplateError",
    "TemplateReport",
    "TransformError",
    "TransformSpec",
    "Violation",
    "apply_rules",
    "build_plan",
    "check_value",
    "compile_rules",
    "compile_template",
    "compute_stats",
    "connect",
    "convert_dotoro",
    "generate_to_parquet",
    "get_count_method",
    "get_export",
    "get_format",
    "get_platform",
    "group_by",
    "ingest",
    "list_count_methods",
    "list_exports",
    "list_formats",
    "list_platforms",
    "list_sheets",
    "parse_rules",
    "prepare_rules",
    "prepare_source",
    "preview",
    "register_count_method",
    "register_export",
    "register_format",
    "register_platform",
    "rule_match_counts",
    "truncate_value",
    "validate_template",
    "write_export",
]
