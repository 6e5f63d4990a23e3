"""The live preview: the first N variations plus whole-data-set statistics from aggregates only."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import polars as pl

from engine.budgets import MAX_PREVIEW_VARIATIONS, over_budget
from engine.errors import EngineError
from engine.generation.compiled_plan import CompiledPlan, OutputColumn
from engine.generation.fallback import RowUDF, light_work
from engine.generation.inline import STAT_COLUMNS
from engine.generation.plan import Plan
from engine.generation.schema import ROW, VARIATION, quote
from engine.generation.structure import Structure, build_structure
from engine.platforms import get_count_method
from engine.platforms.ad_tree import duplicate_skeleton, skeleton_records
from engine.templates import sandbox

__all__ = ["SAMPLE_CAP", "HistogramBin", "Preview", "PreviewStats", "Violation", "compute_stats", "preview",
           "stats_sql", "structure_of"]

SAMPLE_CAP = 100      # offending rows kept per field
MEASURE_FROM = 200_000  # variations; below, planning the length SQL costs more than not rendering saves
VALUE_CAP = 500       # characters of an offending value kept in the report
BINS = 10


class Violation(NamedTuple):
    """One variation whose rendered value broke a field's constraint (`left`: what still fails after the
    strategy, None when the strategy repaired it)."""

    row: int
    value: str
    reason: str
    variation: int = 0
    left: str | None = None

    @property
    def repaired(self) -> bool:
        """The constraint strategy fixed the value (truncate, fallback)."""
        return self.left is None


@dataclass(frozen=True)
class HistogramBin:
    """Lengths `lo`…`hi` (inclusive; `hi` None = over the limit) and how many values fell there."""

    lo: int
    hi: int | None
    count: int


@dataclass(frozen=True)
class PreviewStats:
    """Whole-data-set numbers for a plan, all read from the plan's per-field columns.

    `violations`: values over a limit as rendered (before the strategy); `fixed`: kept variations
    whose value the strategy repaired; `over_limit`: variations a field still fails after the
    strategy (they are not generated: `dropped_by_constraints`); `valid`: kept variations with no
    problem left. A generated set stores exactly `kept` variations, `valid` of them valid, and
    each repaired field in its `problems` note.
    """

    total_rows: int
    skipped_by_rules: int
    variations: int
    violations: dict[str, int]
    violating_rows: dict[str, list[Violation]]
    dropped_by_constraints: int
    duplicates: int
    kept: int
    length_histogram: dict[str, list[HistogramBin]]
    fallback_fields: dict[str, str] = field(default_factory=dict)
    fixed: dict[str, int] = field(default_factory=dict)
    over_limit: dict[str, int] = field(default_factory=dict)
    valid: int = 0
    inline: dict[str, int] | None = None  # sets expanding [[a|b]] blocks: possible, duplicates, capped

    def figures(self) -> dict[str, object]:
        """The numbers a generated set can be checked against (see workers.generation's run figures)."""
        extra = {} if self.inline is None else {f"inline_{k}": v for k, v in self.inline.items()}
        return {**extra, "rows": self.total_rows, "skipped": self.skipped_by_rules, "variations": self.variations,
                "over_limit": self.dropped_by_constraints, "duplicates": self.duplicates, "kept": self.kept,
                "valid": self.valid, "violations": dict(self.violations), "fixed": dict(self.fixed),
                "problems": dict(self.over_limit)}


@dataclass(frozen=True)
class Preview:
    """The first kept variations (as the bulk run will produce them) and the stats."""

    variations: pl.DataFrame
    stats: PreviewStats | None


def _measure(col: OutputColumn, measured: bool) -> str:
    if measured:
        return col.length()
    method = get_count_method(col.spec.count if col.spec else "code_points")
    return method.measure_sql(col.checked())


def stats_sql(compiled: CompiledPlan, *, measure: bool = True) -> str:
    """One aggregate query over every variation: counts, first offenders, length histograms.

    Each variation is rendered once into a narrow MATERIALIZED step (lengths, reasons and only
    the offending values); DuckDB plans `histogram` as separate subplans, which would otherwise
    re-render the templates once per histogram. With `measure`, columns whose checks need only
    a length are measured without rendering them (`CompiledPlan.measured`).
    """
    measured = compiled.measured() if measure else {}
    per_row = max(1, compiled.config.variations_per_row)
    dup = compiled.duplicate_sql()
    narrow = [f"CAST({quote(ROW)} AS BIGINT) AS {quote(ROW)}", quote(VARIATION), quote("__dropped"),
              f"{dup} AS {quote('__dup')}", f"{quote('__violations')} IS NULL AS {quote('__ok')}"]
    key = f"{quote(ROW)} * {per_row} + {quote(VARIATION)}"
    kept = f"NOT {quote('__dropped')} AND NOT {quote('__dup')}"
    # count_if over no rows is NULL, not 0 (every row skipped by the rules)
    aggs = ["count(*) AS n", f"coalesce(count_if({quote('__dropped')}), 0) AS dropped",
            f"coalesce(count_if({quote('__dup')}), 0) AS dups",
            f"coalesce(count_if({kept} AND {quote('__ok')}), 0) AS valid"]
    if compiled.inline is not None:  # counted once per (row, source variation), on its first variation
        narrow += [quote(c) for c in STAT_COLUMNS]
        aggs += [f"coalesce(sum({quote('__il_possible')}), 0) AS il_possible",
                 f"coalesce(sum({quote('__il_duplicates')}), 0) AS il_duplicates",
                 f"coalesce(sum({quote('__il_capped')}), 0) AS il_capped",
                 f"coalesce(count_if({quote('__il_first')}), 0) AS il_first"]
    for i, c in enumerate(compiled.columns):
        narrow.append(f"{_measure(c, c.name in measured)} AS {quote(f'__len{i}')}")
        aggs.append(f"histogram({quote(f'__len{i}')}) AS h{i}")
        if c.spec is None:
            continue
        narrow.append(f"{c.why()} AS {quote(f'__why{i}')}")
        narrow.append(f"{c.left()} AS {quote(f'__left{i}')}")
        value = c.sample() if c.name in measured else \
            f"CASE WHEN {c.why()} IS NOT NULL THEN left({c.rendered()}, {VALUE_CAP}) END"
        narrow.append(f"{value} AS {quote(f'__val{i}')}")
        why, left = quote(f"__why{i}"), quote(f"__left{i}")
        sample = (f"{{'row': {quote(ROW)}, 'variation': {quote(VARIATION)}, 'value': {quote(f'__val{i}')}, "
                  f"'reason': {why}, 'left': {left}}}")
        aggs.append(f"coalesce(count_if({why} IS NOT NULL), 0) AS v{i}")
        aggs.append(f"coalesce(count_if({why} IS NOT NULL AND {left} IS NULL AND {kept}), 0) AS f{i}")
        aggs.append(f"coalesce(count_if({left} IS NOT NULL), 0) AS o{i}")
        aggs.append(f"min_by({sample}, {key}, {SAMPLE_CAP}) FILTER (WHERE {why} IS NOT NULL) AS s{i}")
    ctes = compiled.stats_ctes(VALUE_CAP, measured)
    return (f"{compiled.with_clause('__resolved', ctes)},\n{quote('__stat')} AS MATERIALIZED (\n"
            f"SELECT {', '.join(narrow)}\nFROM {quote('__resolved')}\n)\n"
            f"SELECT {', '.join(aggs)}\nFROM {quote('__stat')}")


def _bins(col: OutputColumn, counts: dict[int, int]) -> list[HistogramBin]:
    """Ten equal bins from 0 to the longest value (or the limit), plus one bin over the limit."""
    limit = col.spec.max_chars if col.spec else None
    longest = max(counts, default=0)
    top = longest if limit is None else min(longest, limit)
    width = max(1, -(-(top + 1) // BINS))
    bins = [0] * (top // width + 1)
    over = 0
    for length, n in counts.items():
        if limit is not None and length > limit:
            over += n
        else:
            bins[length // width] += n
    out = [HistogramBin(b * width, min(b * width + width - 1, top), n) for b, n in enumerate(bins)]
    if over:
        out.append(HistogramBin(limit + 1 if limit is not None else top + 1, None, over))
    return out


def compute_stats(plan: Plan) -> PreviewStats:
    """Whole-data-set statistics: one aggregate pass, only small results come back to Python."""
    compiled = plan.compiled
    measure = plan.total_rows * max(1, plan.config.variation_count) >= MEASURE_FROM
    row = plan.query(stats_sql(compiled, measure=measure)).to_pylist()[0]
    variations = int(row["n"])
    per_row = max(1, plan.config.variation_count)
    violations: dict[str, int] = {}
    fixed: dict[str, int] = {}
    over: dict[str, int] = {}
    samples: dict[str, list[Violation]] = {}
    hist: dict[str, list[HistogramBin]] = {}
    for i, c in enumerate(compiled.columns):
        if c.spec is not None:
            violations[c.name] = int(row[f"v{i}"])
            fixed[c.name] = int(row[f"f{i}"])
            over[c.name] = int(row[f"o{i}"])
            found = sorted(row[f"s{i}"] or [], key=lambda s: (s["row"], s["variation"]))
            samples[c.name] = [Violation(s["row"], s["value"], s["reason"], s["variation"], s["left"]) for s in found]
        raw = row[f"h{i}"] or {}
        counts = dict(raw.items()) if isinstance(raw, dict) else dict(raw)
        hist[c.name] = _bins(c, counts)
    dropped, dups = int(row["dropped"]), int(row["dups"])
    inline = None
    rows_kept = variations // per_row
    if compiled.inline is not None:
        inline = {"possible": int(row["il_possible"]), "duplicates": int(row["il_duplicates"]),
                  "capped": int(row["il_capped"])}
        rows_kept = int(row["il_first"]) // per_row
    return PreviewStats(
        total_rows=plan.total_rows,
        skipped_by_rules=plan.total_rows - rows_kept,
        variations=variations,
        violations=violations,
        violating_rows=samples,
        dropped_by_constraints=dropped,
        duplicates=dups,
        kept=variations - dropped - dups,
        length_histogram=hist,
        fallback_fields=plan.fallback_fields,
        fixed=fixed,
        over_limit=over,
        valid=int(row["valid"]),
        inline=inline,
    )


def preview(plan: Plan, limit: int = 50, *, stats: bool = True, trace: bool = False) -> Preview:
    """First `limit` kept variations (exactly as bulk produces them) and, unless told not to, the stats.

    Refused over MAX_PREVIEW_VARIATIONS (rows × variations); stopped after PREVIEW_SECONDS (its
    queries interrupted, its per-row renders ended).
    """
    variations = plan.total_rows * max(1, plan.config.variations_per_row)
    if stats and variations > MAX_PREVIEW_VARIATIONS:
        raise EngineError(over_budget("This preview", variations, MAX_PREVIEW_VARIATIONS, "variations (rows × variations "
                                      "per row)", "Use fewer variation source values, a lower maximum of inline "
                                      "variations or a smaller data set."))
    stop = time.monotonic() + sandbox.PREVIEW_SECONDS
    plan.deadline = stop
    for udf in plan.compiled.udfs:
        if isinstance(udf, RowUDF):
            udf.deadline = stop
    light = not any(isinstance(udf, RowUDF) for udf in plan.compiled.udfs)
    with light_work() if light else contextlib.nullcontext():  # per-row renders elsewhere make way for it
        head = pl.from_arrow(plan.head(limit, trace=trace))
        assert isinstance(head, pl.DataFrame)
        return Preview(head, compute_stats(plan) if stats else None)


AD_LABELS = ("headline_1", "headline", "title", "primary_text")


def structure_of(plan: Plan) -> Structure | None:
    """The campaign → ad group → ad tree of every kept variation and of the ads dedup removed (None
    without a campaign structure).

    Reads the same rows a run stores (and those it records as duplicates) and groups them with the
    same code the bulk exports use.
    """
    structure = plan.config.structure
    if structure is None:
        return None
    names = plan.output_columns
    label = next((n for n in AD_LABELS if n in names), None)
    cols = [n for n in ("campaign_name", "ad_group_name", "keywords", label) if n is not None and n in names]
    dup = quote("__duplicate")
    sql = (f"SELECT {', '.join(quote(c) for c in cols)}, {dup} FROM ({plan.compiled.ledger_sql()}) AS v "
           f"WHERE NOT {quote('__dropped')} ORDER BY {quote(ROW)}, {quote(VARIATION)}")
    kept: list[dict[str, Any]] = []
    removed: list[dict[str, Any]] = []
    for r in plan.query(sql).to_pylist():
        (removed if r.pop("__duplicate") else kept).append(r)
    duplicates = skeleton_records(duplicate_skeleton(removed))  # as a run records them (workers/generation.py)
    return build_structure(kept, structure, ad_label=label, duplicates=duplicates)
