"""A compiled plan: its output columns and the chain of CTEs that preview, stats, bulk and keywords share.

`compiler.py` builds it from a GenerationConfig; `plan.Plan` runs it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from engine.generation.chain import render_chain
from engine.generation.config import GenerationConfig
from engine.generation.constraints import length_check_sql
from engine.generation.fallback import RowUDF, TruncateUDF
from engine.generation.inline import STAT_COLUMNS, InlineStep
from engine.generation.rules_stage import RulesStage
from engine.generation.schema import ROW, VARIATION, quote
from engine.platforms import FieldSpec, Format
from engine.templates import CompiledTemplate

__all__ = ["TRACE_COLUMN", "CompiledPlan", "OutputColumn"]

TRACE_COLUMN = "__rules_fired"
_CONSTANT = re.compile(r"\('(?:[^']|'')*'\)")


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
    expands: bool = False  # its rendered [[a|b]] blocks become variations (engine/generation/inline.py)
    clean: str | None = None   # SQL name of the set's text hygiene step on the rendered value (hygiene_step.py)
    screen: str | None = None  # SQL name of the word-list check: why the cleaned value is refused, or NULL

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
        constant = _CONSTANT.fullmatch(self.value_sql) and not self.expands and self.clean is None
        return self.value_sql if constant else self.rendered()

    def final(self) -> str:
        """`__o_<name>`: the value after the constraint strategy."""
        return quote(f"__o_{self.name}")

    def left(self) -> str:
        """`__left_<name>`: what still fails after the constraint strategy (NULL when the value is fine)."""
        return quote(f"__left_{self.name}")

    @property
    def never_blank(self) -> bool:
        """The rendered value always holds a character above U+0020 (see CompiledTemplate.never_blank)."""
        return self.template is not None and self.template.never_blank and not self.expands  # `[[]]` prints nothing

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
    inline: InlineStep | None = None  # the `[[a|b]]` expansion after __rendered, when the set has one

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
            if c.template is None or c.fix_sql is not None or c.name in self.config.dedup_fields or c.expands:
                continue
            if c.clean is not None or c.screen is not None:  # the text hygiene step changes or checks the text
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
        return upto + render_chain(self.columns, "*" if measured else self.keep, measured, value_cap, self.inline)

    def output_select(self, *, trace: bool = False) -> str:
        """Output column list: row key, generated columns, rule metadata, the problem and fix reports.

        `trace` adds `__rules_fired` (the ids of the rules that fired on the row, in order): a
        preview shows it, a bulk run has no use for it, and it costs a sixth of a bulk run.
        """
        cols = [quote(ROW), quote(VARIATION)]
        cols += [f"{c.final()} AS {quote(c.name)}" for c in self.columns]
        cols += [quote(m) for m in self.meta_columns if trace or m != TRACE_COLUMN]
        cols += [quote("__violations"), quote("__fixes")]
        return ", ".join(cols)

    def bulk_sql(self, ctes: list[tuple[str, str]] | None = None, *, trace: bool = False) -> str:
        """Every kept variation, in (__row, __variation) order (over `ctes` instead of the whole chain)."""
        order = f"\nORDER BY {quote(ROW)}, {quote(VARIATION)}" if self.dedup else ""
        return (f"{self.with_clause(ctes=ctes)}\nSELECT {self.output_select(trace=trace)}\nFROM {quote('__final')}\n"
                f"WHERE NOT {quote('__duplicate')}{order}")

    def duplicate_sql(self) -> str:
        """SQL over `__resolved`: the variation repeats an earlier kept one on the dedup key (keep first).

        Dropped variations are never duplicates; it is `__final`'s `__duplicate` without its filter.
        """
        if not self.dedup:
            return "false"
        by_name = {c.name: c for c in self.columns}
        keys = ", ".join(by_name[n].final() for n in self.dedup)
        return (f"CASE WHEN {quote('__dropped')} THEN false ELSE row_number() OVER (PARTITION BY "
                f"{quote('__dropped')}, {keys} ORDER BY {quote(ROW)}, {quote(VARIATION)}) > 1 END")

    def ledger_sql(self) -> str:
        """Every variation of the kept rows, generated or not, in (__row, __variation) order.

        The bulk query's columns plus `__dropped`, `__duplicate` and each field's `__why_<f>` (as
        rendered) and `__left_<f>` (after the strategy): a chunk job writes the kept ones and
        counts the rest from the same columns the preview's figures aggregate.
        """
        checked = [c for c in self.columns if c.spec is not None]
        extra = [quote("__dropped"), f"{self.duplicate_sql()} AS {quote('__duplicate')}"]
        extra += [f"{c.why()} AS {quote('__why_' + c.name)}" for c in checked]
        extra += [f"{c.left()} AS {quote('__left_' + c.name)}" for c in checked]
        if self.inline is not None:  # each (row, source variation)'s inline counts, on its first variation
            extra += [quote(c) for c in STAT_COLUMNS]
        return (f"{self.with_clause('__resolved')}\nSELECT {self.output_select()}, {', '.join(extra)}\n"
                f"FROM {quote('__resolved')}\nORDER BY {quote(ROW)}, {quote(VARIATION)}")

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
                ctes = ([cte for cte in ctes if cte[0] in ("__kept", "__expanded")]
                        + render_chain(cols, self.keep, inline=self.inline)
                        + [cte for cte in ctes if cte[0] == "__final"])
        return f"{self.bulk_sql(ctes, trace=trace)}\nLIMIT {int(limit)}"
