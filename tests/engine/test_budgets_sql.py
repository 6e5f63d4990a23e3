"""The compiled SQL path refuses what the per-row render refuses, in the same words; preview deadlines."""

from __future__ import annotations

import re
from typing import Any

import duckdb
import polars as pl
import pytest

from engine.budgets import MAX_OUTPUT_CHARS, MAX_STRING_CHARS
from engine.errors import EngineError
from engine.generation import GenerationConfig, KeywordCombinator, build_plan, preview
from engine.templates import TemplateError, compile_template
from engine.templates.sql_guards import sql_refusal
from tests.engine.test_budgets import in_thread

SCHEMA = {"name": "text", "n": "integer"}
PER_ROW = "{% for _ in [1] %}{% endfor %}"
"""Appended to a template, keeps it off the SQL path without changing what it prints."""


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    yield connection
    connection.close()


def per_row(source: str, row: dict[str, Any]) -> str:
    try:
        return compile_template(source, SCHEMA).render(row)
    except TemplateError as exc:
        return f"refused: {exc}"


def in_sql(con: duckdb.DuckDBPyConnection, source: str, row: dict[str, Any]) -> str:
    tmpl = compile_template(source, SCHEMA)
    assert tmpl.sql is not None, tmpl.fallback_reason
    con.register("one_row", pl.DataFrame([row], schema={"name": pl.String, "n": pl.Int64}))
    try:
        return str(con.execute(f"SELECT {tmpl.sql} FROM one_row").fetchall()[0][0])
    except duckdb.Error as exc:
        refusal = sql_refusal(exc)
        assert refusal is not None, exc
        return f"refused: {refusal}"
    finally:
        con.unregister("one_row")


def _grow(n_a: int) -> tuple[str, dict[str, Any]]:
    """An 8-fold `replace` (MAX_SQL_GROWTH) on `n_a` a's and 8 b's: the result is n_a * 8 + 8 long."""
    return "name|replace('a', 'aaaaaaaa')", {"name": "a" * n_a + "b" * 8, "n": 1}


HALF = MAX_STRING_CHARS // 2
EXACT = [
    pytest.param(*_grow(124_999), id="replace at the step limit"),  # 999,992 + 8 = 1,000,000
    pytest.param(*_grow(125_000), id="replace just over the step limit"),
    pytest.param("name ~ name", {"name": "x" * HALF, "n": 1}, id="~ at the limit"),
    pytest.param("name ~ name ~ '!'", {"name": "x" * HALF, "n": 1}, id="~ over the limit"),
    pytest.param("(name ~ n) ~ (n ~ name)", {"name": "y" * (HALF - 1), "n": 7}, id="nested ~ over the limit"),
    pytest.param("name|replace('a', 'aa')|replace('a', 'aa')|replace('a', 'aa')|upper", {"name": "a" * 200_000, "n": 1},
                 id="chained replace"),
]


@pytest.mark.parametrize(("expr", "row"), EXACT)
def test_sql_refuses_a_step_exactly_when_the_per_row_render_does(con: duckdb.DuckDBPyConnection, expr: str,
                                                                 row: dict[str, Any]) -> None:
    source = "{{ (" + expr + ")|truncate(30) }}"  # a short output: only the step in between can be refused
    expected = per_row(source + PER_ROW, row)
    assert in_sql(con, source, row) == expected


def test_replaces_that_lengthen_text_many_fold_render_per_row() -> None:
    tmpl = compile_template("{{ name|replace('a', 'aaa')|replace('b', 'bbb') }}", SCHEMA)  # 9-fold
    assert tmpl.sql is None
    assert "lengthens text 9-fold (more than 8-fold in SQL" in str(tmpl.fallback_reason)
    assert compile_template("{{ name|replace('a', 'aa')|replace('b', 'bbbb') }}", SCHEMA).sql is not None


def test_the_step_cases_cover_both_outcomes(con: duckdb.DuckDBPyConnection) -> None:
    outcomes = {per_row("{{ (" + p.values[0] + ")|truncate(30) }}", p.values[1]).startswith("refused")
                for p in EXACT}
    assert outcomes == {True, False}


def _thread(body: str) -> GenerationConfig:
    return GenerationConfig("reddit", "thread", {"subreddit": "deals", "title": "t", "body": body})


PLAN_CASES = [
    pytest.param("{{ name ~ name }}", MAX_OUTPUT_CHARS // 2 + 1, id="output over the field cap"),
    pytest.param("{{ name }}{{ name }}", MAX_OUTPUT_CHARS // 2 + 1, id="output pieces over the field cap"),
    pytest.param("{{ name|replace('a', 'aaaaaaaa') }}", 130_000, id="replace over the step cap"),
]


@pytest.mark.parametrize(("body", "size"), PLAN_CASES)
def test_a_plan_refuses_the_same_way_on_both_paths(body: str, size: int) -> None:
    data = pl.DataFrame({"name": ["short", "a" * size, "x"], "n": [1, 2, 3]})
    seen = []
    for source in (body, body + PER_ROW):
        with build_plan(data, _thread(source)) as plan:
            assert bool(plan.fallback_fields) == (source != body)
            refused = in_thread(plan.to_arrow)
            assert isinstance(refused, TemplateError), refused
            seen.append((str(refused), refused.field, refused.row))
    assert seen[0] == seen[1]
    assert seen[0][1:] == ("body", 1)
    assert re.search(r"more than [\d,]+ characters \(the limit for one", seen[0][0])


def _fallback(source: str) -> GenerationConfig:
    return GenerationConfig("reddit", "thread", {"subreddit": "deals", "title": "{{ name }}"},
                            constraint_strategy="fallback", fallbacks={"title": source})


def _keywords(source: str) -> GenerationConfig:
    return GenerationConfig("reddit", "thread", {"subreddit": "deals", "title": "t"},
                            keywords=KeywordCombinator([[source], ["shoes"]]))


@pytest.mark.parametrize(("make", "run", "label"), [
    pytest.param(_fallback, lambda plan: plan.to_arrow(), "title (fallback)", id="fallback template"),
    pytest.param(_keywords, lambda plan: plan.keywords(), "keyword part 1", id="keyword part"),
])
def test_fallback_and_keyword_templates_are_capped_alike(make: Any, run: Any, label: str) -> None:
    data = pl.DataFrame({"name": ["short", "a" * (MAX_OUTPUT_CHARS // 2 + 1)], "n": [1, 2]})
    seen = []
    for source in ("{{ name ~ name }}", "{{ name ~ name }}" + PER_ROW):
        with build_plan(data, make(source)) as plan:
            refused = in_thread(lambda plan=plan: run(plan))
            assert isinstance(refused, TemplateError), refused
            seen.append((str(refused), refused.field, refused.row))
    assert seen[0] == seen[1]
    assert seen[0][1:] == (label, 1)


def test_preview_stats_refuse_a_measured_field_like_its_text() -> None:
    data = pl.DataFrame({"name": ["short"] * 300 + ["z" * (MAX_OUTPUT_CHARS + 1)], "n": list(range(301))})
    with build_plan(data, _thread("{{ name }}")) as plan, pytest.raises(TemplateError, match="output too long"):
        preview(plan, limit=5)


def test_a_preview_deadline_stops_slow_per_row_renders(monkeypatch: pytest.MonkeyPatch) -> None:
    import engine.templates.sandbox as sandbox

    monkeypatch.setattr(sandbox, "PREVIEW_SECONDS", 0.5)
    slow = "{% set s = 'ab' * 400000 %}{% for j in range(200) %}{{ s.count('b') > 0 }}{% endfor %}"
    data = pl.DataFrame({"name": [f"p{i}" for i in range(2000)], "n": list(range(2000))})
    with build_plan(data, _thread("{{ name }}" + slow)) as plan:
        result = in_thread(lambda: preview(plan, limit=2000))
    assert isinstance(result, TemplateError), result
    assert "longer than 0.5 seconds in all (the limit for one preview)" in str(result)


def test_a_preview_deadline_interrupts_slow_sql(monkeypatch: pytest.MonkeyPatch) -> None:
    import engine.templates.sandbox as sandbox

    monkeypatch.setattr(sandbox, "PREVIEW_SECONDS", 0.3)
    cfg = GenerationConfig("reddit", "thread", {
        "subreddit": "deals", "title": "t",
        "body": "{{ (name ~ x ~ y)|upper|lower|title|replace('a', 'b')|truncate(50) }} {{ name|title|upper }}"},
        variation_sources={"x": [str(i) for i in range(10)], "y": [str(i) for i in range(10)]})
    data = pl.DataFrame({"name": ["ab cd " * 20 + str(i) for i in range(2000)]})  # 200,000 variations in SQL
    with build_plan(data, cfg) as plan:
        assert not plan.fallback_fields
        result = in_thread(lambda: preview(plan, limit=20))
    assert isinstance(result, EngineError), result
    assert str(result).startswith("rendering took longer than 0.3 seconds in all (the limit for one preview)")
