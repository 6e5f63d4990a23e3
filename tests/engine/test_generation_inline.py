"""Inline variations `[[a|b]]` (issue 16 capability 1): the per-row reference, the plan's SQL, figures, config."""

from __future__ import annotations

from typing import Any

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.budgets import MAX_INLINE_COMBINATIONS, MAX_VARIATIONS_PER_ROW
from engine.errors import EngineError
from engine.generation import GenerationConfig, build_plan, compute_stats, connect, preview
from engine.generation.inline import expand, field_options
from engine.templates.convert import convert_dotoro
from tests.engine.test_generation_plan import project, reference


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    return connect()


def thread(title: str, body: str = "b", **extra: Any) -> GenerationConfig:
    return GenerationConfig(platform="reddit", format="thread",
                            templates={"subreddit": "deals", "title": title, "body": body}, **extra)


# -- one field's options (the reference) ------------------------------------------------------------

@pytest.mark.parametrize(("value", "options"), [
    ("plain text", ["plain text"]),
    ("", [""]),
    ("[[Buy|Get]] now", ["Buy now", "Get now"]),
    ("[[ Buy |  Get\t]]!", ["Buy!", "Get!"]),                          # options are trimmed
    ("[[\u00a0a\u2028|b\ufeff]]", ["a", "b"]),                        # as JavaScript's trim
    ("x[[]]y", ["xy"]),                                               # [[]] is one empty option
    ("[[a||b]]", ["a", "", "b"]),
    ("[[a|b]] [[1|2]]", ["a 1", "a 2", "b 1", "b 2"]),                # first block slowest
    ("[[a|[[b|c]]]]", ["[[a|b]]", "[[a|c]]"]),                        # only the innermost block expands
    ("[[a]", ["[[a]"]), ("[a|b]", ["[a|b]"]), ("[[a|b]]]]", ["a]]", "b]]"]),
    ("[[line\none|two]]", ["line\none", "two"]),
    ("[[a|a]]", ["a", "a"]),                                          # duplicates are removed across fields
])
def test_one_field_expands_to_its_options(value: str, options: list[str]) -> None:
    assert field_options(value) == options


@pytest.mark.parametrize(("values", "cap", "variations", "possible", "duplicates", "capped"), [
    (["[[Buy|Get]] it", "[[Fast|Cheap]]"], 10,
     [("Buy it", "Fast"), ("Buy it", "Cheap"), ("Get it", "Fast"), ("Get it", "Cheap")], 4, 0, 0),
    (["[[Buy|Get]] it", "[[Fast|Cheap]]"], 3, [("Buy it", "Fast"), ("Buy it", "Cheap"), ("Get it", "Fast")], 4, 0, 1),
    (["[[a|a|b]]", "x"], 10, [("a", "x"), ("b", "x")], 3, 1, 0),
    (["[[a| a ]]", "[[b|b]]"], 1, [("a", "b")], 4, 3, 0),
    (["none", "here"], 5, [("none", "here")], 1, 0, 0),
])
def test_a_row_expands_to_the_product_deduplicated_then_capped(values: list[str], cap: int, variations: list,
                                                               possible: int, duplicates: int, capped: int) -> None:
    got = expand(values, cap)
    assert (got.variations, got.possible, got.duplicates, got.capped) == (variations, possible, duplicates, capped)


def test_too_many_combinations_are_refused_naming_the_row() -> None:
    block = "[[" + "|".join(str(i) for i in range(101)) + "]]"
    with pytest.raises(EngineError, match=f"more than {MAX_INLINE_COMBINATIONS:,} combinations") as err:
        expand([block, block], 5, row=7)
    assert err.value.row == 7


# -- the plan agrees with the reference ---------------------------------------------------------------

CASES = [
    ("[[Buy|Get]] {{ name }}", "[[Fast|Cheap]] delivery", {}),
    ("[[{{ name }}|{{ alt }}]]", "[[x|y]][[1|2|3]]", {"max_inline_variations": 4}),   # options hold variables
    ("{{ alt }}", "{{ name }} [[a|b]]", {}),                                           # data holding blocks expands
    ("{{ alt }}", "plain", {"inline_variations": True}),                               # …also when asked for
    ("{{ alt }}", "[[a|b]]", {"inline_variations": False}),                            # off: literal text
    ("{% for w in name.split() %}[[{{ w }}|-]]{% endfor %}", "[[p|q]]", {}),           # a per-row (UDF) field
    ("[[A|B]] {{ name }}", "[[a|b]]", {"variation_sources": {"tone": ["1", "2"]}, "dedup_fields": ["title"]}),
    ("[[ {{ name }} | {{ name }} ]]", "[[{{ alt }}|]]", {"constraint_strategy": "truncate"}),
]
DATA = pl.DataFrame({"name": ["Nike Air", "Puma", "Ön [[x|y]]", ""],
                     "alt": ["Nike Air", "[[p|q|p]]", "a|b", "[[]]"]})


@pytest.mark.parametrize(("title", "body", "extra"), CASES)
def test_the_plan_equals_the_per_row_reference(con: duckdb.DuckDBPyConnection, title: str, body: str,
                                               extra: dict[str, Any]) -> None:
    cfg = thread(title, body, **extra)
    ref = reference(DATA, {"name": "text", "alt": "text"}, cfg)
    with build_plan(DATA, cfg, connection=con) as plan:
        rows = plan.to_arrow().to_pylist()
        stats = compute_stats(plan)
        head = plan.head(5).to_pylist()
    columns = ["__row", "__variation", "title", "body", "__violations", "__fixes"]
    assert project(rows, *columns) == project(ref.rows, *columns)
    assert head == rows[:5]
    assert (stats.variations, stats.kept, stats.duplicates) == (ref.variations, len(ref.rows), ref.duplicates)
    if cfg.inline:
        assert stats.inline == {"possible": ref.inline_possible, "duplicates": ref.inline_duplicates,
                                "capped": ref.inline_capped}
    else:
        assert stats.inline is None and "inline_possible" not in stats.figures()


def test_figures_count_possible_duplicates_and_capped(con: duckdb.DuckDBPyConnection) -> None:
    data = pl.DataFrame({"name": ["Nike", "Puma"]})
    cfg = thread("[[Buy|Get|Buy]] {{ name }}", "[[Fast|Cheap]]", max_inline_variations=3)
    with build_plan(data, cfg, connection=con) as plan:
        p = preview(plan, limit=10)
    assert p.variations.select("__row", "__variation", "title", "body").rows() == [
        (0, 0, "Buy Nike", "Fast"), (0, 1, "Buy Nike", "Cheap"), (0, 2, "Get Nike", "Fast"),
        (1, 0, "Buy Puma", "Fast"), (1, 1, "Buy Puma", "Cheap"), (1, 2, "Get Puma", "Fast")]
    assert p.stats is not None
    figures = p.stats.figures()
    assert (figures["inline_possible"], figures["inline_duplicates"], figures["inline_capped"]) == (12, 4, 2)
    assert (figures["variations"], figures["kept"], figures["skipped"]) == (6, 6, 0)


def test_variation_index_is_stable_source_times_cap_plus_inline(con: duckdb.DuckDBPyConnection) -> None:
    data = pl.DataFrame({"name": ["Nike"]})
    cfg = thread("{{ tone }} [[a|b]] {{ name }}", variation_sources={"tone": ["Hi", "Yo"]}, max_inline_variations=5)
    with build_plan(data, cfg, connection=con) as plan:
        rows = plan.to_arrow().select(["__variation", "title"]).to_pylist()
    assert [(r["__variation"], r["title"]) for r in rows] == [
        (0, "Hi a Nike"), (1, "Hi b Nike"), (5, "Yo a Nike"), (6, "Yo b Nike")]


def test_a_row_with_too_many_combinations_fails_the_plan_naming_it(con: duckdb.DuckDBPyConnection) -> None:
    many = "[[" + "|".join(str(i) for i in range(101)) + "]]"
    data = pl.DataFrame({"o": ["[[a|b]]", many]})
    with build_plan(data, thread("{{ o }}", "{{ o }}", inline_variations=True), connection=con) as plan, \
            pytest.raises(EngineError, match=f"more than {MAX_INLINE_COMBINATIONS:,} combinations") as err:
        plan.to_arrow()
    assert err.value.row == 1


@pytest.mark.parametrize(("extra", "message"), [
    ({"max_inline_variations": 0}, "max_inline_variations must be a whole number from 1"),
    ({"max_inline_variations": MAX_VARIATIONS_PER_ROW + 1}, "max_inline_variations must be a whole number"),
    ({"max_inline_variations": "5"}, "max_inline_variations must be a whole number"),
    ({"variation_sources": {"a": [str(i) for i in range(30)]}, "max_inline_variations": 50},
     "30 source variation.*× up to 50 inline variations would make 1,500 variations per row; the limit is 1,000"),
])
def test_the_inline_maximum_is_bounded(extra: dict[str, Any], message: str) -> None:
    with pytest.raises(EngineError, match=message):
        thread("[[a|b]]", **extra)


def test_sources_times_the_maximum_only_counts_when_blocks_expand() -> None:
    cfg = thread("{{ a }}", variation_sources={"a": [str(i) for i in range(30)]})
    assert (cfg.inline, cfg.variations_per_row) == (False, 30)


def test_the_dotoro_converter_passes_blocks_through() -> None:
    converted = convert_dotoro("[[Buy|Get]] {name} [[ {brand} | now ]]")
    assert converted == "[[Buy|Get]] {{ name }} [[ {{ brand }} | now ]]"
    cfg = thread(converted)
    with build_plan(pl.DataFrame({"name": ["Tent"], "brand": ["Acme"]}), cfg) as plan:
        assert plan.to_arrow().column("title").to_pylist() == ["Buy Tent Acme", "Buy Tent now", "Get Tent Acme",
                                                               "Get Tent now"]


# -- property: random data and blocks, both paths byte for byte ----------------------------------------

_PIECE = st.text(alphabet=st.sampled_from(list("ab |[]ß\t\u00a0")), max_size=14)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(_PIECE, _PIECE), min_size=1, max_size=8),
       title=st.sampled_from(["{{ a }}", "[[{{ a }}|x]] {{ b }}", "[[ {{ a }} | {{ b }} |]]", "[[x|y]][[{{ b }}]]"]),
       flair=st.sampled_from(["{{ b }}", "{{ a }}[[1|1|2]]", "[[]]{{ b }}"]),
       cap=st.integers(1, 4), strategy=st.sampled_from(["skip", "truncate"]),
       dedup=st.sampled_from([[], ["flair"], ["title", "flair"]]))
def test_random_blocks_match_the_reference(con: duckdb.DuckDBPyConnection, rows: list[tuple[str, str]], title: str,
                                           flair: str, cap: int, strategy: str, dedup: list[str]) -> None:
    data = pl.DataFrame({"a": [r[0] for r in rows], "b": [r[1] for r in rows]}, schema={"a": pl.String, "b": pl.String})
    cfg = GenerationConfig(platform="reddit", format="thread", inline_variations=True, max_inline_variations=cap,
                           templates={"subreddit": "deals", "title": title, "flair": flair},
                           constraint_strategy=strategy, dedup_fields=dedup)
    ref = reference(data, {"a": "text", "b": "text"}, cfg)
    with build_plan(data, cfg, connection=con) as plan:
        got = plan.to_arrow().to_pylist()
        stats = compute_stats(plan)
    columns = ["__row", "__variation", "title", "flair", "__violations", "__fixes"]
    assert project(got, *columns) == project(ref.rows, *columns)
    assert stats.inline == {"possible": ref.inline_possible, "duplicates": ref.inline_duplicates,
                            "capped": ref.inline_capped}
    assert (stats.variations, stats.dropped_by_constraints, stats.duplicates) == (
        ref.variations, ref.dropped, ref.duplicates)
