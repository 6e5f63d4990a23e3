"""Ad hierarchy as data (issue 16, capabilities 2 and 6): several ad groups and ads per row, grouping by
rendered names, dedup that empties ad groups, keywords normalised and de-duplicated per ad group, and
the bulk files that write the same tree."""

from __future__ import annotations

import csv
import io
from typing import Any

import duckdb
import polars as pl
import pytest

from engine.errors import EngineError
from engine.generation import GenerationConfig, build_plan, connect, preview
from engine.generation.preview import structure_of
from engine.generation.structure import CampaignStructure, build_structure, structure_input
from engine.platforms.ad_tree import build_tree, duplicate_skeleton, parse_keywords, skeleton_records
from engine.platforms.bulk_files import build_bulk_file

DATA = pl.DataFrame({
    "category": ["Shoes", "Shoes", "Tents", "Shoes"],
    "name": ["Runner", "Trail  Runner", "Dome", "Runner"],
    "url": ["https://x.co/r", "https://x.co/t", "https://x.co/d", "https://x.co/r2"],
})
RSA = {"headline_1": "{{ name }}", "headline_2": "Shop {{ category }}", "headline_3": "Free returns",
       "description_1": "Great {{ name }}.", "description_2": "Order today.", "final_url": "{{ url }}"}
TWO_GROUPS = {
    "campaign": "{{ category }}",
    "ad_groups": [
        {"name": "{{ name }}", "keywords": ["{{ name }}", "buy  {{ name }}"], "match_types": ["Phrase", "Exact"],
         "negatives": [{"keyword": "used {{ name }}", "match_type": "Exact"}],
         "ads": [{}, {"templates": {"headline_1": "Buy {{ name }}"}}]},
        {"name": "All {{ category }}", "keywords": ["{{ category }}"], "match_types": ["Broad"],
         "ads": [{"templates": {"headline_1": "All {{ category }}"}}]},
    ],
    "negatives": [{"keyword": "free", "match_type": "Phrase", "level": "campaign"}],
}


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    return connect()


def rsa(structure: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"platform": "google", "format": "responsive_search_ad", "templates": RSA, "structure": structure, **extra}


def _rows(con: duckdb.DuckDBPyConnection, config: dict[str, Any]) -> list[dict[str, Any]]:
    with build_plan(DATA, config, connection=con) as plan:
        return plan.to_arrow().to_pylist()


# -- the model --------------------------------------------------------------------------------------

LEGACY = {"campaign": "{{ category }}", "ad_group": "{{ name }}", "keywords": ["{{ name }}"],
          "match_types": ["Exact"], "negatives": [{"keyword": "cheap", "match_type": "Exact", "level": "ad_group"}],
          "settings": {"campaign": {"budget": "5.00"}}}


def test_a_stored_one_ad_group_structure_reads_as_one_group_with_one_ad_using_the_set_templates() -> None:
    cs = CampaignStructure.from_dict(LEGACY)
    assert len(cs.ad_groups) == 1 and cs.ads_per_row == 1
    group = cs.ad_groups[0]
    assert (group.name, group.keywords, group.match_types, group.ads[0].templates) == (
        "{{ name }}", ("{{ name }}",), ("Exact",), {})
    assert CampaignStructure.from_dict(cs.to_dict()) == cs  # the new shape round-trips
    assert cs.to_dict()["ad_groups"][0]["ads"] == [{"name": "", "templates": {}}]


def test_a_one_ad_structure_keeps_the_variation_ids_it_always_had(con: duckdb.DuckDBPyConnection) -> None:
    legacy = _rows(con, rsa(LEGACY, variation_sources={"v": ["a", "b"]}))
    new = _rows(con, rsa(CampaignStructure.from_dict(LEGACY).to_dict(), variation_sources={"v": ["a", "b"]}))
    assert [(r["__row"], r["__variation"]) for r in legacy] == [(r, v) for r in range(4) for v in (0, 1)]
    assert legacy == new


@pytest.mark.parametrize(("structure", "message"), [
    ({"campaign": "x", "ad_groups": []}, "give at least one ad group"),
    ({"campaign": "x", "ad_groups": [{"name": " "}]}, "ad group 1 needs a name template"),
    ({"campaign": "x", "ad_groups": [{"name": "g", "ads": []}]}, "ad group 1: give at least one ad"),
    ({"campaign": "x", "ad_groups": [{"name": "g", "colour": 1}]}, r"ad group 1: unknown key\(s\) colour"),
    ({"campaign": "x", "ad_groups": [{"name": "g", "ads": [{"templates": {"headline_1": 3}}]}]},
     "ad group 1, ad 1: templates must map a field"),
    ({"campaign": "x", "ad_groups": [{"name": "g", "keywords": ["k"], "match_types": ["Fuzzy"]}]},
     "ad group 1: match types must be some of Broad, Phrase, Exact, not 'Fuzzy'"),
    ({"campaign": "x", "ad_group": "g", "ad_groups": [{"name": "g"}]}, "give either ad_groups or ad_group"),
    ({"campaign": "x", "ad_groups": [{"name": f"g{i}", "ads": [{}] * 10} for i in range(6)]},
     "60 ads per row .* over the limit of 50"),
    ({"campaign": "x", "ad_groups": "g"}, "ad_groups must be a list"),
])
def test_a_bad_hierarchy_is_refused_saying_where(structure: dict[str, Any], message: str) -> None:
    with pytest.raises(EngineError, match=message):
        GenerationConfig.from_dict(rsa(structure))


@pytest.mark.parametrize(("ads", "message"), [
    ([{"templates": {"headline_9x": "x"}}], "ad group 1, ad 1: Google responsive search ad has no field 'headline_9x'; did you mean 'headline_9'"),
    ([{}, {"templates": {"headline_4": "four"}}], None),  # an optional field only one ad sets: empty for the others
])
def test_ad_templates_are_checked_against_the_format(con: duckdb.DuckDBPyConnection, ads: list[dict[str, Any]],
                                                    message: str | None) -> None:
    structure = {"campaign": "c", "ad_groups": [{"name": "g", "ads": ads}]}
    if message is None:
        rows = _rows(con, rsa(structure))
        assert [r["headline_4"] for r in rows[:2]] == ["", "four"]
        return
    with pytest.raises(EngineError, match=message):
        _rows(con, rsa(structure))


def test_a_required_field_missing_from_an_ad_without_a_set_template_is_named(con: duckdb.DuckDBPyConnection) -> None:
    templates = {k: v for k, v in RSA.items() if k != "headline_3"}
    structure = {"campaign": "c", "ad_groups": [{"name": "g", "ads": [{"templates": {"headline_3": "x"}}, {}]}]}
    with pytest.raises(EngineError, match="needs a template for 'headline_3' in ad group 1, ad 2"):
        _rows(con, {**rsa(structure), "templates": templates})


# -- slots, grouping and merging --------------------------------------------------------------------

def test_every_row_makes_each_ad_of_each_ad_group_with_stable_variation_indexes(con: duckdb.DuckDBPyConnection) -> None:
    rows = _rows(con, rsa(TWO_GROUPS, variation_sources={"v": ["a", "b"]}))
    first = [(r["__variation"], r["ad_group_name"], r["headline_1"]) for r in rows if r["__row"] == 0]
    assert first == [(0, "Runner", "Runner"), (1, "Runner", "Buy Runner"), (2, "All Shoes", "All Shoes"),
                     (3, "Runner", "Runner"), (4, "Runner", "Buy Runner"), (5, "All Shoes", "All Shoes")]
    assert len(rows) == 4 * 3 * 2 and len({(r["__row"], r["__variation"]) for r in rows}) == len(rows)
    assert rows == _rows(con, rsa(TWO_GROUPS, variation_sources={"v": ["a", "b"]}))  # same ids every time


@pytest.mark.parametrize(("groups", "expected"), [
    # (ad-group name templates) → {campaign: {ad group: ads}} in first-seen order
    (["{{ name }}"], {"Shoes": {"Runner": 2, "Trail  Runner": 1}, "Tents": {"Dome": 1}}),
    (["{{ name }}", "All {{ category }}"],
     {"Shoes": {"Runner": 2, "All Shoes": 3, "Trail  Runner": 1}, "Tents": {"Dome": 1, "All Tents": 1}}),
    (["Same", "Same"], {"Shoes": {"Same": 6}, "Tents": {"Same": 2}}),  # two definitions rendering one name merge
    (["{{ category }}"], {"Shoes": {"Shoes": 3}, "Tents": {"Tents": 1}}),
])
def test_ad_groups_are_formed_by_their_rendered_names_within_a_campaign(con: duckdb.DuckDBPyConnection,
                                                                        groups: list[str],
                                                                        expected: dict[str, dict[str, int]]) -> None:
    structure = {"campaign": "{{ category }}", "ad_groups": [{"name": g} for g in groups]}
    with build_plan(DATA, rsa(structure), connection=con) as plan:
        tree = structure_of(plan)
    assert tree is not None
    assert {c.name: {g.name: g.ads for g in c.ad_groups} for c in tree.branches} == expected
    assert [list(c) for c in expected.values()] == [[g.name for g in c.ad_groups] for c in tree.branches]
    assert (tree.campaigns, tree.ad_groups, tree.ads) == (len(expected), sum(map(len, expected.values())), 4 * len(groups))


# -- dedup and empty groups -------------------------------------------------------------------------

@pytest.mark.parametrize(("dedup", "ads", "before", "empty"), [
    ([], 12, 12, 0),
    (["headline_1"], 8, 12, 0),  # Runner's second row repeats its two ads; "All Shoes" keeps its first
    (["headline_2"], 2, 12, 3),  # "Shop Shoes" / "Shop Tents" once each: every later ad group is emptied
])
def test_dedup_removes_ads_and_keeps_their_groups_empty(con: duckdb.DuckDBPyConnection, dedup: list[str], ads: int,
                                                        before: int, empty: int) -> None:
    with build_plan(DATA, rsa(TWO_GROUPS, dedup_fields=dedup), connection=con) as plan:
        tree = structure_of(plan)
        records = [{k: v for k, v in r.items() if not k.startswith("__")} for r in plan.to_arrow().to_pylist()]
        removed = plan.query(f"SELECT * FROM ({plan.compiled.ledger_sql()}) WHERE \"__duplicate\"").to_pylist()
    assert tree is not None
    assert (tree.ads, tree.ads_before, tree.empty_ad_groups) == (ads, before, empty)
    assert (tree.campaigns, tree.ad_groups) == (2, 5)  # groups and campaigns survive dedup
    assert tree.totals()["before"]["ads"] == before and tree.totals()["after"]["ads"] == ads
    for c in tree.branches:  # the emptied groups of a campaign follow its others, by name
        flags = [g.empty for g in c.ad_groups]
        assert flags == sorted(flags) and [g.name for g in c.ad_groups if g.empty] == sorted(
            g.name for g in c.ad_groups if g.empty)
    # a stored set (kept variations + the skeleton its run records) gives the very same tree
    stored = build_structure(records, CampaignStructure.from_dict(TWO_GROUPS), ad_label="headline_1",
                             duplicates=skeleton_records(duplicate_skeleton(removed)))
    assert stored == tree


def test_a_campaign_emptied_by_dedup_survives(con: duckdb.DuckDBPyConnection) -> None:
    structure = {"campaign": "{{ category }}", "ad_groups": [{"name": "{{ name }}", "ads": [{"templates": {
        "headline_1": "Same headline"}}]}]}
    with build_plan(DATA, rsa(structure, dedup_fields=["headline_1"]), connection=con) as plan:
        tree = structure_of(plan)
    assert tree is not None
    assert (tree.campaigns, tree.empty_campaigns, tree.ad_groups, tree.empty_ad_groups, tree.ads) == (2, 1, 3, 2, 1)
    assert [(c.name, c.empty) for c in tree.branches] == [("Shoes", False), ("Tents", True)]


# -- keywords ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "keep_case", "keywords", "negatives"), [
    ("phrase: Running  Shoes\nexact: Running Shoes", False, [("running shoes", "Phrase"), ("running shoes", "Exact")], []),
    ("broad:   TRAIL\tshoes  ", True, [("TRAIL shoes", "Broad")], []),
    ("phrase: \nexact:   ", False, [], []),  # a pattern that renders empty gives no keyword
    ("-exact: Used\n-phrase: -cheap", False, [], [("used", "Exact"), ("cheap", "Phrase")]),
    ("phrase: two\nlines", False, [("two lines", "Phrase")], []),  # data holding a newline stays one keyword
    ("Runner\nbuy Runner", False, [("runner", "Phrase"), ("buy runner", "Phrase")], []),  # an older set's lines
])
def test_keyword_lines_are_read_with_their_match_types_and_normalised(value: str, keep_case: bool,
                                                                     keywords: list[tuple[str, str]],
                                                                     negatives: list[tuple[str, str]]) -> None:
    assert parse_keywords(value, ("Phrase",), keep_case=keep_case) == (keywords, negatives)


@pytest.mark.parametrize(("keep_case", "keywords"), [
    (False, [("runner", "Phrase"), ("runner", "Exact"), ("buy runner", "Phrase"), ("buy runner", "Exact")]),
    (True, [("Runner", "Phrase"), ("Runner", "Exact"), ("buy Runner", "Phrase"), ("buy Runner", "Exact")]),
])
def test_keywords_are_deduplicated_per_ad_group_by_keyword_and_match_type(con: duckdb.DuckDBPyConnection,
                                                                         keep_case: bool,
                                                                         keywords: list[tuple[str, str]]) -> None:
    with build_plan(DATA, rsa({**TWO_GROUPS, "keep_case": keep_case}), connection=con) as plan:
        tree = structure_of(plan)
    assert tree is not None
    runner = tree.branches[0].ad_groups[0]
    assert runner.name == "Runner" and list(runner.keywords) == keywords
    assert runner.negatives == ((("used Runner" if keep_case else "used runner"), "Exact"),)
    all_shoes = tree.branches[0].ad_groups[1]
    assert all_shoes.keywords == ((("Shoes" if keep_case else "shoes"), "Broad"),)
    # rendered: Runner 2 rows × 2 ads × 4, Trail 1 × 2 × 4, Dome 1 × 2 × 4; All Shoes 3 × 1, All Tents 1
    assert (tree.keywords_before, tree.keywords) == (32 + 4, 4 + 4 + 4 + 1 + 1)
    assert tree.negative_keywords == 2 * 1 + 3  # "free" in both campaigns; one rendered negative per named group


def test_the_tree_builder_reads_a_stored_value_without_leads_with_the_structure_match_types() -> None:
    tree = build_tree([{"campaign_name": "c", "ad_group_name": "g", "keywords": "Shoes\nshoes "}],
                      match_types=("Broad", "Exact"))
    assert list(tree.campaigns["c"].groups["g"].keywords) == [("shoes", "Broad"), ("shoes", "Exact")]


# -- the bulk files write the same tree -------------------------------------------------------------

def _bulk(con: duckdb.DuckDBPyConnection, export: str, config: dict[str, Any]) -> tuple[Any, list[dict[str, str]]]:
    with build_plan(DATA, config, connection=con) as plan:
        records = [{k: v for k, v in r.items() if not k.startswith("__")} for r in plan.to_arrow().to_pylist()]
        removed = plan.query(f"SELECT * FROM ({plan.compiled.ledger_sql()}) WHERE \"__duplicate\"").to_pylist()
        tree = structure_of(plan)
    bulk = build_bulk_file(export, export, records, structure_input(config["platform"], config["structure"]),
                           duplicates=skeleton_records(duplicate_skeleton(removed)))
    return tree, [{**r.cells, "kind": r.kind} for r in bulk.rows] + [{"note": n} for n in bulk.notes]


def test_the_google_file_has_the_rows_of_each_level_and_keeps_emptied_ad_groups(con: duckdb.DuckDBPyConnection) -> None:
    tree, rows = _bulk(con, "google_ads_editor_csv", rsa(TWO_GROUPS, dedup_fields=["headline_2"]))
    assert tree is not None
    kinds = [r.get("kind") for r in rows]
    assert kinds.count("campaign") == tree.campaigns == 2
    assert kinds.count("ad group") == tree.ad_groups == 5
    assert kinds.count("ad") == tree.ads == 2
    assert kinds.count("keyword") == tree.keywords
    assert kinds.count("campaign negative keyword") + kinds.count("ad group negative keyword") == tree.negative_keywords
    groups = [(r["Campaign"], r["Ad group"]) for r in rows if r.get("kind") == "ad group"]
    assert groups == [("Shoes", "Runner"), ("Shoes", "All Shoes"), ("Shoes", "Trail  Runner"), ("Tents", "Dome"),
                      ("Tents", "All Tents")]
    assert ("Shoes", "Trail  Runner", "trail runner", "Exact") in [
        (r["Campaign"], r["Ad group"], r["Keyword"], r["Criterion Type"]) for r in rows if r.get("kind") == "keyword"]
    assert "3 ad group(s) have no ad left after dedup" in rows[-1]["note"]


def test_the_meta_file_names_the_ad_sets_it_cannot_hold(con: duckdb.DuckDBPyConnection) -> None:
    config = {"platform": "meta", "format": "feed_ad", "dedup_fields": ["headline"],
              "templates": {"primary_text": "Meet {{ name }}", "headline": "{{ category }}", "link": "{{ url }}"},
              "structure": {"campaign": "All", "ad_groups": [{"name": "{{ name }}", "ads": [{}, {"name": "B {{ name }}"}]}]}}
    tree, rows = _bulk(con, "meta_ads_manager_csv", config)
    assert tree is not None and tree.ads == 2 and tree.empty_ad_groups == 1
    ads = [r for r in rows if r.get("kind") == "ad"]
    assert [(r["Ad Set Name"], r["Ad Name"]) for r in ads] == [("Runner", "Runner — ad 1"), ("Dome", "Dome — ad 1")]
    assert "1 ad set(s) have no ad left after dedup (All / Trail  Runner)" in rows[-1]["note"]
    assert "not in the file" in rows[-1]["note"]


def test_the_csv_of_a_multi_ad_structure_reads_back_per_level(con: duckdb.DuckDBPyConnection) -> None:
    config = rsa(TWO_GROUPS)
    with build_plan(DATA, config, connection=con) as plan:
        records = [{k: v for k, v in r.items() if not k.startswith("__")} for r in plan.to_arrow().to_pylist()]
    bulk = build_bulk_file("google_ads_editor_csv", "Editor", records, structure_input("google", TWO_GROUPS))
    bulk.check("google")
    read = list(csv.DictReader(io.StringIO(bulk.to_bytes().decode("utf-8-sig"))))
    ads = [r for r in read if r["Ad type"]]
    assert [(r["Ad group"], r["Headline 1"]) for r in ads][:5] == [
        ("Runner", "Runner"), ("Runner", "Buy Runner"), ("Runner", "Runner"), ("Runner", "Buy Runner"),
        ("All Shoes", "All Shoes")]
    negatives = [(r["Ad group"], r["Keyword"], r["Criterion Type"]) for r in read if r["Criterion Type"].startswith("Negative")]
    assert negatives[:2] == [("", "free", "Negative Phrase"), ("Runner", "used runner", "Negative Exact")]
    _ = preview  # the same plan the preview reads (structure_of)


def test_inline_variations_in_an_ads_own_template_expand_that_ad_only(con: duckdb.DuckDBPyConnection) -> None:
    """`[[a|b]]` in ad 2's headline makes two ads of that slot per row; ad 1 and the names stay single."""
    structure = {"campaign": "{{ category }}", "ad_groups": [{"name": "[[x|y]] {{ name }}", "ads": [
        {}, {"templates": {"headline_1": "[[Buy|Get]] {{ name }}"}}]}]}
    rows = _rows(con, rsa(structure))
    first = [(r["ad_group_name"], r["headline_1"]) for r in rows if r["__row"] == 0]
    assert first == [("[[x|y]] Runner", "Runner"), ("[[x|y]] Runner", "Buy Runner"), ("[[x|y]] Runner", "Get Runner")]
    assert len({(r["__row"], r["__variation"]) for r in rows}) == len(rows) == 4 * 3
    with build_plan(DATA, rsa(structure), connection=con) as plan:
        tree = structure_of(plan)
        stats = preview(plan, 50).stats
    assert tree is not None and stats is not None and tree.ads == stats.kept == 12


@pytest.mark.parametrize("pattern", ["{{ name -}}", "{% if name %}{{ name }}{% endif -%}", "{{- name }}"])
def test_whitespace_control_in_a_keyword_pattern_keeps_one_keyword_a_line(con: duckdb.DuckDBPyConnection,
                                                                          pattern: str) -> None:
    structure = {"campaign": "c", "ad_groups": [{"name": "g", "keywords": [pattern, "buy {{ name }}"],
                                                 "match_types": ["Phrase", "Exact"]}]}
    with build_plan(DATA.head(1), rsa(structure), connection=con) as plan:
        tree = structure_of(plan)
    assert tree is not None
    assert list(tree.branches[0].ad_groups[0].keywords) == [
        ("runner", "Phrase"), ("runner", "Exact"), ("buy runner", "Phrase"), ("buy runner", "Exact")]
