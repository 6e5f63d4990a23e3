"""Turn a GenerationConfig into the one DuckDB query of a plan (a chain of CTEs) and its UDFs.

Chain, each step a CTE over the previous one (DuckDB inlines them into one pipeline):
  __rules     the rules SELECT over "__source" (rows carry __row, __skipped, tags, targeting…)
  __kept      WHERE NOT __skipped
  __expanded  × variation sources (UNNEST keeps row order), adds __variation
  __rendered  one expression per output column: compiled template SQL, or a per-row Jinja2 UDF
  __checked   first failing constraint per field (__why_<field>, NULL when fine)
  __fixed     the constraint strategy's replacement value (__o_<field>)
  __resolved  __dropped (still failing after the strategy) and the __violations report
  __final     WHERE NOT __dropped, plus __duplicate (row_number over the dedup key, keep first)
__rendered … __resolved are built in `chain.py` (the stats run a variant that measures lengths).
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from engine.errors import EngineError
from engine.generation.chain import render_chain
from engine.generation.config import GenerationConfig
from engine.generation.constraints import fixable_by_truncation, length_check_sql
from engine.generation.fallback import RowUDF, TruncateUDF
from engine.generation.rules_stage import RulesStage
from engine.generation.schema import ROW, VARIATION, quote, sql_literal
from engine.platforms import FieldSpec, Format, get_count_method, get_format
from engine.templates import CompiledTemplate, compile_template

__all__ = ["CompiledPlan", "OutputColumn", "compile_plan"]

Describe = Callable[[str], dict[str, str]]
TRACE_COLUMN = "__rules_fired"
_CONSTANT = re.compile(r"\('(?:[^']|'')*'\)")
_KEPT = (f"CASE WHEN {quote('__dropped')} IS NULL THEN error('internal: a variation without a constraint verdict') "
         f"ELSE NOT {quote('__dropped')} END")
"""`NOT __dropped` (never NULL) as a filter DuckDB keeps above the rendering: it moves a filter down
through projections by copying in the expressions it reads (here every template, evaluated once
for the filter and again for the output) unless the filter can raise an error."""


@dataclass
class OutputColumn:
    """One generated column: a format field or a hierarchy name."""

    name: str
    spec: FieldSpec | None
    source: str
    value_sql: str
    fallback_reason: str | None = None
    fix_sql: str | None = None
    fix_note: str | None = None
    fix_reads_data: bool = False
    template: CompiledTemplate | None = field(default=None, repr=False)  # when compiled to SQL

    def why(self) -> str:
        """`__why_<name>`: the first failing constraint."""
        return quote(f"__why_{self.name}")

    def rendered(self) -> str:
        """`__f_<name>`: the value as rendered."""
        return quote(f"__f_{self.name}")

    def checked(self) -> str:
        """The rendered value for checks: the literal itself when the template is constant.

        DuckDB then folds the check (a regex on a fixed subreddit, say) once at planning
        instead of running it on every row.
        """
        return self.value_sql if _CONSTANT.fullmatch(self.value_sql) else self.rendered()

    def final(self) -> str:
        """`__o_<name>`: the value after the constraint strategy."""
        return quote(f"__o_{self.name}")

    @property
    def never_blank(self) -> bool:
        """The rendered value always holds a character above U+0020 (see CompiledTemplate.never_blank)."""
        return self.template is not None and self.template.never_blank

    def length(self) -> str:
        """`__len_<name>` (stats): the value's length, when measured without rendering it."""
        return quote(f"__len_{self.name}")

    def sample(self) -> str:
        """`__val_<name>` (stats): the start of a failing value, when measured without rendering it."""
        return quote(f"__val_{self.name}")


@dataclass
class CompiledPlan:
    """The SQL of a plan, split so preview, stats, bulk and keywords share every step."""

    fmt: Format
    config: GenerationConfig
    columns: list[OutputColumn]
    meta_columns: list[str]
    ctes: list[tuple[str, str]]
    rules: RulesStage
    udfs: list[RowUDF | TruncateUDF] = field(default_factory=list)
    keyword_sql: str | None = None
    keep: str = "*"  # what __rendered carries on besides the generated columns

    @property
    def dedup(self) -> list[str]:
        """The dedup key columns."""
        return list(self.config.dedup_fields)

    def with_clause(self, upto: str = "__final", ctes: list[tuple[str, str]] | None = None) -> str:
        """`WITH …` up to and including the named CTE."""
        parts = []
        for name, sql in self.ctes if ctes is None else ctes:
            parts.append(f"{quote(name)} AS (\n{sql}\n)")
            if name == upto:
                break
        return "WITH\n" + ",\n".join(parts)

    def measured(self) -> dict[str, str]:
        """Columns whose stats need only their length: name → SQL of that length.

        A template compiled to SQL counted in code points, with no check beyond its length
        (an emptiness check counts when the template always prints text), no fix to apply and
        no part in the dedup key, never needs its text for the stats, except for the few
        values that fail, which are rendered alone.
        """
        out = {}
        for c in self.columns:
            if c.template is None or c.fix_sql is not None or c.name in self.config.dedup_fields:
                continue
            if c.spec is not None and c.spec.count != "code_points":
                continue
            if c.spec is not None and length_check_sql(c.spec, "0", never_blank=c.never_blank) is None:
                continue
            length = c.template.length_sql()
            if length is not None:
                out[c.name] = f"({length})"
        return out

    def stats_ctes(self, value_cap: int, measured: Mapping[str, str]) -> list[tuple[str, str]]:
        """The CTEs up to `__resolved` for whole-data-set stats (`measured` columns: lengths, not text)."""
        upto = [cte for cte in self.ctes if cte[0] in ("__rules", "__kept", "__expanded")]
        # a failing measured value is rendered after its check, so the data columns ride along
        return upto + render_chain(self.columns, "*" if measured else self.keep, measured, value_cap)

    def output_select(self, *, trace: bool = False) -> str:
        """Output column list: row key, generated columns, rule metadata, violation report.

        `trace` adds `__rules_fired` (the ids of the rules that fired on the row, in order): a
        preview shows it, a bulk run has no use for it, and it costs a sixth of a bulk run.
        """
        cols = [quote(ROW), quote(VARIATION)]
        cols += [f"{c.final()} AS {quote(c.name)}" for c in self.columns]
        cols += [quote(m) for m in self.meta_columns if trace or m != TRACE_COLUMN]
        cols.append(quote("__violations"))
        return ", ".join(cols)

    def bulk_sql(self, ctes: list[tuple[str, str]] | None = None, *, trace: bool = False) -> str:
        """Every kept variation, in (__row, __variation) order (over `ctes` instead of the whole chain)."""
        order = f"\nORDER BY {quote(ROW)}, {quote(VARIATION)}" if self.dedup else ""
        return (f"{self.with_clause(ctes=ctes)}\nSELECT {self.output_select(trace=trace)}\nFROM {quote('__final')}\n"
                f"WHERE NOT {quote('__duplicate')}{order}")

    def head_sql(self, limit: int, *, trace: bool = False) -> str:
        """The first `limit` kept variations (the bulk query with a LIMIT)."""
        return f"{self.bulk_sql(trace=trace)}\nLIMIT {int(limit)}"

    def rules_sql(self) -> str:
        """The rules step alone: every row of "__source" with its rule outcome (`__skipped`, metadata)."""
        return f"{self.with_clause(upto='__rules')}\nSELECT * FROM {quote('__rules')}"

    def head_after_rules_sql(self, limit: int, facts: Mapping[str, frozenset[str]] | None = None, *,
                             trace: bool = False) -> str:
        """`head_sql` reading the rules step's output from a table named "__rules" (see `rules_sql`).

        `facts` (column → text facts true of every row of that table, see sql_values.text_facts)
        specialise the templates' SQL to that text.
        """
        assert self.ctes[0][0] == "__rules"
        ctes = self.ctes[1:]
        if facts:
            cols = [c if c.template is None else dataclasses.replace(c, value_sql=f"({c.template.sql_for(facts)})")
                    for c in self.columns]
            if any(a.value_sql != b.value_sql for a, b in zip(cols, self.columns, strict=True)):
                ctes = ([cte for cte in ctes if cte[0] in ("__kept", "__expanded")] + render_chain(cols, self.keep)
                        + [cte for cte in ctes if cte[0] == "__final"])
        return f"{self.bulk_sql(ctes, trace=trace)}\nLIMIT {int(limit)}"


def _cut(truncate: Callable[[str, int], str], limit: int, text: str) -> str:
    return truncate(text, limit)


def _did_you_mean(name: str, options: list[str]) -> str:
    hint = difflib.get_close_matches(name, options, n=1)
    return f"; did you mean {hint[0]!r}?" if hint else ""


@functools.lru_cache(maxsize=512)
def _cached_template(source: str, kinds: tuple[tuple[str, str], ...]) -> CompiledTemplate:
    # A preview re-plans on every edit; only the edited template needs compiling again.
    return compile_template(source, dict(kinds))


def _compile_template(source: str, kinds: Mapping[str, str], label: str) -> CompiledTemplate:
    try:
        return _cached_template(source, tuple(kinds.items()))
    except EngineError as exc:
        if exc.field is None:
            exc.field = label
        raise


class _Builder:
    """Stateful helper: compiles templates, allocates UDFs, assembles the CTEs."""

    def __init__(self, config: GenerationConfig, rules: RulesStage, udf_prefix: str,
                 describe: Describe) -> None:
        self.config = config
        self.fmt = get_format(config.platform, config.format)
        self.rules = rules
        self.prefix = udf_prefix
        self.describe = describe
        self.kinds = dict(rules.output_kinds)
        for name in config.variation_sources:
            if name in self.kinds:
                raise EngineError(f"variation source {name!r} has the same name as a column; rename it",
                                  field=name)
            self.kinds[name] = "text"
        self.udfs: list[RowUDF | TruncateUDF] = []
        self._types: dict[str, str] | None = None
        self._truncators: dict[tuple[str, int], TruncateUDF] = {}

    # -- values ---------------------------------------------------------------------------

    def value(self, source: str, label: str) -> tuple[str, str | None]:
        """SQL for a template: compiled SQL, or a per-row UDF call and the reason why."""
        compiled = _compile_template(source, self.kinds, label)
        if compiled.sql is not None:
            return f"({compiled.sql})", None
        if self._types is None:
            self._types = self.describe(self.with_clause_expanded())
        columns = [(c, self._types[c]) for c in sorted(compiled.variables) if c in self._types]
        udf = RowUDF(f"{self.prefix}_render_{len(self.udfs)}", label, compiled, columns)
        self.udfs.append(udf)
        return udf.call_sql(), compiled.fallback_reason or "outside the SQL subset"

    def _sql_template(self, source: str, label: str, fallback_reason: str | None) -> CompiledTemplate | None:
        """The compiled template behind a column compiled to SQL (cached: no second compile)."""
        return None if fallback_reason else _compile_template(source, self.kinds, label)

    def truncated(self, spec: FieldSpec, expr: str) -> str:
        """SQL cutting `expr` to the field's limit (a Python UDF for non-SQL counting methods)."""
        assert spec.max_chars is not None
        method = get_count_method(spec.count)
        if method.truncate_sql is not None:
            return method.truncate_sql(expr, spec.max_chars)
        key = (spec.count, spec.max_chars)
        if key not in self._truncators:
            udf = TruncateUDF(f"{self.prefix}_truncate_{len(self.udfs)}",
                              functools.partial(_cut, method.truncate, spec.max_chars))
            self._truncators[key] = udf
            self.udfs.append(udf)
        return self._truncators[key].call_sql(expr)

    # -- columns --------------------------------------------------------------------------

    def columns(self) -> list[OutputColumn]:
        """Hierarchy names then format fields, each with its value and strategy fix."""
        cfg = self.config
        names = list(self.fmt.field_names)
        for name in list(cfg.templates) + list(cfg.fallbacks):
            if name not in names:
                raise EngineError(f"{self.fmt.label} has no field {name!r}{_did_you_mean(name, names)}",
                                  field=name)
        cols: list[OutputColumn] = []
        for name, src in (cfg.hierarchy.templates() if cfg.hierarchy else {}).items():
            sql, why = self.value(src, name)
            cols.append(OutputColumn(name, None, src, sql, why, template=self._sql_template(src, name, why)))
        missing = []
        for spec in self.fmt.fields:
            if spec.name in cfg.templates:
                src = cfg.templates[spec.name]
                sql, why = self.value(src, spec.name)
            elif f"__target_{spec.name}" in self.rules.meta_columns:
                src, sql, why = "", f"coalesce({quote('__target_' + spec.name)}, '')", None
            elif spec.required:
                missing.append(spec.name)
                continue
            else:
                continue
            col = OutputColumn(spec.name, spec, src, sql, why,
                               template=self._sql_template(src, spec.name, why) if src else None)
            self._add_fix(col)
            cols.append(col)
        if missing:
            raise EngineError(f"{self.fmt.label} needs a template for required field(s): {', '.join(missing)}",
                              field=missing[0])
        outputs = [c.name for c in cols]
        for name in cfg.dedup_fields:
            if name not in outputs:
                raise EngineError(f"dedup field {name!r} is not a generated column{_did_you_mean(name, outputs)}",
                                  field=name)
        return cols

    def _add_fix(self, col: OutputColumn) -> None:
        spec = col.spec
        assert spec is not None
        strategy = self.config.constraint_strategy
        if strategy == "truncate" and fixable_by_truncation(spec):
            col.fix_sql = self.truncated(spec, col.rendered())
            col.fix_note = f"truncate to {spec.max_chars} ({spec.count})"
        elif strategy == "fallback" and spec.name in self.config.fallbacks:
            col.fix_sql, why = self.value(self.config.fallbacks[spec.name], f"{spec.name} (fallback)")
            col.fix_note = "fallback template" + (f" (per-row Jinja2: {why})" if why else "")
            col.fix_reads_data = True

    # -- CTEs -----------------------------------------------------------------------------

    def with_clause_expanded(self) -> str:
        """A query over the `__expanded` step (used to learn column types)."""
        ctes = self.ctes_until_expanded()
        body = ",\n".join(f"{quote(n)} AS (\n{s}\n)" for n, s in ctes)
        return f"WITH\n{body}\nSELECT * FROM {quote('__expanded')}"

    def ctes_until_expanded(self) -> list[tuple[str, str]]:
        """__rules, __kept and __expanded."""
        ctes = [("__rules", self.rules.select_sql),
                ("__kept", f"SELECT * FROM {quote('__rules')} WHERE NOT {quote('__skipped')}")]
        rows = self.config.variation_rows()
        if self.config.variation_sources:
            names = list(self.config.variation_sources)
            structs = ", ".join(
                "{" + ", ".join([f"'i': {i}"] + [f"'v{j}': {sql_literal(r[n])}" for j, n in enumerate(names)]) + "}"
                for i, r in enumerate(rows))
            picks = ", ".join(f"struct_extract({quote('__vs')}, 'v{j}') AS {quote(n)}" for j, n in enumerate(names))
            expanded = (f"SELECT * EXCLUDE ({quote('__vs')}), CAST(struct_extract({quote('__vs')}, 'i') AS INTEGER)"
                        f" AS {quote(VARIATION)}, {picks}\nFROM (SELECT *, unnest([{structs}]) AS {quote('__vs')}"
                        f" FROM {quote('__kept')})")
            ctes.append(("__expanded", expanded))
        else:
            ctes.append(("__expanded", f"SELECT *, CAST(0 AS INTEGER) AS {quote(VARIATION)} FROM {quote('__kept')}"))
        return ctes

    def build(self) -> CompiledPlan:
        """Compile every template and assemble the CTE chain."""
        cols = self.columns()
        keyword_parts = self._keyword_parts()
        ctes = self.ctes_until_expanded()
        # Later steps need the data columns only for fallback-strategy templates and keywords;
        # otherwise carry just the row key and rule metadata (less for DuckDB to bind).
        needs_data = keyword_parts is not None or any(c.fix_reads_data for c in cols)
        keep = "*" if needs_data else ", ".join(quote(n) for n in [ROW, VARIATION, *self.rules.meta_columns])
        ctes += render_chain(cols, keep)
        ctes.append(("__final", self._final_cte(cols)))
        plan = CompiledPlan(self.fmt, self.config, cols, list(self.rules.meta_columns), ctes, self.rules, self.udfs,
                            keep=keep)
        if keyword_parts is not None:
            plan.keyword_sql = self._keyword_sql(plan, keyword_parts)
        return plan

    def _final_cte(self, cols: list[OutputColumn]) -> str:
        by_name = {c.name: c for c in cols}
        if not self.config.dedup_fields:
            return f"SELECT *, false AS {quote('__duplicate')}\nFROM {quote('__resolved')}\nWHERE {_KEPT}"
        keys = ", ".join(by_name[n].final() for n in self.config.dedup_fields)
        return (f"SELECT *, row_number() OVER (PARTITION BY {keys} ORDER BY {quote(ROW)}, {quote(VARIATION)}) > 1"
                f" AS {quote('__duplicate')}\nFROM {quote('__resolved')}\nWHERE {_KEPT}")

    # -- keywords -------------------------------------------------------------------------

    def _keyword_parts(self) -> list[list[str]] | None:
        kw = self.config.keywords
        if kw is None:
            return None
        cache: dict[str, str] = {}
        parts = []
        for p, alternatives in enumerate(kw.parts):
            exprs = []
            for src in alternatives:
                if src not in cache:
                    cache[src] = self.value(src, f"keyword part {p + 1}")[0]
                exprs.append(cache[src])
            parts.append(exprs)
        return parts

    def _keyword_sql(self, plan: CompiledPlan, parts: list[list[str]]) -> str:
        kw = self.config.keywords
        assert kw is not None
        combos: list[list[str]] = [[]]
        for exprs in parts:
            combos = [c + [e] for c in combos for e in exprs]
        sep = sql_literal(kw.separator)
        items: list[str] = []
        for c in combos:
            phrase = (f"regexp_replace(trim(array_to_string(list_filter([{', '.join(c)}], lambda x: trim(x) <> ''), "
                      f"{sep})), '\\s+', ' ', 'g')")
            for m in kw.match_types:
                items.append(f"{{'i': {len(items)}, 'k': {phrase}, 'm': {sql_literal(m)}}}")
        hierarchy = [c for c in plan.columns if c.spec is None]
        names = ", ".join(f"{c.final()} AS {quote(c.name)}" for c in hierarchy)
        keep = ", ".join([quote(c.name) for c in hierarchy] + [quote("keyword"), quote("match_type")])
        inner = (f"SELECT {quote(ROW)}, {quote(VARIATION)}{', ' + names if names else ''}, "
                 f"struct_extract({quote('__kw')}, 'i') AS {quote('__kw_index')}, "
                 f"struct_extract({quote('__kw')}, 'k') AS {quote('keyword')}, "
                 f"struct_extract({quote('__kw')}, 'm') AS {quote('match_type')}\n"
                 f"FROM (SELECT *, unnest([{', '.join(items)}]) AS {quote('__kw')} FROM {quote('__final')} "
                 f"WHERE NOT {quote('__duplicate')})")
        order = f"{quote(ROW)}, {quote(VARIATION)}, {quote('__kw_index')}"
        return (f"{plan.with_clause()}\nSELECT * EXCLUDE ({quote('__kw_index')}) FROM ({inner})\n"
                f"WHERE {quote('keyword')} <> ''\nQUALIFY row_number() OVER (PARTITION BY {keep} ORDER BY {order}) = 1\n"
                f"ORDER BY {order}")


def compile_plan(config: GenerationConfig, rules: RulesStage, *, udf_prefix: str,
                 describe: Describe) -> CompiledPlan:
    """Compile a config over a rules stage into the plan's CTE chain and UDFs."""
    return _Builder(config, rules, udf_prefix, describe).build()
