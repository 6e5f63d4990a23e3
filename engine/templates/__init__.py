"""Templates: Jinja2 syntax in an immutable sandbox, validated against the data, compiled to SQL when exact.

    report = validate_template(source, columns, null_counts=..., row_count=...)
    tmpl = compile_template(source, {"product_name": "text", "price": "decimal"})
    tmpl.sql             # a DuckDB expression (VARCHAR, never NULL) or None
    tmpl.render(row)     # the per-row render; byte-identical to the SQL where there is one

Semantics shared by both paths: null prints as ''; floats print as Python's repr, booleans
"True"/"False", dates ISO, datetimes `str(datetime)` (datetime columns are naive timestamps);
`~` joins nulls as ''; comparing an empty value with `<`/`>` is false (never an error);
`a if c` without else prints ''. A column is `name` or `row["Any Name"]` (`row` is the whole
row; a column called "row" is only reachable as `row["row"]`; a dotted column from nested data,
`item.brand`, is written `item.brand`, see `dotted.py`). Filters: see `filters.py`;
the registry is `registry.FILTERS` (`register_filter` adds one). What compiles to SQL: see
`compile_sql.py`; the SQL refuses each step over MAX_STRING_CHARS as the per-row render does
(`sql_guards.py`) and a plan adds the MAX_OUTPUT_CHARS check per field. Every budget, its value
and where it is enforced: `engine/budgets.py`.
"""

from __future__ import annotations

from engine.templates.compiled import CompiledTemplate, compile_template, render_rows
from engine.templates.convert import convert_dotoro
from engine.templates.errors import TemplateError
from engine.templates.limits import MAX_OUTPUT_CHARS, MAX_VARIABLES, TEMPLATE_MAX_CHARS
from engine.templates.registry import FILTERS, FilterSpec, register_filter
from engine.templates.sandbox import template_environment
from engine.templates.validate import TemplateIssue, TemplateReport, validate_template

__all__ = [
    "FILTERS",
    "MAX_OUTPUT_CHARS",
    "MAX_VARIABLES",
    "TEMPLATE_MAX_CHARS",
    "CompiledTemplate",
    "FilterSpec",
    "TemplateError",
    "TemplateIssue",
    "TemplateReport",
    "compile_template",
    "convert_dotoro",
    "register_filter",
    "render_rows",
    "template_environment",
    "validate_template",
]
