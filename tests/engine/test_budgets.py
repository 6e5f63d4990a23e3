"""Budgets on untrusted work: each refuses with a message naming the limit and its value, before the work."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from engine import budgets
from engine.errors import EngineError
from engine.generation import GenerationConfig, KeywordCombinator, build_plan
from engine.rules import compile_pattern
from engine.templates import TemplateError, compile_template, validate_template
from studio.previews import parse_variation_sources

SCHEMA = {"name": "text", "n": "integer"}
ROW = {"name": "ab", "n": 5}
ROOT = Path(__file__).resolve().parents[2]


def in_thread(work: Callable[[], Any], seconds: float = 30.0) -> Any:
    """Run `work` in a thread; its result or exception, or fail when it is still running after `seconds`."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = work()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            box["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still running after {seconds} s: the budget did not stop it"
    return box.get("error", box.get("value"))


def refusal(source: str, row: dict[str, Any] | None = None) -> str:
    """The message a template is refused with, at validation or at its render."""
    report = validate_template(source, list(SCHEMA))
    if not report.ok:
        return report.errors[0].message
    try:
        compile_template(source, SCHEMA).render(row or ROW)
    except TemplateError as exc:
        return str(exc)
    raise AssertionError(f"{source!r} was not refused")


# -- variations: the product of the counts is checked before anything expands ----------------------

SIX_BY_TEN = {f"v{i}": [str(j) for j in range(10)] for i in range(6)}


def test_variation_sources_are_refused_before_expansion() -> None:
    text = "\n".join(f"{name}: {' | '.join(values)}" for name, values in SIX_BY_TEN.items())  # the 251-char attack
    message = parse_variation_sources(text)
    assert message == ("Variation sources would make 1,000,000 variations per row; the limit is 1,000. "
                       "Use fewer sources or fewer values.")
    assert parse_variation_sources("cta: a | b\ntone: x | y | z") == {"cta": ["a", "b"], "tone": ["x", "y", "z"]}


@pytest.mark.parametrize(("text", "what"), [("cta: buy \ud800 | go", "a lone surrogate (U+D800)"),
                                            ("cta: a\ntone: go\x00now", "a NUL character (\\0)")])
def test_variation_sources_refuse_characters_no_text_can_carry(text: str, what: str) -> None:
    message = parse_variation_sources(text)
    assert isinstance(message, str) and what in message and "line " + str(text.count("\n") + 1) in message


@pytest.mark.parametrize(("value", "what"), [("buy \ud800", "a lone surrogate (U+D800)"), ("go\x00now", "a NUL character (\\0)")])
def test_a_config_given_sources_directly_refuses_characters_no_text_can_carry(value: str, what: str) -> None:
    with pytest.raises(EngineError, match=re.escape(f"variation source 'cta': a value holds {what}; remove it")):
        GenerationConfig("reddit", "thread", {"title": "{{ cta }}"}, variation_sources={"cta": ["ok", value]})


def test_a_config_refuses_too_many_variations_without_building_them() -> None:
    huge = {f"v{i}": [str(j) for j in range(100)] for i in range(12)}  # 10**24 rows if anything expanded it
    with pytest.raises(EngineError, match=re.escape("would make 1,000,000,000,000,000,000,000,000 variations per "
                                                    "row; the limit is 1,000")):
        _raise(in_thread(lambda: GenerationConfig("reddit", "thread", {"title": "x"}, variation_sources=huge)))
    limit = {"a": [str(j) for j in range(budgets.MAX_VARIATIONS_PER_ROW)]}
    assert GenerationConfig("reddit", "thread", {"title": "x"}, variation_sources=limit).variation_count == 1_000


def test_keyword_combinations_are_bounded() -> None:
    parts = [[f"w{i}{j}" for j in range(10)] for i in range(4)]
    with pytest.raises(EngineError, match=re.escape("would make 10,000 keywords per row; the limit is 1,000")):
        GenerationConfig("reddit", "thread", {"title": "x"}, keywords=KeywordCombinator(parts))


def _raise(value: Any) -> Any:
    if isinstance(value, BaseException):
        raise value
    return value


def test_a_run_is_bounded_in_rows_times_variations(monkeypatch: pytest.MonkeyPatch) -> None:
    import engine.generation.plan as plan_module

    monkeypatch.setattr(plan_module, "MAX_RUN_VARIATIONS", 10)
    cfg = GenerationConfig("reddit", "thread", {"subreddit": "deals", "title": "{{ name }} {{ cta }}"},
                           variation_sources={"cta": ["a", "b", "c"]})
    with pytest.raises(EngineError, match=re.escape("This run would make 12 variations (rows × variations per "
                                                    "row); the limit is 10")):
        build_plan(pl.DataFrame({"name": ["a", "b", "c", "d"]}), cfg)


def test_a_preview_is_bounded_in_rows_times_variations(monkeypatch: pytest.MonkeyPatch) -> None:
    preview_module = importlib.import_module("engine.generation.preview")  # the package re-exports a function of that name

    monkeypatch.setattr(preview_module, "MAX_PREVIEW_VARIATIONS", 10)
    cfg = GenerationConfig("reddit", "thread", {"subreddit": "deals", "title": "{{ name }} {{ cta }}"},
                           variation_sources={"cta": ["a", "b", "c"]})
    with build_plan(pl.DataFrame({"name": ["a", "b", "c", "d"]}), cfg) as plan, \
            pytest.raises(EngineError, match=re.escape("This preview would make 12 variations (rows × variations "
                                                       "per row); the limit is 10")):
        preview_module.preview(plan)


# -- templates: each budget refuses with its limit --------------------------------------------------

TEMPLATE_REFUSALS = [
    ("output", "{{ name * 60000 }}", {"name": "ab"}, "more than 100,000 characters (the limit for one field"),
    ("one step", "{{ 'A' * 10**9 }}", None, "more than 1,000,000 characters (the limit for one step"),
    ("replace", "{{ name|replace('a', 'a' * 10000) }}", {"name": "a" * 1000}, "more than 1,000,000 characters"),
    ("concat", "{% set s = 'a' * 600000 %}{{ (s ~ s)|length }}", None, "`~` would build more than 1,000,000"),
    ("work", "{% set s = 'a' * 900000 %}{% for i in range(100) %}{{ (s|upper)|length }}{% endfor %}", None,
     "more than 20,000,000 characters in all for one row (the limit for one render)"),
    ("steps", "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}", None,
     "more than 100,000 loop steps and calls, the limit for one row"),
    ("range", "{{ range(10**9)|list }}", None, "range() may hold at most 10,000 items"),
    ("integer", "{{ 2 ** 5000 }}", None, "more than 4,096 bits, the limit"),
    ("decimals", "{{ n|number(11) }}", None, "decimals must be a whole number from 0 to 10"),
    ("if blocks", "{% if n %}" * 100 + "x" + "{% endif %}" * 100, None, "nested 11 deep here; the limit is 10"),
    ("for blocks", "".join(f"{{% for i{k} in [1] %}}" for k in range(25)) + "x" + "{% endfor %}" * 25, None,
     "nested 11 deep here; the limit is 10"),
    ("brackets", "{{ " + "(" * 70 + "name" + ")" * 70 + " }}", None, "nested 31 deep here; the limit is 30"),
    ("lists", "{{ " + "[" * 200 + "]" * 200 + " }}", None, "the limit is 30"),
    ("unary", "{{ " + "not " * 200 + "n }}", None, "the limit is 30"),
    ("filters", "{{ name" + "|upper" * 500 + " }}", None, "chains 101 operations inside each other; the limit is 100"),
    ("or chain", "{% if " + " or ".join(["n == 1"] * 150) + " %}x{% endif %}", None, "the limit is 100"),
    ("length", "x" * 50_001, None, "50,001 characters (at most 50,000)"),
]


@pytest.mark.parametrize(("source", "row", "fragment"), [t[1:] for t in TEMPLATE_REFUSALS],
                         ids=[t[0] for t in TEMPLATE_REFUSALS])
def test_each_template_budget_refuses_with_its_limit(source: str, row: dict[str, Any] | None, fragment: str) -> None:
    assert fragment in in_thread(lambda: refusal(source, row))


def test_budgets_just_inside_their_limits_render() -> None:
    ten_ifs = "{% if n %}" * 10 + "x" + "{% endif %}" * 10
    ten_fors = "".join(f"{{% for i{k} in [1] %}}" for k in range(10)) + "y" + "{% endfor %}" * 10
    source = ten_ifs + ten_fors + "{{ " + "(" * 30 + "name" + ")" * 30 + " }}{{ name" + "|lower" * 98 + "|string }}"
    assert compile_template(source, SCHEMA).render(ROW) == "xyabab"
    assert len(compile_template("{{ name * 50000 }}", SCHEMA).render(ROW)) == 100_000


SLOW = "{% set s = 'ab' * 400000 %}{% for i in range(10000) %}{% for j in range(9) %}{{ s.count('b') }}{% endfor %}{% endfor %}"
"""Small results (no work budget), fewer than MAX_STEPS steps per second: only a clock stops it."""


def test_a_deadline_stops_a_runaway_render(monkeypatch: pytest.MonkeyPatch) -> None:
    import engine.templates.sandbox as sandbox

    monkeypatch.setattr(sandbox, "RENDER_SECONDS", 0.2)
    got = in_thread(lambda: refusal(SLOW))
    assert "took longer than 0.2 seconds for one row (the limit for one render)" in got


def test_a_runaway_render_ends_in_an_error_with_the_real_limits() -> None:
    got = in_thread(lambda: refusal(SLOW))
    assert re.search(r"the limit (for|is)", got), got


def test_a_shared_deadline_stops_every_render_after_it() -> None:
    import time

    tmpl = compile_template("{{ name }}", SCHEMA)
    with pytest.raises(TemplateError, match="longer than 30 seconds in all \\(the limit for one preview\\)"):
        tmpl.render(ROW, deadline=time.monotonic() - 1)


# -- crashes become messages --------------------------------------------------------------------------

HOSTILE = [
    "{{ name.split('') }}", "{{ 10.0 ** 400 }}", "{{ (1e308 * 1e308)|int }}", "{{ [n, 'x']|sum }}",
    "{{ n|round(2, 'sideways') }}", "{{ n / 0 }}", "{{ name[10] }}", "{{ {'a': 1}['b'] }}",
    "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
    "{{ name < n }}", "{{ n.bit_length(1) }}", "{{ name|truncate(-1) }}", "{{ name|date('%Q') }}",
    "{{ n|filesizeformat(1, 2, 3) }}", "{{ [1, 2]|first(5) }}", "{{ name|replace(1) }}",
    "{{ '%'['%'] and n }}", "{% for x in n %}{{ 'a'[0]['b'] or x }}{% endfor %}",  # Jinja folds these while compiling
]


@pytest.mark.parametrize("source", HOSTILE)
def test_template_failures_are_template_errors_in_plain_words(source: str) -> None:
    message = in_thread(lambda: _outcome(source))
    assert isinstance(message, TemplateError), message
    assert not re.search(r"\b\w+(Error|Exception)\b", str(message)), str(message)


def _outcome(source: str) -> Any:
    try:
        compile_template(source, SCHEMA).render(ROW)
    except TemplateError as exc:
        return exc
    return "rendered"


# -- rule regexes: RE2 on both paths, linear in the text ---------------------------------------------

def test_a_rule_regex_runs_in_linear_time_on_a_long_cell() -> None:
    # In a child process: a quadratic engine holds the GIL, so a thread could not be timed out.
    code = "from engine.rules import compile_pattern; print(compile_pattern('[a-z]*x').search('a' * 400_000))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr[-2000:]
    assert compile_pattern("[a-z]*x").search("a" * 1000 + "x") is True


def test_the_budget_list_names_every_budget_once() -> None:
    names = [b.name for b in budgets.BUDGETS]
    assert len(names) == len(set(names))
    assert all(getattr(budgets, b.name) == b.value for b in budgets.BUDGETS)
