"""Turn a GenerationConfig into the one DuckDB query of a plan (a chain of CTEs) and its UDFs.

Chain, each step a CTE over the previous one (DuckDB inlines them into one pipeline):
  __rules     the rules SELECT over "__source" (rows carry __row, __skipped, tags, targeting…)
  __kept      WHERE NOT __skipped
  __expanded  × variation sources (UNNEST keeps row order), adds __variation
  __rendered  one expression per output column: compiled template SQL, or a per-row Jinja2 UDF
  __inline    × the kept combinations of the fields' `[[a|b]]` blocks (inline.py), __variation renumbered
  __checked   first failing constraint per field (__why_<field>, NULL when fine)
  __fixed     the constraint strategy's replacement value (__o_<field>)
  __resolved  __dropped (still failing after the strategy) and the __violations report
  __final     WHERE NOT __dropped, plus __duplicate (row_number over the dedup key, keep first)
__rendered … __resolved are built in `chain.py` (the stats run a variant that measures lengths).
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable, Mapping

from engine.errors import EngineError
from engine.generation.chain import render_chain
from engine.generation.compiled_plan import CompiledPlan, OutputColumn
from engine.generation.config import GenerationConfig
from engine.generation.constraints import fixable_by_truncation
from engine.generation.fallback import RowUDF, TruncateUDF
from engine.generation.inline import InlineStep
from engine.generation.rules_stage import RulesStage
from engine.generation.schema import ROW, VARIATION, quote, sql_literal
from engine.generation.structure import AD_SLOT, NAME_SPECS, STRUCTURE_COLUMNS
from engine.platforms import FieldSpec, get_count_method, get_format
from engine.platforms.counting import CountMethod, shorten
from engine.templates import CompiledTemplate, compile_template
from engine.templates.sql_aliases import case_aliases, fold
from engine.templates.sql_guards import output_guard_sql

__all__ = ["compile_plan"]

Describe = Callable[[str], dict[str, str]]
_KEPT = (f"CASE WHEN {quote('__dropped')} IS NULL THEN error('internal: a variation without a constraint verdict') "
         f"ELSE NOT {quote('__dropped')} END")
"""`NOT __dropped` (never NULL) as a filter DuckDB keeps above the rendering: it moves a filter down
through projections by copying in the expressions it reads (here every template, evaluated once
for the filter and again for the output) unless the filter can raise an error."""


def _cut(method: CountMethod, limit: int, style: str, text: str) -> str:
    return shorten(method, text, limit, style)


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
        columns = {fold(c): c for c in reversed(list(self.kinds))}  # a source and a column equal but for case
        for name in config.variation_sources:                       # would read one SQL name
            column = columns.get(fold(name))
            if column is not None:
                what = "a column" if name in self.kinds else f"column {column!r} but for letter case"
                raise EngineError(f"variation source {name!r} has the same name as {what}; rename it", field=name)
            self.kinds[name] = "text"
        # columns whose names are equal but for letter case: the SQL names the templates compile them to
        self.aliases = case_aliases(self.kinds)
        self.udfs: list[RowUDF | TruncateUDF] = []
        self._types: dict[str, str] | None = None
        self._truncators: dict[tuple[str, int, str], TruncateUDF] = {}
        self._keyword_clean: str | None = None  # the text hygiene step for combinator keywords

    # -- values ---------------------------------------------------------------------------

    def value(self, source: str, label: str) -> tuple[str, str | None]:
        """SQL for a template: compiled SQL, or a per-row UDF call and the reason why."""
        compiled = _compile_template(source, self.kinds, label)
        if compiled.sql is not None:
            return f"({compiled.sql})", None
        if self._types is None:
            self._types = self.describe(self.with_clause_expanded())
        sql_name = self.aliases.get
        columns = [(c, self._types[sql_name(c, c)]) for c in sorted(compiled.variables) if sql_name(c, c) in self._types]
        udf = RowUDF(f"{self.prefix}_render_{len(self.udfs)}", label, compiled, columns,
                     {c: self.aliases[c] for c, _ in columns if c in self.aliases})
        self.udfs.append(udf)
        return udf.call_sql(), compiled.fallback_reason or "outside the SQL subset"

    def _capped(self, source: str, label: str, sql: str, why: str | None) -> str:
        """A template's SQL refusing output over MAX_OUTPUT_CHARS as its per-row render does (chain.py caps fields)."""
        if why is not None or not _compile_template(source, self.kinds, label).variables:
            return sql  # per-row renders check it themselves; a constant is short
        return output_guard_sql(sql, field=label, row_sql=quote(ROW))

    def _sql_template(self, source: str, label: str, fallback_reason: str | None) -> CompiledTemplate | None:
        """The compiled template behind a column compiled to SQL (cached: no second compile)."""
        return None if fallback_reason else _compile_template(source, self.kinds, label)

    def truncated(self, spec: FieldSpec, expr: str) -> str:
        """SQL cutting `expr` to the field's limit (a Python UDF for non-SQL counting methods)."""
        assert spec.max_chars is not None
        method = get_count_method(spec.count)
        style = self.config.truncate_style
        if method.truncate_sql is not None and style == "cut":
            return method.truncate_sql(expr, spec.max_chars)
        key = (spec.count, spec.max_chars, style)
        if key not in self._truncators:
            udf = TruncateUDF(f"{self.prefix}_truncate_{len(self.udfs)}",
                              functools.partial(_cut, method, spec.max_chars, style))
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
        if cfg.structure is not None:
            return self._check_dedup(self.structure_columns(names))
        cols: list[OutputColumn] = []
        for name, src in (cfg.hierarchy.templates() if cfg.hierarchy else {}).items():
            sql, why = self.value(src, name)
            # with a campaign structure, parents are referenced by name in bulk files: a name is required
            spec = NAME_SPECS.get(name) if cfg.structure is not None else None
            col = OutputColumn(name, spec, src, sql, why, template=self._sql_template(src, name, why))
            if spec is not None:
                self._add_fix(col)
            cols.append(col)
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
                               template=self._sql_template(src, spec.name, why) if src else None,
                               expands=cfg.inline and spec.name in cfg.templates)
            self._add_fix(col)
            cols.append(col)
        if missing:
            raise EngineError(f"{self.fmt.label} needs a template for required field(s): {', '.join(missing)}",
                              field=missing[0])
        return self._check_dedup(cols)

    def _check_dedup(self, cols: list[OutputColumn]) -> list[OutputColumn]:
        outputs = [c.name for c in cols]
        for name in self.config.dedup_fields:
            if name not in outputs:
                raise EngineError(f"dedup field {name!r} is not a generated column{_did_you_mean(name, outputs)}",
                                  field=name)
        return cols

    def structure_columns(self, names: list[str]) -> list[OutputColumn]:
        """A campaign structure's columns: each a template per ad slot (one CASE on the slot when they differ)."""
        cs = self.config.structure
        assert cs is not None
        per_slot = cs.slot_templates(self.config.templates)
        ad_name = self.config.hierarchy.ad if self.config.hierarchy is not None else None
        if ad_name is not None and "ad_name" not in per_slot[0]:
            per_slot = [{"ad_name": ad_name, **t} for t in per_slot]
        for slot, templates in enumerate(per_slot):
            for name in templates:
                if name not in names and name not in STRUCTURE_COLUMNS:
                    raise EngineError(f"campaign structure, {cs.slot_label(slot)}: {self.fmt.label} has no field "
                                      f"{name!r}{_did_you_mean(name, names)}", field=name)
        order = [n for n in STRUCTURE_COLUMNS if n in per_slot[0]]
        targets = {s.name for s in self.fmt.fields if f"__target_{s.name}" in self.rules.meta_columns}
        order += [s.name for s in self.fmt.fields if s.name in targets or any(s.name in t for t in per_slot)]
        cols: list[OutputColumn] = []
        for name in order:
            spec = NAME_SPECS.get(name) if name in STRUCTURE_COLUMNS else self.fmt.field(name)
            sources = [t.get(name) for t in per_slot]
            if name in targets and all(src is None for src in sources):  # a rule sets it
                col = OutputColumn(name, spec, "", f"coalesce({quote('__target_' + name)}, '')", None)
                self._add_fix(col)
                cols.append(col)
                continue
            if None in sources:
                missing = [cs.slot_label(i) for i, src in enumerate(sources) if src is None]
                if spec is not None and spec.required:
                    raise EngineError(f"{self.fmt.label} needs a template for {name!r} in {', '.join(missing)} "
                                      "(or a set template every ad uses)", field=name)
                sources = [src or "" for src in sources]
            distinct = list(dict.fromkeys(s for s in sources if s is not None))
            expands = self.config.inline and name not in STRUCTURE_COLUMNS  # names are never expanded
            if len(distinct) == 1:
                src = distinct[0]
                sql, why = self.value(src, name)
                col = OutputColumn(name, spec, src, sql, why, template=self._sql_template(src, name, why),
                                   expands=expands)
            else:  # the slot picks the template; each branch capped as its per-row render is
                branches, reasons = [], []
                for src in distinct:
                    sql, why = self.value(src, name)
                    slots = ", ".join(str(i) for i, s in enumerate(sources) if s == src)
                    branches.append(f"WHEN {quote(AD_SLOT)} IN ({slots}) THEN {self._capped(src, name, sql, why)}")
                    reasons += [why] if why else []
                sql = f"(CASE {' '.join(branches)} END)"
                col = OutputColumn(name, spec, " | ".join(distinct), sql, reasons[0] if reasons else None,
                                   expands=expands)
            if spec is not None:
                self._add_fix(col)
            cols.append(col)
        missing_fields = [s.name for s in self.fmt.fields if s.required and s.name not in order]
        if missing_fields:
            raise EngineError(f"{self.fmt.label} needs a template for required field(s): {', '.join(missing_fields)}",
                              field=missing_fields[0])
        return cols

    def _add_fix(self, col: OutputColumn) -> None:
        spec = col.spec
        assert spec is not None
        strategy = self.config.constraint_strategy
        if strategy == "truncate" and fixable_by_truncation(spec):
            col.fix_sql = self.truncated(spec, col.rendered())
            col.fix_note = f"truncate to {spec.max_chars} ({spec.count})"
        elif strategy == "fallback" and spec.name in self.config.fallbacks:
            label = f"{spec.name} (fallback)"
            col.fix_sql, why = self.value(self.config.fallbacks[spec.name], label)
            col.fix_sql = self._capped(self.config.fallbacks[spec.name], label, col.fix_sql, why)
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
        ads = self.config.structure.ads_per_row if self.config.structure is not None else 1
        if self.config.variation_sources or ads > 1:
            # a structure's ad slots: __variation = source combination × ads per row + slot (stable ids, see structure.py)
            names = list(self.config.variation_sources)
            structs = ", ".join(
                "{" + ", ".join([f"'i': {i * ads + a}", *([f"'a': {a}"] if ads > 1 else [])]
                                + [f"'v{j}': {sql_literal(r[n])}" for j, n in enumerate(names)]) + "}"
                for i, r in enumerate(rows) for a in range(ads))
            picks = ", ".join([*(f"struct_extract({quote('__vs')}, 'v{j}') AS {quote(n)}" for j, n in enumerate(names)),
                               *([f"CAST(struct_extract({quote('__vs')}, 'a') AS INTEGER) AS {quote(AD_SLOT)}"]
                                 if ads > 1 else [])])
            expanded = (f"SELECT * EXCLUDE ({quote('__vs')}), CAST(struct_extract({quote('__vs')}, 'i') AS INTEGER)"
                        f" AS {quote(VARIATION)}, {picks}\nFROM (SELECT *, unnest([{structs}]) AS {quote('__vs')}"
                        f" FROM {quote('__kept')})")
            ctes.append(("__expanded", expanded))
        else:
            ctes.append(("__expanded", f"SELECT *, CAST(0 AS INTEGER) AS {quote(VARIATION)} FROM {quote('__kept')}"))
        return ctes

    def _hygiene(self, cols: list[OutputColumn]) -> None:
        """Attach the set's text hygiene step (one UDF for fields, one for keywords, one for the check)."""
        hygiene = self.config.hygiene
        if not hygiene.cleans and not hygiene.screens and not hygiene.keyword_stopwords:
            return
        clean = TruncateUDF(f"{self.prefix}_clean_{len(self.udfs)}", hygiene.clean)
        keywords = TruncateUDF(f"{self.prefix}_clean_keywords_{len(self.udfs)}", hygiene.clean_keywords)
        screen = TruncateUDF(f"{self.prefix}_screen_{len(self.udfs)}", hygiene.problem)
        self.udfs += [clean, keywords, screen]
        for col in cols:
            if col.name == "keywords":
                col.clean = keywords.name
            elif hygiene.cleans:
                col.clean = clean.name
            if hygiene.screens and col.spec is not None and col.name != "keywords":
                col.screen = screen.name
        self._keyword_clean = keywords.name

    def build(self) -> CompiledPlan:
        """Compile every template and assemble the CTE chain."""
        cols = self.columns()
        self._hygiene(cols)
        keyword_parts = self._keyword_parts()
        ctes = self.ctes_until_expanded()
        # Later steps need the data columns only for fallback-strategy templates and keywords;
        # otherwise carry just the row key and rule metadata (less for DuckDB to bind).
        needs_data = keyword_parts is not None or any(c.fix_reads_data for c in cols)
        keep = "*" if needs_data else ", ".join(quote(n) for n in [ROW, VARIATION, *self.rules.meta_columns])
        expanding = tuple(c.rendered() for c in cols if c.expands)
        inline = InlineStep(expanding, self.config.max_inline_variations) if expanding else None
        ctes += render_chain(cols, keep, inline=inline)
        ctes.append(("__final", self._final_cte(cols)))
        plan = CompiledPlan(self.fmt, self.config, cols, list(self.rules.meta_columns), ctes, self.rules, self.udfs,
                            keep=keep, inline=inline)
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
                    label = f"keyword part {p + 1}"
                    sql, why = self.value(src, label)
                    cache[src] = self._capped(src, label, sql, why)
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
            if self._keyword_clean is not None:
                phrase = f"{quote(self._keyword_clean)}({phrase})"
            for m in kw.match_types:
                items.append(f"{{'i': {len(items)}, 'k': {phrase}, 'm': {sql_literal(m)}}}")
        hierarchy = [c for c in plan.columns if c.name in ("campaign_name", "ad_group_name", "ad_name")]
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
