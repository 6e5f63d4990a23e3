"""The steps of a plan after `__expanded`: render, check, fix and resolve each variation.

  __rendered  one expression per output column: compiled template SQL, or a per-row Jinja2 UDF
  __inline    (sets whose fields expand `[[a|b]]` blocks) one variation per kept combination (inline.py)
  __clean     (sets with text hygiene options or a word list) each rendered value cleaned (hygiene_step.py)
  __checked   first failing constraint per field (__why_<field>, NULL when fine; a refused word first)
  __fixed     the constraint strategy's replacement value (__o_<field>)
  __left      what still fails after the strategy (__left_<field>, NULL when fine)
  __resolved  __dropped (something still fails), the __violations report (what still fails) and
              the __fixes report (what the strategy repaired): the one truth that preview figures,
              the violations panel, cards and the stored `valid` / `problems` all read

The stats run a variant in which columns that need only their length are measured instead of
rendered (see `CompiledPlan.measured`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from engine.generation.constraints import check_sql, length_check_sql
from engine.generation.schema import ROW, quote, sql_literal
from engine.templates.sql_guards import output_guard_sql, output_length_guard_sql

if TYPE_CHECKING:
    from engine.generation.compiled_plan import OutputColumn
    from engine.generation.inline import InlineStep

__all__ = ["fix_label", "render_chain"]


def fix_label(col: OutputColumn) -> str:
    """How a repaired value reads in the `__fixes` report: "cut to 90", "fallback template"."""
    if col.fix_note and col.fix_note.startswith("truncate to") and col.spec is not None:
        return f"cut to {col.spec.max_chars}"
    return "fallback template"


def _capped(c: OutputColumn, sql: str, is_length: bool) -> str:
    """A template compiled to SQL refuses output over MAX_OUTPUT_CHARS exactly as its per-row render does."""
    if c.template is None or not c.template.variables:  # per-row UDFs check it themselves; constants are short
        return sql
    guard = output_length_guard_sql if is_length else output_guard_sql
    return guard(sql, field=c.name, row_sql=quote(ROW))


def _screened(c: OutputColumn, value: str, check: str) -> str:
    """The field's check, a refused word (workspace word list) first."""
    return check if c.screen is None else f"coalesce({quote(c.screen)}({value}), {check})"


def render_chain(cols: list[OutputColumn], keep: str, measured: Mapping[str, str] | None = None,
                 value_cap: int = 0, inline: InlineStep | None = None) -> list[tuple[str, str]]:
    """__rendered, (the `inline` expansion,) __checked, __fixed and __resolved over __expanded.

    `measured` columns (stats only; name → length SQL) are not rendered: __rendered holds their
    length, __checked the first failure from it and __fixed, for failing values only, their
    first `value_cap` characters (so `keep` must carry the data columns).
    """
    measured = measured or {}
    rendered = [f"{_capped(c, measured[c.name], True)} AS {c.length()}" if c.name in measured
                else f"{_capped(c, c.value_sql, False)} AS {c.rendered()}" for c in cols]
    ctes = [("__rendered", f"SELECT {keep}, {', '.join(rendered)}\nFROM {quote('__expanded')}")]
    if inline is not None:  # each rendered value's [[a|b]] blocks become variations of their own
        ctes += inline.ctes("__rendered")
    cleaned = [f"{quote(c.clean)}({c.rendered()}) AS {c.rendered()}" for c in cols
               if c.clean is not None and c.name not in measured]
    if cleaned:  # the set's text hygiene, after any [[a|b]] expansion and before the checks
        ctes.append(("__clean", f"SELECT * REPLACE ({', '.join(cleaned)})\nFROM {quote(ctes[-1][0])}"))
    checks = []
    for c in cols:
        if c.spec is None:
            continue
        if c.name in measured:
            why = length_check_sql(c.spec, c.length(), never_blank=c.never_blank)
        else:
            why = _screened(c, c.checked(), check_sql(c.spec, c.checked(), never_blank=c.never_blank))
        checks.append(f"{why} AS {c.why()}")
    ctes.append(("__checked", f"SELECT *{''.join(', ' + x for x in checks)}\nFROM {quote(ctes[-1][0])}"))
    finals = []
    for c in cols:
        if c.name in measured:
            if c.spec is not None:
                finals.append(f"CASE WHEN {c.why()} IS NOT NULL THEN left({c.value_sql}, {value_cap}) END AS {c.sample()}")
            continue
        fix = c.fix_sql if c.clean is None or not c.fix_reads_data else f"{quote(c.clean)}({c.fix_sql})"
        value = c.rendered() if c.fix_sql is None else (
            f"CASE WHEN {c.why()} IS NULL THEN {c.rendered()} ELSE {fix} END")
        finals.append(f"{value} AS {c.final()}")
    ctes.append(("__fixed", f"SELECT *{''.join(', ' + x for x in finals)}\nFROM {quote('__checked')}"))
    lefts = []
    for c in cols:
        if c.spec is None:
            continue
        left = c.why() if c.fix_sql is None else (
            f"CASE WHEN {c.why()} IS NULL THEN NULL ELSE {_screened(c, c.final(), check_sql(c.spec, c.final()))} END")
        lefts.append(f"{left} AS {c.left()}")
    ctes.append(("__left", f"SELECT *{''.join(', ' + x for x in lefts)}\nFROM {quote('__fixed')}"))
    checked = [c for c in cols if c.spec is not None]
    dropped = " OR ".join(f"{c.left()} IS NOT NULL" for c in checked) or "false"
    report = ", ".join(f"{sql_literal(c.name + ': ')} || {c.left()}" for c in checked)
    violations = f"NULLIF(concat_ws('; ', {report}), '')" if report else "CAST(NULL AS VARCHAR)"
    notes = ", ".join(f"CASE WHEN {c.why()} IS NOT NULL AND {c.left()} IS NULL THEN "
                      f"{sql_literal(c.name + ': ' + fix_label(c) + ' (')} || {c.why()} || ')' END"
                      for c in checked if c.fix_sql is not None)
    fixes = f"NULLIF(concat_ws('; ', {notes}), '')" if notes else "CAST(NULL AS VARCHAR)"
    resolved = (f"SELECT *, ({dropped}) AS {quote('__dropped')}, {violations} AS {quote('__violations')}, "
                f"{fixes} AS {quote('__fixes')}\nFROM {quote('__left')}")
    ctes.append(("__resolved", resolved))
    return ctes
