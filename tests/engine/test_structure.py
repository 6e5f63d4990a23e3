"""Campaign structure of paid formats: config, plan columns, the tree, bulk rows, the checker, formula cells."""

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
from engine.generation.structure import (
    CampaignStructure,
    build_structure,
    default_structure,
    keyword_lines,
    normalise_keyword,
    structure_input,
)
from engine.platforms.bulk_files import BulkFileRefused, build_bulk_file, safe_cell

DATA = pl.DataFrame({
    "category": ["shoes", "shoes", "tents", "shoes", None],
    "name": ["Runner", "Trail  Runner", "Dome", "Runner", "Mystery"],
    "url": ["https://x.co/r", "https://x.co/t", "https://x.co/d", "https://x.co/r2", "https://x.co/m"],
})
RSA_TEMPLATES = {"headline_1": "{{ name }}", "headline_2": "Shop {{ category | default('all') }}",
                 "headline_3": "Free returns", "description_1": "Great {{ name }}.", "description_2": "Order today.",
                 "final_url": "{{ url }}"}
STRUCTURE = {"campaign": "{{ category | default('General') }}", "ad_group": "{{ name }}",
             "keywords": ["{{ name }}", "buy {{ name }}"], "match_types": ["Phrase", "Exact"],
             "negatives": [{"keyword": "  FREE   stuff ", "match_type": "Phrase", "level": "campaign"},
                           {"keyword": "free stuff", "match_type": "Phrase", "level": "campaign"},
                           {"keyword": "-cheap", "match_type": "Exact", "level": "ad_group"}]}


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    return connect()


def rsa(**extra: Any) -> dict[str, Any]:
    return {"platform": "google", "format": "responsive_search_ad", "templates": RSA_TEMPLATES,
            "structure": STRUCTURE, **extra}


@pytest.mark.parametrize(("raw", "normalised"), [
    ("  Running   Shoes ", "running shoes"), ("TRAIL\tshoes\n", "trail shoes"), ("", ""), ("   ", ""),
    ("Straße", "straße"),
])
def test_keywords_are_trimmed_collapsed_and_lowercased(raw: str, normalised: str) -> None:
    assert normalise_keyword(raw) == normalised


def test_negatives_are_normalised_and_deduplicated_by_keyword_and_match_type() -> None:
    cs = CampaignStructure.from_dict(STRUCTURE)
    assert [(n.keyword, n.match_type, n.level) for n in cs.negatives] == [
        ("free stuff", "Phrase", "campaign"), ("cheap", "Exact", "ad_group")]
    assert keyword_lines("Runner\n\n  buy   RUNNER \n") == ["runner", "buy runner"]


@pytest.mark.parametrize(("structure", "message"), [
    ({**STRUCTURE, "match_types": ["Fuzzy"]}, "match types must be some of Broad, Phrase, Exact"),
    ({**STRUCTURE, "campaign": "  "}, "campaign name template"),
    ({**STRUCTURE, "negatives": [{"keyword": "x", "match_type": "Negative"}]}, "match type must be one of"),
    ({**STRUCTURE, "settings": {"campaign": {"budget": "lots"}}}, "Daily budget: 'lots' is not an amount"),
    ({**STRUCTURE, "settings": {"campaign": {"status": "On"}}}, "'On' is not one of Enabled, Paused"),
    ({**STRUCTURE, "settings": {"campaign": {"color": "red"}}}, "no campaign setting 'color'"),
    ({**STRUCTURE, "colour": 1}, "unknown key"),
])
def test_a_bad_structure_is_refused_with_what_to_change(structure: dict[str, Any], message: str) -> None:
    with pytest.raises(EngineError, match=message):
        GenerationConfig.from_dict(rsa(structure=structure))


def test_plan_renders_names_and_keywords_and_requires_names(con: duckdb.DuckDBPyConnection) -> None:
    blank_names = {**STRUCTURE, "campaign": "{{ category }}"}  # empty for the last row
    with build_plan(DATA, rsa(structure=blank_names), connection=con) as plan:
        result = preview(plan, 10)
    rows = result.variations.to_dicts()
    assert [r["campaign_name"] for r in rows] == ["shoes", "shoes", "tents", "shoes"]
    assert rows[0]["keywords"] == "phrase: Runner\nexact: Runner\nphrase: buy Runner\nexact: buy Runner"
    assert result.stats is not None and result.stats.over_limit["campaign_name"] == 1  # a nameless ad is not generated


def test_structure_tree_counts_and_first_branches(con: duckdb.DuckDBPyConnection) -> None:
    with build_plan(DATA, rsa(), connection=con) as plan:
        tree = structure_of(plan)
    assert tree is not None
    assert (tree.campaigns, tree.ad_groups, tree.ads) == (3, 4, 5)
    # runner ×2 ads share keywords; trail runner; dome; mystery: 4 groups × 2 keywords × 2 match types
    assert tree.keywords == 16
    assert tree.negative_keywords == 1 * 3 + 1 * 4
    shoes = tree.first(1, 5)[0]
    assert shoes.name == "shoes" and [g.name for g in shoes.ad_groups] == ["Runner", "Trail  Runner"]
    assert shoes.ad_groups[0].ads == 2 and shoes.ad_groups[0].first_ads == ("Runner", "Runner")
    assert shoes.ad_groups[1].keywords[:2] == (("trail runner", "Phrase"), ("trail runner", "Exact"))


def _read(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def _records(con: duckdb.DuckDBPyConnection, config: dict[str, Any]) -> list[dict[str, Any]]:
    with build_plan(DATA, config, connection=con) as plan:
        return [{k: v for k, v in r.items() if not k.startswith("__")} for r in plan.to_arrow().to_pylist()]


def test_google_editor_file_has_every_row_type_with_parents_filled(con: duckdb.DuckDBPyConnection) -> None:
    cfg = rsa()
    bulk = build_bulk_file("google_ads_editor_csv", "Google Ads Editor (CSV)", _records(con, cfg),
                           structure_input("google", cfg["structure"]))
    bulk.check("google")
    rows = _read(bulk.to_bytes())
    kinds = [r.kind for r in bulk.rows]
    assert kinds[:6] == ["campaign", "campaign negative keyword", "ad group", "ad group negative keyword",
                         "keyword", "keyword"]
    assert kinds.count("campaign") == 3 and kinds.count("ad group") == 4 and kinds.count("ad") == 5
    assert kinds.count("keyword") == 16
    campaign = rows[0]
    assert (campaign["Campaign"], campaign["Campaign type"], campaign["Budget"], campaign["Campaign Status"]) == (
        "shoes", "Search", "10.00", "Paused")
    assert rows[1]["Keyword"] == "free stuff" and rows[1]["Criterion Type"] == "Negative Phrase" and not rows[1]["Ad group"]
    assert all(r["Campaign"] for r in rows)
    ads = [r for r in rows if r["Ad type"] == "Responsive search ad"]
    assert all(r["Ad group"] and r["Headline 1"] and r["Final URL"] for r in ads)
    keywords = [(r["Ad group"], r["Keyword"], r["Criterion Type"]) for r in rows if r["Criterion Type"] in ("Phrase", "Exact")]
    assert keywords[:4] == [("Runner", "runner", "Phrase"), ("Runner", "runner", "Exact"),
                            ("Runner", "buy runner", "Phrase"), ("Runner", "buy runner", "Exact")]


def test_meta_file_repeats_parents_and_is_refused_without_a_page(con: duckdb.DuckDBPyConnection) -> None:
    cfg = {"platform": "meta", "format": "feed_ad",
           "templates": {"primary_text": "Meet {{ name }}", "headline": "{{ name }}", "link": "{{ url }}"},
           "structure": {"campaign": "{{ category | default('General') }}", "ad_group": "{{ name }}"}}
    records = _records(con, cfg)
    bulk = build_bulk_file("meta_ads_manager_csv", "Meta bulk import", records, structure_input("meta", cfg["structure"]))
    with pytest.raises(BulkFileRefused) as refused:
        bulk.check("meta")
    message = str(refused.value)
    assert "'Link Object ID' is empty on 5 ad row(s) (line 2, 3, 4, 5, 6)" in message
    assert "set Facebook Page in the ad group / ad set settings" in message
    assert "'Image Hash or Image File Name' is empty" in message
    settings = {"ad_group": {"page": "o:123456789"}, "ad": {"image_file_name": "shoes_1x1.jpg"}}
    ok = build_bulk_file("meta_ads_manager_csv", "Meta", records, structure_input("meta", {**cfg["structure"], "settings": settings}))
    ok.check("meta")
    rows = _read(ok.to_bytes())
    assert [r["Ad Name"] for r in rows][:3] == ["Runner — ad 1", "Runner — ad 2", "Trail  Runner — ad 1"]
    assert all(r["Campaign Name"] and r["Campaign Objective"] == "OUTCOME_TRAFFIC" and r["Link Object ID"] == "o:123456789"
               and r["Call to Action"] == "LEARN_MORE" for r in rows)


def test_an_export_without_names_is_refused_with_the_rows() -> None:
    records = [{"headline_1": "A", "headline_2": "B", "headline_3": "C", "description_1": "D", "description_2": "E",
                "final_url": "https://x.co"}]
    bulk = build_bulk_file("google_ads_editor_csv", "Google Ads Editor (CSV)", records, structure_input("google", None))
    with pytest.raises(BulkFileRefused, match=r"'Campaign' is empty on 1 campaign row\(s\) \(line 2\): give the campaign "
                                              r"structure a campaign name template"):
        bulk.check("google")


@pytest.mark.parametrize(("value", "safe"), [
    ("=HYPERLINK(\"http://evil\")", "'=HYPERLINK(\"http://evil\")"), ("+1", "'+1"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("plain", "plain"), ("a=b", "a=b"), (None, ""),
])
def test_no_cell_starts_a_formula(value: Any, safe: str) -> None:
    assert safe_cell(value) == safe


def test_headers_and_cells_of_a_bulk_file_are_neutralised(con: duckdb.DuckDBPyConnection) -> None:
    data = DATA.with_columns(pl.lit("=cmd()").alias("category"))
    with build_plan(data, rsa(), connection=con) as plan:
        records = [{k: v for k, v in r.items() if not k.startswith("__")} for r in plan.to_arrow().to_pylist()]
    bulk = build_bulk_file("google_ads_editor_csv", "Editor", records, structure_input("google", STRUCTURE))
    rows = _read(bulk.to_bytes())
    assert {r["Campaign"] for r in rows} == {"'=cmd()"}


def test_defaults_come_from_the_data_columns() -> None:
    columns = [("id", "integer"), ("product_name", "text"), ("brand", "text"), ("category", "text")]
    got = default_structure("google/responsive_search_ad", columns)
    assert got["campaign"] == "{{ category | default('General') }}"
    group = got["ad_groups"][0]
    assert group["name"] == "{{ product_name | default('General') }}"
    assert group["keywords"] == ["{{ product_name }}"] and group["ads"] == [{"name": "", "templates": {}}]
    meta = default_structure("meta/feed_ad", columns)["ad_groups"][0]
    assert (meta["name"], meta["keywords"]) == ("{{ brand | default('General') }}", [])
    CampaignStructure.from_dict(got)  # valid as it stands


def test_tree_of_records_matches_the_plan(con: duckdb.DuckDBPyConnection) -> None:
    """The preview's tree (from the plan) and the export's grouping (from stored records) are the same code."""
    records = _records(con, rsa())
    from_records = build_structure(records, CampaignStructure.from_dict(STRUCTURE), ad_label="headline_1")
    with build_plan(DATA, rsa(), connection=con) as plan:
        assert structure_of(plan) == from_records


def test_negative_lines_use_google_notation() -> None:
    from engine.generation.structure import parse_keyword_lines

    got = parse_keyword_lines('free\n"used  Shoes"\n[Cheap]\n\n  -refund \n[]', "ad_group")
    assert [(n["keyword"], n["match_type"]) for n in got] == [
        ("free", "Broad"), ("used  Shoes", "Phrase"), ("Cheap", "Exact"), ("-refund", "Broad")]
    cs = CampaignStructure.from_dict({**STRUCTURE, "negatives": got})
    assert [(n.keyword, n.match_type) for n in cs.negatives] == [
        ("free", "Broad"), ("used shoes", "Phrase"), ("cheap", "Exact"), ("refund", "Broad")]


def test_engine_export_neutralises_formula_cells(con: duckdb.DuckDBPyConnection, tmp_path: Any) -> None:
    from engine.generation import write_export

    data = pl.DataFrame({"name": ["=1+1", "@SUM(A1)"]})
    cfg = GenerationConfig(platform="meta", format="feed_ad",
                           templates={"primary_text": "{{ name }}", "headline": "{{ name }}", "link": "https://x.co"})
    path = tmp_path / "meta.csv"
    with build_plan(data, cfg, connection=con) as plan:
        assert write_export(plan, path, "meta_ads_manager_csv") == 2
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert [r["Body"] for r in rows] == ["'=1+1", "'@SUM(A1)"]


def test_engine_export_of_a_structured_plan_is_the_checked_bulk_file(con: duckdb.DuckDBPyConnection, tmp_path: Any) -> None:
    from engine.generation import write_export

    path = tmp_path / "editor.csv"
    with build_plan(DATA, rsa(), connection=con) as plan:
        written = write_export(plan, path, "google_ads_editor_csv")
    rows = _read(path.read_bytes())
    assert written == len(rows) == 3 + 3 + 4 + 4 + 16 + 5  # campaigns, their negatives, groups, theirs, keywords, ads
    meta = {"platform": "meta", "format": "feed_ad", "structure": {"campaign": "All", "ad_group": "{{ name }}"},
            "templates": {"primary_text": "{{ name }}", "headline": "{{ name }}", "link": "{{ url }}"}}
    with build_plan(DATA, meta, connection=con) as plan, pytest.raises(BulkFileRefused, match="Link Object ID"):
        write_export(plan, tmp_path / "meta.csv", "meta_ads_manager_csv")
