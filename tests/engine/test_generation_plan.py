"""One plan: preview == bulk == the per-row reference (apply_rules + render + checks), fallbacks, prefixes."""

from __future__ import annotations

import importlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import EngineError
from engine.generation import (
    GenerationConfig,
    build_plan,
    check_value,
    compute_stats,
    connect,
    generate_to_parquet,
    prepare_source,
    preview,
    truncate_value,
)
from engine.generation.constraints import fixable_by_truncation
from engine.generation.inline import expand
from engine.generation.preview import stats_sql
from engine.ingest import ingest
from engine.platforms import get_format
from engine.rules import parse_rules, prepare_rules
from engine.templates import compile_template
from tests.sample_data import products_csv

preview_module = importlib.import_module("engine.generation.preview")  # the name `preview` is the function


# -- the per-row reference ------------------------------------------------------------------------

@dataclass
class Reference:
    """What the per-row path (apply_rules + render + checks, one row at a time) produces."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    skipped_by_rules: int = 0
    variations: int = 0
    dropped: int = 0
    duplicates: int = 0
    violations: Counter[str] = field(default_factory=Counter)
    fixed: Counter[str] = field(default_factory=Counter)     # kept variations whose value the strategy repaired
    over: Counter[str] = field(default_factory=Counter)      # variations a field still fails after the strategy
    samples: dict[str, list[tuple[int, str, str, int, str | None]]] = field(default_factory=dict)
    inline_possible: int = 0     # sets expanding [[a|b]] blocks (engine/generation/inline.py expand)
    inline_duplicates: int = 0
    inline_capped: int = 0


def reference(data: pl.DataFrame, kinds: dict[str, str], cfg: GenerationConfig) -> Reference:
    """Generate `cfg` over `data` row by row in Python."""
    fmt = get_format(cfg.platform, cfg.format)
    prepared = prepare_rules(parse_rules(cfg.rules, schema=kinds), kinds) if cfg.rules else None
    out_kinds = dict(prepared.output_schema) if prepared else dict(kinds)
    tkinds = {**out_kinds, **{name: "text" for name in cfg.variation_sources}}
    names = dict(cfg.hierarchy.templates()) if cfg.hierarchy else {}
    names.update({f: cfg.templates[f] for f in fmt.field_names if f in cfg.templates})
    templates = {name: compile_template(src, tkinds) for name, src in names.items()}
    fallbacks = {name: compile_template(src, tkinds) for name, src in cfg.fallbacks.items()}
    ref = Reference()
    seen: set[tuple[str, ...]] = set()
    for index, row in enumerate(data.iter_rows(named=True)):
        base = row
        if prepared is not None:
            outcome = prepared.apply(row)
            if outcome.skipped:
                ref.skipped_by_rules += 1
                continue
            base = outcome.row
        for source_variation, combo in enumerate(cfg.variation_rows()):
            current = {**base, **combo}
            rendered = {name: t.render(current) for name, t in templates.items()}
            for variation, values in _inline_variations(cfg, fmt, rendered, source_variation, ref, index):
                ref.variations += 1
                dropped, report, notes, repaired = False, [], [], []
                for name in list(values):
                    if name not in fmt.field_names:
                        continue
                    spec = fmt.field(name)
                    why = check_value(spec, values[name])
                    if why is None:
                        continue
                    ref.violations[name] += 1
                    original = values[name]
                    fixed, label = None, ""
                    if cfg.constraint_strategy == "truncate" and fixable_by_truncation(spec):
                        fixed, label = truncate_value(spec, values[name]), f"cut to {spec.max_chars}"
                    elif cfg.constraint_strategy == "fallback" and name in fallbacks:
                        fixed, label = fallbacks[name].render(current), "fallback template"
                    left = why if fixed is None else check_value(spec, fixed)
                    if left is not None:
                        dropped = True
                        ref.over[name] += 1
                        report.append(f"{name}: {left}")
                    else:
                        values[name] = fixed
                        repaired.append(name)
                        notes.append(f"{name}: {label} ({why})")
                    found = ref.samples.setdefault(name, [])
                    if len(found) < 100:
                        found.append((index, original[:500], why, variation, left))
                if dropped:
                    ref.dropped += 1
                    continue
                if cfg.dedup_fields:
                    key = tuple(values[n] for n in cfg.dedup_fields)
                    if key in seen:
                        ref.duplicates += 1
                        continue
                    seen.add(key)
                ref.fixed.update(repaired)
                ref.rows.append({"__row": index, "__variation": variation, **values,
                                 "__violations": "; ".join(report) or None, "__fixes": "; ".join(notes) or None})
    return ref


def _inline_variations(cfg: GenerationConfig, fmt: Any, rendered: dict[str, str], source_variation: int,
                       ref: Reference, row: int) -> list[tuple[int, dict[str, str]]]:
    """The variations of one row and source variation: its inline combinations when the set expands them."""
    if not cfg.inline:
        return [(source_variation, rendered)]
    fields = [f for f in fmt.field_names if f in cfg.templates]
    result = expand([rendered[f] for f in fields], cfg.max_inline_variations, row=row)
    ref.inline_possible += result.possible
    ref.inline_duplicates += result.duplicates
    ref.inline_capped += result.capped
    return [(source_variation * cfg.max_inline_variations + j, {**rendered, **dict(zip(fields, combo, strict=True))})
            for j, combo in enumerate(result.variations)]


# -- fixtures and helpers -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    return connect()


@pytest.fixture(scope="module")
def products() -> tuple[pl.DataFrame, dict[str, str]]:
    """products_2k.csv through ingest (typed table and column kinds)."""
    result = ingest(products_csv(), "products_2k.csv")  # built in the repo (tests/sample_data.py)
    return result.table, {c.name: c.kind for c in result.columns}


def thread(title: str = "{{ name }}", **extra: Any) -> GenerationConfig:
    """A Reddit thread config with a constant subreddit."""
    templates = {"subreddit": "deals", "title": title, **extra.pop("templates", {})}
    return GenerationConfig(platform="reddit", format="thread", templates=templates, **extra)


def project(rows: list[dict[str, Any]], *names: str) -> list[tuple[Any, ...]]:
    return [tuple(r[n] for n in names) for r in rows]


# -- one plan: preview == bulk == per-row ---------------------------------------------------------

PRODUCT_RULES = [
    {"id": "cheap", "conditions": {"items": [{"field": "price", "operator": "less_than", "value": 20}]},
     "actions": [{"type": "skip"}]},
    {"id": "tag", "priority": 1, "actions": [{"type": "set_field", "params": {"field": "tag", "value": "Other"}}]},
    {"id": "shoes", "priority": 2, "conditions": {"items": [{"field": "category", "operator": "equals",
                                                              "value": "shoes"}]},
     "actions": [{"type": "set_field", "params": {"field": "tag", "value": "Footwear"}}]},
]
FOR_LOOP = "{% for w in (description or '').split(' ')[:4] %}{{ w }} {% endfor %}"


def product_config(**overrides: Any) -> GenerationConfig:
    """Rules, two variation sources, dedup, a compiled title and a fallback (for-loop) body."""
    base: dict[str, Any] = {
        "platform": "reddit", "format": "thread", "rules": PRODUCT_RULES,
        "templates": {"subreddit": "deals",
                      "title": ("{{ headline }} {{ product_name | upper }} in {{ city | default('your area') }} "
                                "for ${{ price }} ({{ tag }})"),
                      "body": FOR_LOOP + "{{ cta }}",
                      "flair": "{{ brand | default('No brand') }} · {{ category }}",
                      "url": "{{ url }}"},
        "variation_sources": {"headline": ["Best", "Top"], "cta": ["Shop now", "Look"]},
        "dedup_fields": ["title", "body"]}
    base.update(overrides)
    return GenerationConfig(**base)


def test_preview_equals_bulk_byte_for_byte(con: duckdb.DuckDBPyConnection,
                                           products: tuple[pl.DataFrame, dict[str, str]]) -> None:
    data, kinds = products
    source = prepare_source(data, kinds)
    with build_plan(source, product_config(), connection=con) as plan:
        bulk = plan.to_arrow()
        assert plan.fallback_fields.keys() == {"body"}
        for limit in (1, 50, 777):
            head = preview(plan, limit, stats=False).variations
            assert head.to_arrow().to_pylist() == bulk.slice(0, limit).to_pylist()
        stats = compute_stats(plan)
    assert stats.kept == bulk.num_rows
    assert stats.fallback_fields.keys() == {"body"}


@pytest.mark.parametrize("strategy", ["skip", "truncate", "fallback"])
def test_plan_equals_the_per_row_reference(con: duckdb.DuckDBPyConnection,
                                           products: tuple[pl.DataFrame, dict[str, str]], strategy: str) -> None:
    data, kinds = products
    cfg = product_config(
        constraint_strategy=strategy,
        templates={**product_config().templates, "flair": "{{ description }}"},  # often over 64
        fallbacks={"flair": "{{ category | default('misc') }}"})
    ref = reference(data, kinds, cfg)
    with build_plan(data, cfg, schema=kinds, connection=con) as plan:
        rows = plan.to_arrow().to_pylist()
        stats = compute_stats(plan)
    columns = ["__row", "__variation", "subreddit", "title", "body", "url", "flair", "__violations", "__fixes"]
    assert project(rows, *columns) == project(ref.rows, *columns)
    assert (stats.total_rows, stats.skipped_by_rules, stats.variations) == (
        data.height, ref.skipped_by_rules, ref.variations)
    assert (stats.dropped_by_constraints, stats.duplicates, stats.kept) == (ref.dropped, ref.duplicates, len(ref.rows))
    assert {k: v for k, v in stats.violations.items() if v} == dict(ref.violations)
    assert {k: v for k, v in stats.fixed.items() if v} == dict(ref.fixed)
    assert {k: v for k, v in stats.over_limit.items() if v} == dict(ref.over)
    assert stats.valid == len(ref.rows)
    assert {k: [tuple(v) for v in vs] for k, vs in stats.violating_rows.items() if vs} == ref.samples
    flair_lengths = sum(b.count for b in stats.length_histogram["flair"])
    assert flair_lengths == ref.variations


def test_fallback_field_mixed_with_compiled_fields(con: duckdb.DuckDBPyConnection) -> None:
    data = pl.DataFrame({"name": ["Tent", "Kayak"], "description": ["light dry warm", None]})
    cfg = thread("{{ name }}", templates={"body": "{% for w in (description or 'none').split() %}[{{ w }}]{% endfor %}"})
    with build_plan(data, cfg, connection=con) as plan:
        assert plan.fallback_fields.keys() == {"body"}
        sql = plan.explain()
        rows = plan.to_arrow().to_pylist()
    assert "-- column body: per-row Jinja2 fallback" in sql and "-- column title: compiled to SQL" in sql
    assert project(rows, "title", "body") == [("Tent", "[light][dry][warm]"), ("Kayak", "[none]")]


def test_rules_outside_sql_run_per_row(con: duckdb.DuckDBPyConnection) -> None:
    data = pl.DataFrame({"name": ["Tent", "Kayak", "Stove"], "price": [150.0, 20.0, 300.0]})
    rules = [{"id": "cheap", "conditions": {"items": [{"field": "price", "operator": "less_than", "value": 100}]},
              "actions": [{"type": "skip"}]},
             {"id": "spell", "actions": [{"type": "set_field", "params": {
                 "field": "label", "value": "{% for c in name %}{{ c }}.{% endfor %}"}}]},
             {"id": "where", "actions": [{"type": "set_targeting", "params": {"key": "flair", "value": "Gear"}}]}]
    cfg = thread("{{ label }} for {{ price }}", rules=rules)
    with build_plan(data, cfg, connection=con) as plan:
        assert plan.compiled.rules.fallback_reason is not None
        assert "-- rules: applied per row in Python" in plan.explain()
        rows = plan.to_arrow().to_pylist()
        assert plan.head(1).to_pylist() == rows[:1]
        stats = compute_stats(plan)
    kinds = prepare_source(data).kinds
    ref = reference(data, kinds, cfg)
    assert project(rows, "__row", "title") == project(ref.rows, "__row", "title") == [
        (0, "T.e.n.t. for 150.0"), (2, "S.t.o.v.e. for 300.0")]
    assert [r["flair"] for r in rows] == ["Gear", "Gear"]  # targeting fills a field without a template
    assert (stats.skipped_by_rules, stats.kept) == (1, 2)


def test_generate_to_parquet(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    data = pl.DataFrame({"name": [f"item {i}" for i in range(1000)]})
    with build_plan(data, thread(), connection=con) as plan:
        assert generate_to_parquet(plan, tmp_path / "out.parquet", batch_size=128) == 1000
        assert pq.read_table(tmp_path / "out.parquet").to_pylist() == plan.to_arrow().to_pylist()


def test_a_plan_owns_its_connection_when_not_given_one() -> None:
    plan = build_plan(pl.DataFrame({"name": ["a"]}), thread())
    assert [r["title"] for r in plan.to_arrow().to_pylist()] == ["a"]
    plan.close()
    with pytest.raises(EngineError, match="closed"):
        plan.head()



def test_a_failing_row_names_its_row_and_field(con: duckdb.DuckDBPyConnection) -> None:
    data = pl.DataFrame({"n": [5, 2, 0, 1]})
    cfg = thread("{% for i in [1] %}{{ 10 // n }}{% endfor %}")
    with build_plan(data, cfg, connection=con) as plan, pytest.raises(EngineError, match="division by zero") as err:
        plan.to_arrow()
    assert (err.value.row, err.value.field) == (2, "title")


_TEXT = st.text(alphabet=st.sampled_from(list("ab ßé日👍\t")), max_size=80)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(_TEXT, _TEXT), min_size=1, max_size=12),
       strategy=st.sampled_from(["skip", "truncate", "fallback"]),
       dedup=st.sampled_from([[], ["flair"], ["title", "flair"]]))
def test_random_tables_match_the_reference(con: duckdb.DuckDBPyConnection, rows: list[tuple[str, str]],
                                           strategy: str, dedup: list[str]) -> None:
    data = pl.DataFrame({"a": [r[0] for r in rows], "b": [r[1] for r in rows]}, schema={"a": pl.String, "b": pl.String})
    cfg = thread("{{ a }}", templates={"flair": "{{ a }}{{ b }}"}, constraint_strategy=strategy,
                 fallbacks={"title": "untitled", "flair": "{{ b }}"}, dedup_fields=dedup)
    ref = reference(data, prepare_source(data).kinds, cfg)
    with build_plan(data, cfg, connection=con) as plan:
        got = plan.to_arrow().to_pylist()
        head = plan.head(3).to_pylist()
        stats = compute_stats(plan)
    columns = ["__row", "title", "flair", "__violations", "__fixes"]
    assert project(got, *columns) == project(ref.rows, *columns)
    assert head == got[:3]
    assert (stats.dropped_by_constraints, stats.duplicates, stats.kept) == (ref.dropped, ref.duplicates, len(ref.rows))


def _plan_text(plan: Any, sql: str) -> str:
    with plan.cursor() as cur:
        return str(cur.execute("EXPLAIN (FORMAT JSON) " + sql).fetchall()[0][1])


def _filters(node: Any) -> list[str]:
    """The expressions of every FILTER in a JSON plan."""
    found = [node["extra_info"].get("Expression", "")] if node.get("name") == "FILTER" else []
    return found + [f for child in node.get("children", []) for f in _filters(child)]


@pytest.mark.parametrize("title", ["Best {{ name|upper }} for {{ price }}", "Best {{ name }}"])
def test_each_template_is_evaluated_once(con: duckdb.DuckDBPyConnection, title: str) -> None:
    # DuckDB pushes a filter below a projection by copying in the expressions it reads: the drop
    # filter must stay above the rendering, or every value would be rendered twice.
    data = pl.DataFrame({"name": ["Tent", "Kayak"], "price": [150.0, 20.0]})
    cfg = thread(title, templates={"body": "Body of {{ name }}"})
    with build_plan(data, cfg, connection=con) as plan:
        for sql in (plan.compiled.bulk_sql(), plan.compiled.head_sql(50)):
            filters = [f for root in json.loads(_plan_text(plan, sql)) for f in _filters(root)]
            assert filters and not any("Best " in f or "Body of " in f for f in filters), filters


def _stats_both_ways(plan: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    """compute_stats with lengths measured without rendering, and with every value rendered."""
    with monkeypatch.context() as m:
        m.setattr(preview_module, "MEASURE_FROM", 0)
        measured = compute_stats(plan)
        m.setattr(preview_module, "MEASURE_FROM", 10 ** 12)
        rendered = compute_stats(plan)
    return measured, rendered


def test_stats_measure_lengths_without_rendering(con: duckdb.DuckDBPyConnection,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    data = pl.DataFrame({"name": ["Tent", "Kayak" * 70, None, "straße"], "price": [150.0, 20.0, None, 1e16]})
    cfg = thread("Best {{ name|upper }} for {{ price }}", templates={"body": "Body of {{ name|truncate(3) }}"})
    ref = reference(data, prepare_source(data).kinds, cfg)
    with build_plan(data, cfg, connection=con) as plan:
        assert plan.compiled.measured().keys() == {"title", "body"}
        text = _plan_text(plan, stats_sql(plan.compiled))
        measured, rendered = _stats_both_ways(plan, monkeypatch)
    assert "concat(" not in text  # only lengths, and the failing value alone
    assert measured == rendered
    assert {k: [tuple(v) for v in vs] for k, vs in measured.violating_rows.items() if vs} == ref.samples
    assert measured.violations == {"subreddit": 0, **{k: ref.violations[k] for k in ("title", "body")}}


@pytest.mark.parametrize(("templates", "measured"), [
    ({"title": "{{ name }}"}, set()),                                  # required and maybe blank: needs the text
    ({"title": "x{{ name }}", "url": "{{ name }}"}, {"title"}),        # a URL check needs the text
    ({"title": "x{{ name }}", "flair": "{{ name|lower }}"}, {"title", "flair"}),
])
def test_which_fields_are_measured(con: duckdb.DuckDBPyConnection, templates: dict[str, str],
                                   measured: set[str]) -> None:
    data = pl.DataFrame({"name": ["a"]})
    with build_plan(data, thread(**{"templates": templates}), connection=con) as plan:
        assert plan.compiled.measured().keys() == measured


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(_TEXT, _TEXT), min_size=1, max_size=12),
       title=st.sampled_from(["T {{ a }}", "T {{ a|upper }}{{ b|truncate(5) }}", "{% if a %}T{{ b|title }}{% endif %}x"]),
       strategy=st.sampled_from(["skip", "truncate"]), dedup=st.sampled_from([[], ["flair"]]))
def test_measured_stats_equal_rendered_stats(con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch,
                                             rows: list[tuple[str, str]], title: str, strategy: str,
                                             dedup: list[str]) -> None:
    data = pl.DataFrame({"a": [r[0] * 3 for r in rows], "b": [r[1] for r in rows]},
                        schema={"a": pl.String, "b": pl.String})
    cfg = thread(title, templates={"flair": "{{ a|lower }}{{ b }}"}, constraint_strategy=strategy, dedup_fields=dedup)
    with build_plan(data, cfg, connection=con) as plan:
        measured, rendered = _stats_both_ways(plan, monkeypatch)
    assert measured == rendered
