"""Set-level text hygiene (issue 19 item 6): dedupe option, stop words in keywords and the workspace word list,
on a template compiled to SQL and on one rendered per row alike, in the preview, the stats and the bulk run."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from engine.errors import EngineError
from engine.generation import GenerationConfig, build_plan, preview
from engine.generation.hygiene_step import TextHygiene, WordList

PATHS = {"sql": "{{ t }}", "per_row": "{{ t | part(90, 1) }}"}  # `part` has no SQL form: rendered per row
OTHERS = {"headline_2": "Free shipping", "headline_3": "Shop now", "description_1": "Free returns",
          "description_2": "Order today", "final_url": "https://x.test"}


def run(values: list[str], path: str, **options: Any) -> tuple[list[str], list[str | None], Any]:
    """(headline_1 of the generated set, each variation's problems, the preview) for the values."""
    config = {"platform": "google", "format": "responsive_search_ad",
              "templates": {"headline_1": PATHS[path], **OTHERS}, **options}
    with build_plan(pl.DataFrame({"t": values}), config) as plan:
        assert bool(plan.fallback_fields) == (path == "per_row")
        shown = preview(plan, limit=50)
        bulk = plan.to_arrow().column("headline_1").to_pylist()
        ledger = plan.query(plan.compiled.ledger_sql()).column("__violations").to_pylist()
    assert shown.variations["headline_1"].to_list() == bulk  # the preview is the generated set
    return bulk, ledger, shown


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(("options", "value", "expected"), [
    ({"dedupe_words": True}, "Nike Nike Air Max", "Nike Air Max"),
    ({"dedupe_words": True}, "Nike nike NIKE Air", "Nike Air"),
    ({"dedupe_words": True}, "Nike, Nike", "Nike, Nike"),
    ({"dedupe_words": False}, "Nike Nike Air", "Nike Nike Air"),
    ({"word_list": {"brands": ["iPhone"]}}, "iphone case for IPHONE", "iPhone case for iPhone"),
    ({"word_list": {"brands": ["iPhone"]}}, "iphones and xiphone", "iphones and xiphone"),  # whole words only
    ({"word_list": {"brands": ["iPhone"]}}, "(iphone),iphone.iphone!", "(iPhone),iPhone.iPhone!"),  # punctuation
    ({"word_list": {"brands": ["iPhone"]}}, "iphone iphone iphone", "iPhone iPhone iPhone"),  # adjacent matches
    ({"word_list": {"brands": ["iPhone", "MacBook Pro"]}}, "macbook-pro", "macbook-pro"),  # words as listed
    ({"word_list": {"brands": ["iPhone", "MacBook Pro"]}}, "new macbook pro", "new MacBook Pro"),
    ({"word_list": {"brands": ["Café"]}}, "CAFÉ latte", "Café latte"),  # unicode case folding
    ({"word_list": {"brands": ["CAF"]}}, "café caf", "café CAF"),  # é is a letter, not a word's edge
    ({"word_list": {"brands": ["ΣΑΣ"]}}, "σας ok", "ΣΑΣ ok"),
    ({"word_list": {"banned": ["cheap"], "banned_mode": "replace", "replacement": "affordable"}},
     "Cheap shoes, CHEAP!", "affordable shoes, affordable!"),
    ({"word_list": {"banned": ["cheap"], "banned_mode": "replace", "replacement": ""}},
     "cheap shoes cheap", "shoes"),
    ({"word_list": {"banned": ["cheap"], "banned_mode": "replace", "replacement": "good"}},
     "cheapest shoes", "cheapest shoes"),
    ({"dedupe_words": True, "word_list": {"brands": ["iPhone"]}}, "iphone iPhone case", "iPhone case"),
])
def test_options_clean_every_field_on_both_paths(path: str, options: dict[str, Any], value: str, expected: str) -> None:
    bulk, ledger, _ = run([value], path, **options)
    assert bulk == [expected] and ledger == [None]


@pytest.mark.parametrize("path", PATHS)
def test_a_refused_banned_word_makes_the_variation_invalid_naming_word_and_field(path: str) -> None:
    values = ["Cheap running shoes", "Trail shoes", "cheapest boots", "Shoes, CHEAP."]
    bulk, ledger, shown = run(values, path, word_list={"banned": ["cheap", "knock-off"], "banned_mode": "refuse"})
    assert bulk == ["Trail shoes", "cheapest boots"]
    assert ledger[0] == ledger[3] == "headline_1: holds the banned word 'cheap' (workspace word list)"
    assert ledger[1] is None and ledger[2] is None
    assert shown.stats.figures()["problems"]["headline_1"] == 2


@pytest.mark.parametrize("path", PATHS)
def test_the_cleaned_text_is_what_the_length_checks_count(path: str) -> None:
    long = "Nike " * 8 + "Air"  # 43 characters, 8 after dropping the repeats: headline limit 30
    assert run([long], path)[0] == []
    assert run([long], path, dedupe_words=True)[0] == ["Nike Air"]


def test_the_stats_measure_the_cleaned_text_on_a_large_set() -> None:
    values = ["Nike " * 8 + "Air"] * 3
    config = {"platform": "google", "format": "responsive_search_ad",
              "templates": {"headline_1": "{{ t }}", **OTHERS}, "dedupe_words": True}
    with build_plan(pl.DataFrame({"t": values}), config) as plan:
        assert "headline_1" not in plan.compiled.measured()  # the template's length is not the cleaned one
        assert preview(plan).stats.figures()["valid"] == 3


STRUCTURE = {"campaign": "Shoes", "ad_group": "{{ t }}", "keywords": ["{{ t }}", "the best {{ t }} for you"],
             "match_types": ["Phrase"], "negatives": [{"keyword": "the cheap", "match_type": "Exact",
                                                        "level": "ad_group"}]}


def _keywords(values: list[str], **options: Any) -> list[str]:
    config = {"platform": "google", "format": "responsive_search_ad", "templates": {"headline_1": "Shoes", **OTHERS},
              "structure": STRUCTURE, **options}
    with build_plan(pl.DataFrame({"t": values}), config) as plan:
        shown = preview(plan, limit=50).variations["keywords"].to_list()
        bulk = plan.to_arrow().column("keywords").to_pylist()
    assert shown == bulk
    return bulk


def test_stop_words_leave_the_structures_keywords() -> None:
    assert _keywords(["Trail Runner"]) == ["phrase: Trail Runner\nphrase: the best Trail Runner for you"]
    assert _keywords(["Trail Runner"], keyword_stopwords=True) == [
        "phrase: Trail Runner\nphrase: best Trail Runner"]
    # a keyword of stop words only is left out, not emitted as an empty line
    assert _keywords(["The"], keyword_stopwords=True) == ["phrase: best"]


def test_keywords_with_a_refused_word_are_left_out_and_brands_cased() -> None:
    words = {"banned": ["best"], "brands": ["iPhone"]}
    assert _keywords(["iphone case", "best iphone"], word_list=words) == ["phrase: iPhone case"]
    # the second row is refused whole: its ad group's name holds the word


def test_the_keyword_combinator_strips_stop_words() -> None:
    config = {"platform": "google", "format": "responsive_search_ad", "templates": {"headline_1": "Shoes", **OTHERS},
              "keywords": {"parts": [["{{ t }}"], ["for men", "the"]], "match_types": ["Exact"]},
              "keyword_stopwords": True, "word_list": {"brands": ["iPhone"]}}
    with build_plan(pl.DataFrame({"t": ["iphone case"]}), config) as plan:
        assert plan.keywords().column("keyword").to_pylist() == ["iPhone case men", "iPhone case"]


@pytest.mark.parametrize(("word_list", "message"), [
    ({"banned": ["cheap"], "banned_mode": "hide"}, "either refused or replaced"),
    ({"banned": ["cheap"], "banned_mode": "replace", "replacement": "so cheap"}, "contains the banned word 'cheap'"),
    ({"banned": ["apple"], "brands": ["Apple"]}, "both banned and a brand spelling"),
    ({"banned": ["x" * 101]}, "longer than 100 characters"),
    ({"banned": [3]}, "entry 1 is not text"),
    ({"colour": []}, "unknown key(s) colour"),
])
def test_a_bad_word_list_is_refused_with_what_to_change(word_list: dict[str, Any], message: str) -> None:
    with pytest.raises(EngineError, match="word list") as info:
        GenerationConfig.from_dict({"platform": "google", "format": "responsive_search_ad", "templates": {},
                                    "word_list": word_list})
    assert message in str(info.value)


def test_an_option_must_be_on_or_off() -> None:
    with pytest.raises(EngineError, match="dedupe_words is an on/off option"):
        GenerationConfig(platform="google", format="responsive_search_ad", templates={}, dedupe_words="yes")  # type: ignore[arg-type]


def test_an_empty_list_changes_nothing_and_words_are_tidied() -> None:
    assert GenerationConfig(platform="google", format="responsive_search_ad", templates={},
                            word_list={"banned": ["  ", ""], "brands": []}).word_list is None
    wl = WordList(banned=("  Knock   off ", "knock off"), brands=())
    assert wl.banned == ("Knock off",) and TextHygiene(word_list=wl).problem("a KNOCK OFF bag") == (
        "holds the banned word 'Knock off' (workspace word list)")


def test_the_options_apply_after_inline_variations_expand() -> None:
    config = {"platform": "google", "format": "responsive_search_ad",
              "templates": {"headline_1": "{{ t }} [[Nike|iphone]] shoes", **OTHERS}, "dedupe_words": True,
              "word_list": {"brands": ["iPhone"]}}
    with build_plan(pl.DataFrame({"t": ["Nike", "iphone"]}), config) as plan:
        shown = preview(plan).variations["headline_1"].to_list()
        assert shown == plan.to_arrow().column("headline_1").to_pylist() == [
            "Nike shoes", "Nike iPhone shoes", "iPhone Nike shoes", "iPhone shoes"]
