"""Text hygiene filters (issue 19 item 6): dedupe_words, stopwords, part — per row and in the plan alike."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.generation import build_plan, preview
from engine.templates import TemplateError, compile_template
from tests.engine.test_templates_support import frame, row_outputs, sql_outputs

SCHEMA = {"t": "text"}


@pytest.mark.parametrize(("source", "value", "expected"), [
    ("{{ t | dedupe_words }}", "Nike Nike Air Max", "Nike Air Max"),
    ("{{ t | dedupe_words }}", "Nike nike NIKE Air", "Nike Air"),  # ignoring case
    ("{{ t | dedupe_words }}", "the the the end", "the end"),
    ("{{ t | dedupe_words }}", "Nike, Nike", "Nike, Nike"),  # punctuation is part of a word
    ("{{ t | dedupe_words }}", "a  a", "a  a"),  # spacing is kept; the empty word between is no word
    ("{{ t | dedupe_words }}", "", ""),
    ("{{ t | dedupe_words }}", None, ""),
    ("{{ t | dedupe_words }}", "Straße STRASSE", "Straße STRASSE"),  # lower(), not casefold
    ("{{ t | dedupe_words }}", "ΣΑΣ σας", "ΣΑΣ"),  # Python's lower() with the final sigma
    ("{{ t | stopwords }}", "running shoes for men", "running shoes men"),
    ("{{ t | stopwords }}", "The Best of the Best", "Best Best"),
    ("{{ t | stopwords }}", "  shoes   and  socks ", "shoes socks"),
    ("{{ t | stopwords }}", "a the of", ""),
    ("{{ t | stopwords | dedupe_words }}", "shoes for shoes", "shoes"),
    ("{{ t | part(10, 1) }}", "Nike Nike air max for the men", "Nike Nike"),
    ("{{ t | part(10, 2) }}", "Nike Nike air max for the men", "air max"),
    ("{{ t | part(10, 3) }}", "Nike Nike air max for the men", "for the"),
    ("{{ t | part(10, 5) }}", "Nike Nike air max for the men", ""),
    ("{{ t | part(4, 1) }}", "Supercalifragilistic", "Supe"),  # a longer word is cut
    ("{{ t | part(4, 2) }}", "Supercalifragilistic", "rcal"),
    ("{{ t | part(10, 2, 'display_width') }}", "日本語のテキストです", "キストです"),
])
def test_filters(source: str, value: str | None, expected: str) -> None:
    tmpl = compile_template(source, SCHEMA)
    df = frame([{"t": value}], SCHEMA)
    assert row_outputs(tmpl, df) == [expected]
    if tmpl.sql is not None:
        assert sql_outputs(duckdb.connect(), tmpl, df) == [expected]


def test_dedupe_and_stopwords_compile_part_renders_per_row() -> None:
    assert compile_template("{{ t | dedupe_words }} {{ t | stopwords }}", SCHEMA).sql is not None
    assert "part" in (compile_template("{{ t | part(30, 2) }}", SCHEMA).fallback_reason or "")


@pytest.mark.parametrize(("source", "fragment"), [
    ("{{ t | part(0, 1) }}", "a width as a whole number from 1"),
    ("{{ t | part(30, 0) }}", "a piece number as a whole number from 1 to 100"),
    ("{{ t | part(30, 1, 'inches') }}", "unknown count method 'inches'"),
])
def test_bad_part_arguments_say_what_to_write(source: str, fragment: str) -> None:
    with pytest.raises(TemplateError, match=fragment):
        compile_template(source, SCHEMA).render({"t": "x"})


WORDS = st.lists(st.sampled_from(["a", "A", "the", "The", "Nike", "nike", "ΣΑΣ", "σας", "İ", "i̇", "ß", "SS", "",
                                  "for", "x,", "日本", "🙂"]), max_size=12).map(" ".join)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(WORDS, min_size=1, max_size=6))
def test_the_sql_forms_print_what_the_filters_print(values: list[str]) -> None:
    tmpl = compile_template("{{ t | dedupe_words }}|{{ t | stopwords }}", SCHEMA)
    df = frame([{"t": v} for v in values], SCHEMA)
    assert sql_outputs(duckdb.connect(), tmpl, df) == row_outputs(tmpl, df)


def test_an_overflowing_headline_continues_in_the_next_field() -> None:
    title = "Ultralight trail running shoes for long mountain days"
    templates = {f"headline_{n}": f"{{{{ t | part(30, {n}, 'display_width') }}}}" for n in (1, 2)}
    templates |= {"headline_3": "Free shipping", "description_1": "{{ t }}", "description_2": "Free returns",
                  "final_url": "https://x.test"}
    config = {"platform": "google", "format": "responsive_search_ad", "templates": templates}
    with build_plan(pl.DataFrame({"t": [title, "Short one"]}), config) as plan:
        rows = preview(plan, limit=5, stats=False).variations
    heads = rows.select("headline_1", "headline_2", "headline_3").rows()
    assert heads[0] == ("Ultralight trail running shoes", "for long mountain days", "Free shipping")
    # the second row has no second headline: the required field is reported, not silently filled
    assert len(heads) == 1
