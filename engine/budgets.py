"""Every budget on untrusted work (templates, variation sources, rule regexes), in one place.

A budget is a number a user's input may not exceed; each refusal names the budget and its
value. `BUDGETS` lists them with where each is enforced (the closing note of issue 15 and
tests/engine/test_budgets.py read it), so a new limit is one constant plus one entry here.
"""

from __future__ import annotations

from typing import NamedTuple

# --- templates: source -------------------------------------------------------------------

TEMPLATE_MAX_CHARS = 50_000
"""Longest template source accepted."""

MAX_VARIABLES = 100
"""Most distinct columns one template may use."""

MAX_BLOCK_NESTING = 10
"""Most `{% if/for/macro/call/filter/with/set %}` blocks open inside each other."""

MAX_EXPRESSION_NESTING = 30
"""Most brackets `( [ {` (and unary `not`/`-`) open inside each other in one expression."""

MAX_EXPRESSION_DEPTH = 100
"""Most operations nested in one expression (chained filters, `+`, `or`, …)."""

# --- templates: one render ---------------------------------------------------------------

MAX_OUTPUT_CHARS = 100_000
"""Longest text one template may render for one row (one field); the SQL path checks it too."""

MAX_STRING_CHARS = 1_000_000
"""Longest string or list a single operation (filter, `~`, `*`, `+`, join, replace) may build."""

MAX_SQL_GROWTH = 8
"""Most a template's `replace` filters may lengthen text (product of new/old lengths) and stay on the
SQL path; beyond, it renders per row (DuckDB builds 2,048 rows of each step at once)."""

MAX_RENDER_WORK_CHARS = 20_000_000
"""Characters all operations of one render may build together (the sum of their results)."""

MAX_RANGE_ITEMS = 10_000
"""Longest `range()` a template may build."""

MAX_STEPS = 100_000
"""Loop iterations plus calls one render may make before it is stopped."""

MAX_INT_BITS = 4_096
"""Largest integer (in bits) arithmetic may produce while rendering."""

MAX_DECIMALS = 10
"""Most decimals `number`, `percent` and friends may print."""

RENDER_SECONDS = 5.0
"""Wall-clock seconds one render call (one row of one field) may take."""

PREVIEW_SECONDS = 30.0
"""Wall-clock seconds the per-row renders of one preview (or one editor check) may take together."""

# --- variations --------------------------------------------------------------------------

MAX_VARIATIONS_PER_ROW = 1_000
"""Most variations the variation sources may make per row (the product of their value counts)."""

MAX_INLINE_COMBINATIONS = 10_000
"""Most combinations the inline `[[…|…]]` blocks of one row's fields may make before dedup and the cap."""

MAX_KEYWORDS_PER_ROW = 1_000
"""Most keyword phrases × match types the keyword combinator may make per row."""

MAX_PREVIEW_VARIATIONS = 1_000_000
"""Most rows × variations one preview's whole-data-set figures may cover."""

MAX_RUN_VARIATIONS = 50_000_000
"""Most rows × variations one generation run may produce."""

# --- ingest ------------------------------------------------------------------------------

MAX_EXPANDED_ROWS = 1_000_000
"""Most rows nested lists may expand a file into (upload option "one row per item")."""

# --- rules: no budget needed. Rule regexes run on RE2 on both paths (engine/rules/regex.py),
# whose time is linear in the text and whose memory is capped by RE2 itself.


class Budget(NamedTuple):
    """One budget: its constant's name, value, unit and where it is enforced."""

    name: str
    value: float
    unit: str
    enforced: str


BUDGETS: tuple[Budget, ...] = (
    Budget("TEMPLATE_MAX_CHARS", TEMPLATE_MAX_CHARS, "characters", "engine/templates/validate.py analyze"),
    Budget("MAX_VARIABLES", MAX_VARIABLES, "columns", "engine/templates/validate.py analyze"),
    Budget("MAX_BLOCK_NESTING", MAX_BLOCK_NESTING, "blocks", "engine/templates/nesting.py (before parsing)"),
    Budget("MAX_EXPRESSION_NESTING", MAX_EXPRESSION_NESTING, "brackets",
           "engine/templates/nesting.py (before parsing)"),
    Budget("MAX_EXPRESSION_DEPTH", MAX_EXPRESSION_DEPTH, "operations",
           "engine/templates/nesting.py (after parsing, before any tree walk)"),
    Budget("MAX_OUTPUT_CHARS", MAX_OUTPUT_CHARS, "characters",
           "engine/templates/compiled.py render; SQL path: generation/chain.py + compiler.py via sql_guards.py"),
    Budget("MAX_STRING_CHARS", MAX_STRING_CHARS, "characters",
           "engine/templates/sandbox.py, filters.py, registry.py; sql_guards.py (SQL `replace` and `~`)"),
    Budget("MAX_SQL_GROWTH", MAX_SQL_GROWTH, "-fold", "engine/templates/compile_sql.py _check_growth (per row beyond)"),
    Budget("MAX_RENDER_WORK_CHARS", MAX_RENDER_WORK_CHARS, "characters", "engine/templates/sandbox.py charge"),
    Budget("MAX_RANGE_ITEMS", MAX_RANGE_ITEMS, "items", "engine/templates/sandbox.py safe_range"),
    Budget("MAX_STEPS", MAX_STEPS, "steps", "engine/templates/sandbox.py tick"),
    Budget("MAX_INT_BITS", MAX_INT_BITS, "bits", "engine/templates/sandbox.py call_binop"),
    Budget("MAX_DECIMALS", MAX_DECIMALS, "decimals", "engine/templates/filters.py check_decimals"),
    Budget("RENDER_SECONDS", RENDER_SECONDS, "seconds", "engine/templates/sandbox.py RenderBudget (cooperative)"),
    Budget("PREVIEW_SECONDS", PREVIEW_SECONDS, "seconds",
           "engine/generation/preview.py preview: plan.py interrupts its queries, fallback.py RowUDF its renders"),
    Budget("MAX_VARIATIONS_PER_ROW", MAX_VARIATIONS_PER_ROW, "variations",
           "engine/generation/config.py GenerationConfig (sources × max_inline_variations); "
           "studio/previews.py parse_variation_sources"),
    Budget("MAX_INLINE_COMBINATIONS", MAX_INLINE_COMBINATIONS, "combinations",
           "engine/generation/inline.py expand (per row) and InlineStep (the plan's SQL)"),
    Budget("MAX_KEYWORDS_PER_ROW", MAX_KEYWORDS_PER_ROW, "keywords", "engine/generation/config.py GenerationConfig"),
    Budget("MAX_PREVIEW_VARIATIONS", MAX_PREVIEW_VARIATIONS, "variations",
           "engine/generation/preview.py preview"),
    Budget("MAX_RUN_VARIATIONS", MAX_RUN_VARIATIONS, "variations", "engine/generation/plan.py build_plan"),
    Budget("MAX_EXPANDED_ROWS", MAX_EXPANDED_ROWS, "rows",
           "engine/ingest_nested.py expand_records (counted before expanding) and explode_frame"),
)


def over_budget(what: str, amount: int, limit: int, unit: str, fix: str = "") -> str:
    """The refusal sentence: "<what> would make 1,000,000 <unit>; the limit is 1,000. <fix>"."""
    return f"{what} would make {amount:,} {unit}; the limit is {limit:,}." + (f" {fix}" if fix else "")
