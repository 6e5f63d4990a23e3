"""Paid formats on products_2k.csv: structure in the set's config → preview tree → generated set → bulk file
that a checker built from AD_BULK_FORMATS.md accepts (Google Ads Editor, Meta Ads Manager)."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

import pytest

from engine.platforms.bulk_files import REQUIRED
from studio import auth, campaigns, datasets, variations
from studio.context import Context
from studio.errors import ValidationFailed
from studio.variations import VariationFilter
from tests.studio.test_preview_equals_generated import check_preview_equals_generated

RSA = {
    "platform": "google", "format": "responsive_search_ad", "constraint_strategy": "truncate",
    "templates": {"headline_1": "{{ product_name }}", "headline_2": "{{ brand | default('Top brands') }} deals",
                  "headline_3": "Free returns", "description_1": "{{ description }} {{ description }}",
                  "description_2": "Order today.", "final_url": "{{ url }}"},
    "structure": {"campaign": "Shop — {{ category | default('General') }}", "ad_group": "{{ brand | default('Other') }}",
                  "keywords": ["{{ product_name }}", "{{ category }} {{ brand }}"], "match_types": ["Phrase", "Exact"],
                  "negatives": [{"keyword": "Free", "match_type": "Phrase", "level": "campaign"},
                                {"keyword": " used  ", "match_type": "Exact", "level": "ad_group"}],
                  "settings": {"campaign": {"budget": "25.00"}, "ad_group": {"max_cpc": "0.80"}}},
}
META = {
    "platform": "meta", "format": "feed_ad", "constraint_strategy": "skip",
    "templates": {"primary_text": "{{ description }}", "headline": "{{ product_name | truncate(40) }}",
                  "description": "From {{ price }}", "link": "{{ url }}"},
    "structure": {"campaign": "{{ category | default('General') }} traffic", "ad_group": "{{ city | default('Everywhere') }}",
                  "settings": {"ad_group": {"page": "o:123456789", "countries": "US, CA"},
                               "ad": {"image_file_name": "product.jpg"}}},
}


@pytest.fixture()
def products(sqlite_settings, sqlite_store, shared_data, monkeypatch):
    monkeypatch.setenv("DOTORO_HOME", str(sqlite_settings.home))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    account, ws = auth.sign_up(sqlite_store, f"s{uuid.uuid4().hex[:6]}@example.com", "Str", "longenough")
    ctx = Context(user_id=account.id, workspace_id=ws)
    return sqlite_store, ctx, (shared_data / "products_2k.csv").read_bytes()


def _required_empty(export: str, data: bytes) -> list[str]:
    """The checker, independently: every required column of each row type, filled (AD_BULK_FORMATS.md)."""
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    empty = []
    for n, r in enumerate(rows, start=2):
        kind = _kind(export, r)
        for header in REQUIRED[export][kind]:
            options = header if isinstance(header, tuple) else (header,)
            if not any(r.get(h) for h in options):
                empty.append(f"line {n} ({kind}): {header}")
    return empty


def _kind(export: str, r: dict[str, str]) -> str:
    if export == "meta_ads_manager_csv":
        return "ad"
    if r["Ad type"]:
        return "ad"
    if r["Criterion Type"].startswith("Negative"):
        return "ad group negative keyword" if r["Ad group"] else "campaign negative keyword"
    if r["Keyword"]:
        return "keyword"
    return "ad group" if r["Ad group"] else "campaign"


@pytest.mark.parametrize(("config", "export"), [(RSA, "google_ads_editor_csv"), (META, "meta_ads_manager_csv")])
def test_paid_set_previews_its_structure_and_exports_a_file_the_checker_accepts(products, config: dict[str, Any],
                                                                                  export: str) -> None:
    store, ctx, data = products
    checked = check_preview_equals_generated(store, ctx, data, config)  # preview figures == generated set
    figures, tree = checked.figures, checked.structure
    assert figures["kept"] > 1000
    assert tree is not None and tree.ads == figures["kept"]
    assert tree.campaigns >= 2 and tree.ad_groups >= tree.campaigns
    print(f"\n{config['platform']}: preview {figures} · structure: {tree.campaigns} campaigns, {tree.ad_groups} ad groups, "
          f"{tree.ads} ads, {tree.keywords} keywords, {tree.negative_keywords} negatives")
    data_out = variations.export_bulk(store, ctx, checked.set_id, export, VariationFilter())
    assert _required_empty(export, data_out) == []
    rows = list(csv.DictReader(io.StringIO(data_out.decode("utf-8-sig"))))
    if export == "google_ads_editor_csv":
        kinds = [_kind(export, r) for r in rows]
        assert kinds.count("campaign") == tree.campaigns and kinds.count("ad group") == tree.ad_groups
        assert kinds.count("ad") == tree.ads and kinds.count("keyword") == tree.keywords
        assert kinds.count("campaign negative keyword") + kinds.count("ad group negative keyword") == tree.negative_keywords
        assert {r["Budget"] for r in rows if _kind(export, r) == "campaign"} == {"25.00"}
        assert {r["Keyword"] for r in rows if r["Criterion Type"] == "Negative Exact"} == {"used"}
    else:
        assert len(rows) == tree.ads
        assert {r["Countries"] for r in rows} == {"US, CA"} and all(r["Campaign Name"] and r["Ad Set Name"] for r in rows)


def test_meta_export_without_a_page_is_refused_with_the_rows(products) -> None:
    store, ctx, data = products
    ds = datasets.upload(store, ctx, "products.csv", data)
    config = {**META, "structure": {**META["structure"], "settings": {"ad": {"image_file_name": "p.jpg"}}}}
    set_id = campaigns.create(store, ctx, "No page", ds.id, config)
    campaigns.generate(store, ctx, set_id)
    with pytest.raises(ValidationFailed, match=r"'Link Object ID' is empty on [\d,]+ ad row\(s\) \(line 2, 3, .*"
                                               r"set Facebook Page in the ad group / ad set settings"):
        variations.export_bulk(store, ctx, set_id, "meta_ads_manager_csv", VariationFilter())


def test_structure_is_stored_with_the_set_and_refused_on_organic_formats(products) -> None:
    store, ctx, data = products
    ds = datasets.upload(store, ctx, "products.csv", data)
    set_id = campaigns.create(store, ctx, "RSA", ds.id, RSA)
    with store.session_scope(ctx) as s:
        assert campaigns.get(s, set_id).config["structure"]["campaign"].startswith("Shop — ")
    thread = {"platform": "reddit", "format": "thread", "templates": {"subreddit": "deals", "title": "{{ product_name }}"},
              "structure": {"campaign": "x", "ad_group": "y"}}
    with pytest.raises(ValidationFailed, match="not a paid-ad format"):
        campaigns.create(store, ctx, "Thread", ds.id, thread)
    with pytest.raises(ValidationFailed, match="Max CPC: 'cheap' is not an amount"):
        campaigns.validate_config({**RSA, "structure": {**RSA["structure"], "settings": {"ad_group": {"max_cpc": "cheap"}}}})
    defaults = campaigns.structure_defaults("google/responsive_search_ad",
                                           [(c.name, c.kind) for c in datasets.get_dataset(store, ctx, ds.id).columns])
    assert defaults is not None and defaults["campaign"] == "{{ category | default('General') }}"
    assert campaigns.structure_defaults("reddit/thread", []) is None


def test_an_rsa_variation_is_titled_by_its_first_headline_not_its_campaign(products) -> None:
    store, ctx, data = products
    checked = check_preview_equals_generated(store, ctx, data, RSA)
    page = variations.page(store, ctx, checked.set_id, VariationFilter(search="Vintage Poetry"), limit=5)
    assert page.total > 0 and all(r["headline_1"].startswith("Vintage Poetry") for r in page.rows)


MULTI = {
    "platform": "google", "format": "responsive_search_ad", "constraint_strategy": "truncate",
    "dedup_fields": ["headline_2"],
    "templates": {"headline_1": "{{ product_name }}", "headline_2": "{{ brand | default('Top brands') }} deals",
                  "headline_3": "Free returns", "description_1": "{{ description }}", "description_2": "Order today.",
                  "final_url": "{{ url }}"},
    "structure": {"campaign": "Shop — {{ category | default('General') }}", "keep_case": False,
                  "ad_groups": [
                      {"name": "{{ brand | default('Other') }}", "keywords": ["{{ product_name }}", "{{ brand }}  deals"],
                       "match_types": ["Phrase", "Exact"], "negatives": [{"keyword": "used {{ brand }}"}],
                       "ads": [{}, {"templates": {"headline_1": "Buy {{ product_name | truncate(20) }}",
                                                  "headline_2": "{{ category }} from {{ brand | default('us') }}"}}]},
                      {"name": "{{ city | default('Online') }}", "keywords": ["{{ category }} {{ city }}"],
                       "match_types": ["Broad"], "ads": [{"templates": {"headline_2": "Near {{ city | default('you') }}"}}]}],
                  "negatives": [{"keyword": "free", "match_type": "Phrase", "level": "campaign"}],
                  "settings": {"campaign": {"budget": "25.00"}, "ad_group": {"max_cpc": "0.80"}}},
}


def test_several_ad_groups_and_ads_per_row_preview_generate_and_export_the_same_tree(products) -> None:
    """Three ads a row in two ad groups; dedup on headline 2 empties most ad groups, which survive everywhere."""
    store, ctx, data = products
    small = b"\n".join(data.splitlines()[:301]) + b"\n"  # 300 rows: 900 variations
    checked = check_preview_equals_generated(store, ctx, small, MULTI)  # preview tree == the stored set's tree
    tree = checked.structure
    assert tree.ads_before == 900 - checked.figures["over_limit"] and tree.ads == checked.figures["kept"] < 300
    assert tree.empty_ad_groups > 0 and tree.ad_groups > tree.empty_ad_groups
    assert tree.keywords_before > tree.keywords > 0
    data_out = variations.export_bulk(store, ctx, checked.set_id, "google_ads_editor_csv", VariationFilter())
    assert _required_empty("google_ads_editor_csv", data_out) == []
    rows = list(csv.DictReader(io.StringIO(data_out.decode("utf-8-sig"))))
    kinds = [_kind("google_ads_editor_csv", r) for r in rows]
    assert (kinds.count("campaign"), kinds.count("ad group"), kinds.count("ad"), kinds.count("keyword")) == (
        tree.campaigns, tree.ad_groups, tree.ads, tree.keywords)
    assert kinds.count("campaign negative keyword") + kinds.count("ad group negative keyword") == tree.negative_keywords
    empty = {(c.name, g.name) for c in tree.branches for g in c.ad_groups if g.empty}
    with_ads = {(r["Campaign"], r["Ad group"]) for r in rows if _kind("google_ads_editor_csv", r) == "ad"}
    written = {(r["Campaign"], r["Ad group"]) for r in rows if _kind("google_ads_editor_csv", r) == "ad group"}
    assert empty <= written and not empty & with_ads  # emptied ad groups are in the file, without ads
    assert all(r["Keyword"] == r["Keyword"].lower() for r in rows if r["Keyword"])


def test_a_meta_export_says_which_ad_sets_dedup_left_out(products) -> None:
    """Meta makes ad sets only from ad rows: an ad set whose ads were all duplicates is named in the export's notes."""
    store, ctx, data = products
    small = b"\n".join(data.splitlines()[:61]) + b"\n"
    config = {**META, "dedup_fields": ["headline"], "templates": {**META["templates"], "headline": "{{ category | default('Misc') }}"},
              "structure": {"campaign": "All", "settings": META["structure"]["settings"],
                            "ad_groups": [{"name": "{{ city | default('Everywhere') }}", "ads": [{}, {"name": "B {{ city }}"}]}]}}
    checked = check_preview_equals_generated(store, ctx, small, config)
    tree = checked.structure
    assert tree.empty_ad_groups > 0
    data_out, notes = variations.export_bulk_noted(store, ctx, checked.set_id, "meta_ads_manager_csv", VariationFilter())
    rows = list(csv.DictReader(io.StringIO(data_out.decode("utf-8-sig"))))
    assert len(rows) == tree.ads and len({r["Ad Set Name"] for r in rows}) == tree.ad_groups - tree.empty_ad_groups
    assert len(notes) == 1 and notes[0].startswith(f"{tree.empty_ad_groups:,} ad set(s) have no ad left after dedup (All / ")
    assert "not in the file" in notes[0]
