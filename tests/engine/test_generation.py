"""Generation configs: dedup, constraint strategies, variations, hierarchy, keywords, exports, errors."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

from engine.errors import EngineError
from engine.generation import (
    GenerationConfig,
    Hierarchy,
    KeywordCombinator,
    Plan,
    build_plan,
    compute_stats,
    connect,
    preview,
    write_export,
)

# -- fixtures and helpers -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    return connect()


def thread(title: str = "{{ name }}", **extra: Any) -> GenerationConfig:
    """A Reddit thread config with a constant subreddit."""
    templates = {"subreddit": "deals", "title": title, **extra.pop("templates", {})}
    return GenerationConfig(platform="reddit", format="thread", templates=templates, **extra)


def generate(data: pl.DataFrame, cfg: GenerationConfig, con: duckdb.DuckDBPyConnection, **kw: Any) -> list[dict]:
    """Every kept variation as dicts."""
    with build_plan(data, cfg, connection=con, **kw) as plan:
        return plan.to_arrow().to_pylist()


def project(rows: list[dict[str, Any]], *names: str) -> list[tuple[Any, ...]]:
    return [tuple(r[n] for n in names) for r in rows]


# -- dedup ----------------------------------------------------------------------------------------

NAMES = pl.DataFrame({"name": ["a", "b", "a", "c", "b", "a"], "city": ["x", "x", "y", "x", "x", "x"]})


@pytest.mark.parametrize(("cfg", "expected"), [
    (thread(), [(0, 0), (1, 0), (2, 0), (3, 0), (4, 0), (5, 0)]),
    (thread(dedup_fields=["title"]), [(0, 0), (1, 0), (3, 0)]),
    (thread("{{ name }} in {{ city }}", dedup_fields=["title"]), [(0, 0), (1, 0), (2, 0), (3, 0)]),
    (thread(dedup_fields=["subreddit"]), [(0, 0)]),
    (thread(dedup_fields=["title", "subreddit"]), [(0, 0), (1, 0), (3, 0)]),
    (thread(variation_sources={"cta": ["go", "buy"]}, dedup_fields=["title"]), [(0, 0), (1, 0), (3, 0)]),
    (thread("{{ name }} {{ cta }}", variation_sources={"cta": ["go", "buy"]}, dedup_fields=["title"]),
     [(0, 0), (0, 1), (1, 0), (1, 1), (3, 0), (3, 1)]),
], ids=["none", "title", "title+city", "constant", "two-fields", "variations-same-title", "variations-differ"])
def test_dedup_keeps_the_first(con: duckdb.DuckDBPyConnection, cfg: GenerationConfig,
                               expected: list[tuple[int, int]]) -> None:
    rows = generate(NAMES, cfg, con)
    assert project(rows, "__row", "__variation") == expected
    with build_plan(NAMES, cfg, connection=con) as plan:
        stats = compute_stats(plan)
    assert (stats.kept, stats.duplicates) == (len(expected), stats.variations - len(expected))


# -- constraints ----------------------------------------------------------------------------------

TITLES = pl.DataFrame({"name": ["short", "x" * 301, "word " * 80, "", "ok too"],
                       "alt": ["A", "B", "C", "D", "E" * 400]})


@pytest.mark.parametrize(("strategy", "fallbacks", "titles", "dropped"), [
    ("skip", {}, ["short", "ok too"], 3),
    ("truncate", {}, ["short", "x" * 300, ("word " * 60).rstrip(), "ok too"], 1),
    ("fallback", {"title": "{{ alt }}"}, ["short", "B", "C", "D", "ok too"], 0),
    ("fallback", {}, ["short", "ok too"], 3),
])
def test_constraint_strategies(con: duckdb.DuckDBPyConnection, strategy: str, fallbacks: dict[str, str],
                               titles: list[str], dropped: int) -> None:
    cfg = thread(constraint_strategy=strategy, fallbacks=fallbacks)  # type: ignore[arg-type]
    rows = generate(TITLES, cfg, con)
    assert [r["title"] for r in rows] == titles
    with build_plan(TITLES, cfg, connection=con) as plan:
        stats = compute_stats(plan)
    assert stats.violations["title"] == 3
    assert stats.dropped_by_constraints == dropped
    assert [(v.row, v.reason) for v in stats.violating_rows["title"]] == [
        (1, "too long: 301 characters, limit 300"),
        (2, "too long: 400 characters, limit 300"),
        (3, "required but empty"),
    ]


def test_fixed_rows_are_valid_and_say_what_was_repaired(con: duckdb.DuckDBPyConnection) -> None:
    """A value the strategy cut is no longer a problem (it is stored valid) but carries a note of the cut."""
    rows = generate(TITLES, thread(constraint_strategy="truncate"), con)
    assert [r["__violations"] for r in rows] == [None, None, None, None]
    assert [r["__fixes"] for r in rows] == [
        None, "title: cut to 300 (too long: 301 characters, limit 300)",
        "title: cut to 300 (too long: 400 characters, limit 300)", None]
    with build_plan(TITLES, thread(constraint_strategy="truncate"), connection=con) as plan:
        stats = compute_stats(plan)
    assert (stats.violations["title"], stats.fixed["title"], stats.over_limit["title"]) == (3, 2, 1)
    assert (stats.dropped_by_constraints, stats.kept, stats.valid) == (1, 4, 4)
    assert [v.repaired for v in stats.violating_rows["title"]] == [True, True, False]


def test_nothing_kept_is_zero_not_a_crash(con: duckdb.DuckDBPyConnection) -> None:
    """Every row skipped by a rule: the figures are zeros (count_if over no rows is NULL in DuckDB)."""
    skip_all = [{"id": "all", "name": "All", "enabled": True, "priority": 1,
                 "conditions": {"logic": "and", "items": [{"field": "name", "operator": "is_not_empty", "value": None}]},
                 "actions": [{"type": "skip", "params": {}}]}]
    data = pl.DataFrame({"name": ["a", "b", "c"]})
    with build_plan(data, thread(rules=skip_all), connection=con) as plan:
        result = preview(plan)
    assert result.stats is not None and result.variations.height == 0
    assert result.stats.figures()["skipped"] == 3
    assert (result.stats.variations, result.stats.kept, result.stats.valid, result.stats.dropped_by_constraints,
            result.stats.duplicates) == (0, 0, 0, 0, 0)


def test_reddit_title_over_300_is_flagged(con: duckdb.DuckDBPyConnection) -> None:
    data = pl.DataFrame({"name": ["é" * 300, "é" * 301]})
    with build_plan(data, thread(), connection=con) as plan:
        result = preview(plan)
    assert result.stats is not None
    assert result.variations["title"].to_list() == ["é" * 300]
    assert result.stats.violations == {"subreddit": 0, "title": 1}
    assert result.stats.violating_rows["title"][0].reason == "too long: 301 characters, limit 300"
    assert result.stats.length_histogram["title"][-1].hi is None  # the over-the-limit bin


def test_x_post_truncates_by_weighted_length(con: duckdb.DuckDBPyConnection) -> None:
    data = pl.DataFrame({"t": ["日本" * 100, "plain"]})
    cfg = GenerationConfig(platform="x", format="post", templates={"text": "{{ t }}"},
                           constraint_strategy="truncate")
    rows = generate(data, cfg, con)
    assert [r["text"] for r in rows] == ["日本" * 70, "plain"]


# -- variations, hierarchy, keywords --------------------------------------------------------------

def test_variation_sources_cross_product(con: duckdb.DuckDBPyConnection) -> None:
    data = pl.DataFrame({"name": ["Tent", "Kayak"]})
    cfg = thread("{{ headline }} {{ name }} — {{ cta }}",
                 variation_sources={"headline": ["Best", "Cheap", "New"], "cta": ["Buy", "Look"]})
    rows = generate(data, cfg, con)
    assert len(rows) == 12
    assert project(rows, "__row", "__variation")[:7] == [(0, i) for i in range(6)] + [(1, 0)]
    assert [r["title"] for r in rows[:6]] == ["Best Tent — Buy", "Best Tent — Look", "Cheap Tent — Buy",
                                              "Cheap Tent — Look", "New Tent — Buy", "New Tent — Look"]


def test_hierarchy_names(con: duckdb.DuckDBPyConnection) -> None:
    data = pl.DataFrame({"cat": ["shoes", "tents"], "brand": ["Acme", "Globex"], "name": ["Runner", "Dome"]})
    cfg = thread(hierarchy=Hierarchy(campaign="{{ cat }} 2025", ad_group="{{ brand }}", ad="{{ name }} ad"))
    rows = generate(data, cfg, con)
    assert project(rows, "campaign_name", "ad_group_name", "ad_name") == [
        ("shoes 2025", "Acme", "Runner ad"), ("tents 2025", "Globex", "Dome ad")]


def test_keyword_combinator(con: duckdb.DuckDBPyConnection) -> None:
    data = pl.DataFrame({"brand": ["Acme", "Acme", ""], "name": ["Runner", "Runner", "Dome"]})
    cfg = GenerationConfig(
        platform="google", format="responsive_search_ad",
        templates={"headline_1": "{{ name }}", "headline_2": "Shop {{ name }}", "headline_3": "Free returns",
                   "description_1": "Great {{ name }}", "description_2": "Order today",
                   "final_url": "https://example.com/{{ name }}"},
        hierarchy=Hierarchy(campaign="Search", ad_group="{{ name }}"),
        keywords=KeywordCombinator(parts=[["{{ brand }}", ""], ["{{ name }}"], ["shoes", ""]],
                                   match_types=["Exact", "Phrase"]),
    )
    with build_plan(data, cfg, connection=con) as plan:
        kws = plan.keywords().to_pylist()
    got = [(k["__row"], k["ad_group_name"], k["keyword"], k["match_type"]) for k in kws]
    assert got == [
        (0, "Runner", "Acme Runner shoes", "Exact"), (0, "Runner", "Acme Runner shoes", "Phrase"),
        (0, "Runner", "Acme Runner", "Exact"), (0, "Runner", "Acme Runner", "Phrase"),
        (0, "Runner", "Runner shoes", "Exact"), (0, "Runner", "Runner shoes", "Phrase"),
        (0, "Runner", "Runner", "Exact"), (0, "Runner", "Runner", "Phrase"),
        (2, "Dome", "Dome shoes", "Exact"), (2, "Dome", "Dome shoes", "Phrase"),
        (2, "Dome", "Dome", "Exact"), (2, "Dome", "Dome", "Phrase"),
    ]


def test_google_editor_export(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    data = pl.DataFrame({"name": ["Runner"]})
    cfg = GenerationConfig(
        platform="google", format="responsive_search_ad",
        templates={"headline_1": "{{ name }}", "headline_2": "Shop now", "headline_3": "Free returns",
                   "description_1": "Light {{ name }}", "description_2": "Order today",
                   "final_url": "https://example.com/x"},
        hierarchy=Hierarchy(campaign="Search", ad_group="{{ name }}"),
        keywords=KeywordCombinator(parts=[["{{ name }}"]], match_types=["Exact"]))
    path = tmp_path / "editor.csv"
    with build_plan(data, cfg, connection=con) as plan:
        assert write_export(plan, path, "google_ads_editor_csv") == 2
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    ad, keyword = list(csv.DictReader(path.open(encoding="utf-8-sig")))
    assert (ad["Campaign"], ad["Ad group"], ad["Ad type"], ad["Headline 1"], ad["Final URL"]) == (
        "Search", "Runner", "Responsive search ad", "Runner", "https://example.com/x")
    assert (keyword["Keyword"], keyword["Criterion Type"], keyword["Headline 1"]) == ("Runner", "Exact", "")


# -- errors ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("cfg", "message"), [
    (lambda: thread(templates={"titel": "x"}), "has no field 'titel'; did you mean 'title'"),
    (lambda: GenerationConfig(platform="reddit", format="thread", templates={"title": "x"}),
     "needs a template for required field"),
    (lambda: thread(dedup_fields=["body"]), "dedup field 'body' is not a generated column"),
    (lambda: thread(variation_sources={"name": ["a"]}), "same name as a column"),
    (lambda: thread(variation_sources={"cta": []}), "non-empty list"),
    (lambda: thread(constraint_strategy="ignore"), "unknown constraint strategy"),  # type: ignore[arg-type]
    (lambda: GenerationConfig(platform="reddit", format="thred", templates={}), "did you mean 'thread'"),
])
def test_config_errors(con: duckdb.DuckDBPyConnection, cfg: Any, message: str) -> None:
    with pytest.raises(EngineError, match=message):
        build_plan(NAMES, cfg(), connection=con)


def test_reserved_column_names_are_refused(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(EngineError, match="reserved"):
        build_plan(pl.DataFrame({"__row": [1]}), thread(), connection=con)


def test_plan_type_is_exported() -> None:
    assert Plan.__module__ == "engine.generation.plan"
