"""Variations of a set: paging and filters, approve/reject, edits, exports (safe cells, platform bulk files)."""

from __future__ import annotations

import csv
import io
import json
import uuid

import polars as pl
import pytest

from studio import auth, campaigns, datasets, variations
from studio.context import Context
from studio.errors import ValidationFailed
from studio.variations import VariationFilter

CSV = (b"name,price,city,url\n"
       b"=HYPERLINK(\"http://evil\"),10,Oslo,https://shop.example.com/a\n"
       b"Trail Shoe,129,Bergen,https://shop.example.com/b\n"
       b"City Boot,89,,https://shop.example.com/c\n"
       b"An extraordinarily long product name that will not fit,99,Oslo,https://shop.example.com/d\n")
THREAD = {"platform": "reddit", "format": "thread",
          "templates": {"subreddit": "deals", "title": "{{ name }} in {{ city | default('town') }}", "body": "${{ price }}"}}
RSA = {"platform": "google", "format": "responsive_search_ad",
       "templates": {"headline_1": "{{ name }}", "headline_2": "From ${{ price }}", "headline_3": "Shop now",
                     "description_1": "Great {{ name }} in {{ city | default('town') }}.", "description_2": "Free returns.",
                     "final_url": "{{ url }}"},
       "hierarchy": {"campaign": "Shoes", "ad_group": "{{ name }}"}}


@pytest.fixture()
def generated(sqlite_store, monkeypatch):
    monkeypatch.setenv("DOTORO_HOME", str(sqlite_store.settings.home))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    account, ws = auth.sign_up(sqlite_store, f"v{uuid.uuid4().hex[:6]}@example.com", "Vi", "longenough")
    ctx = Context(user_id=account.id, workspace_id=ws)
    ds = datasets.upload(sqlite_store, ctx, "items.csv", CSV)

    def make(config):
        set_id = campaigns.create(sqlite_store, ctx, "set", ds.id, config)
        campaigns.generate(sqlite_store, ctx, set_id)  # embedded mode: runs in-process
        return set_id
    return sqlite_store, ctx, make


def test_paging_filters_approve_and_edit(generated):
    store, ctx, make = generated
    set_id = make(THREAD)
    page = variations.page(store, ctx, set_id, VariationFilter(), offset=0, limit=2)
    assert page.total == 4 and [r["row"] for r in page.rows] == [1, 2]
    assert variations.page(store, ctx, set_id, VariationFilter(search="boot")).total == 1
    n = variations.set_status(store, ctx, set_id, "approved", f=VariationFilter(search="o"))
    assert n == variations.page(store, ctx, set_id, VariationFilter(status="approved")).total > 0
    first = variations.page(store, ctx, set_id, VariationFilter()).rows[1]
    variations.edit(store, ctx, first["id"], {"title": "Hand edit"})
    again = variations.page(store, ctx, set_id, VariationFilter(search="Hand edit")).rows
    assert again and again[0]["edited"] is True


def test_csv_json_and_excel_exports_neutralise_formulas(generated):
    store, ctx, make = generated
    set_id = make(THREAD)
    text = variations.export(store, ctx, set_id, VariationFilter(), "csv").decode("utf-8-sig")
    cells = [c for row in csv.reader(io.StringIO(text)) for c in row]
    assert not any(c[:1] in ("=", "+", "-", "@") for c in cells)
    assert "'=HYPERLINK(\"http://evil\") in Oslo" in cells
    rows = json.loads(variations.export(store, ctx, set_id, VariationFilter(), "json"))
    assert len(rows) == 4 and rows[0]["title"].startswith("=HYPERLINK")  # JSON is data, not a spreadsheet
    sheet = pl.read_excel(io.BytesIO(variations.export(store, ctx, set_id, VariationFilter(), "xlsx")))
    assert not any(str(v).startswith("=") for v in sheet["title"].to_list())


def test_google_ads_editor_file_is_checked_against_limits_first(generated):
    store, ctx, make = generated
    set_id = make({**RSA, "constraint_strategy": "truncate"})
    assert "google_ads_editor_csv" in variations.bulk_exports(store, ctx, set_id)
    data = variations.export_bulk(store, ctx, set_id, "google_ads_editor_csv", VariationFilter())
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert [r["Headline 1"] for r in rows][1:3] == ["Trail Shoe", "City Boot"]
    assert all(len(r["Headline 1"]) <= 30 for r in rows)
    assert rows[0]["Headline 1"].startswith("'=")
    first = variations.page(store, ctx, set_id, VariationFilter()).rows[1]
    variations.edit(store, ctx, first["id"], {"headline_1": "x" * 31})
    with pytest.raises(ValidationFailed, match=r"row 2, Headline 1: .*30"):
        variations.export_bulk(store, ctx, set_id, "google_ads_editor_csv", VariationFilter())
    with pytest.raises(ValidationFailed, match="is for meta"):
        variations.export_bulk(store, ctx, set_id, "meta_ads_manager_csv", VariationFilter())


def test_preview_cache_is_per_workspace_and_rechecks_access(sqlite_store):
    from studio import invitations, previews, workspaces
    from studio.context import Role
    from studio.errors import PermissionDenied

    owner, ows = auth.sign_up(sqlite_store, f"o{uuid.uuid4().hex[:6]}@example.com", "Ow", "longenough")
    octx = Context(user_id=owner.id, workspace_id=ows)
    ds = datasets.upload(sqlite_store, octx, "items.csv", CSV)
    guest, _ = auth.sign_up(sqlite_store, f"g{uuid.uuid4().hex[:6]}@example.com", "Gu", "longenough")
    invitations.accept(sqlite_store, invitations.invite(sqlite_store, octx, guest.email, Role.VIEWER).url.split("invite=")[1], guest)
    gctx = Context(user_id=guest.id, workspace_id=ows)
    cache = previews.PreviewCache()
    assert previews.run_preview(sqlite_store, gctx, ds.id, THREAD, cache=cache).preview.stats.kept == 4
    workspaces.remove_member(sqlite_store, octx, guest.id)
    with pytest.raises(PermissionDenied):
        previews.run_preview(sqlite_store, gctx, ds.id, THREAD, cache=cache)  # cached data, access re-checked


def test_each_preview_counts_as_an_api_call(sqlite_store):
    from studio import previews
    from studio.billing import Metric
    from studio.billing.usage import used

    account, ws = auth.sign_up(sqlite_store, f"m{uuid.uuid4().hex[:6]}@example.com", "Me", "longenough")
    ctx = Context(user_id=account.id, workspace_id=ws)
    ds = datasets.upload(sqlite_store, ctx, "items.csv", CSV)
    for _ in range(3):
        previews.run_preview(sqlite_store, ctx, ds.id, THREAD)
    with sqlite_store.session_scope(ctx) as s:
        assert used(s, Metric.API_CALLS) == 3


TAGGING = [
    {"id": "premium", "name": "Premium", "enabled": True, "priority": 1,
     "conditions": {"logic": "and", "items": [{"field": "price", "operator": "greater_than", "value": 95}]},
     "actions": [{"type": "add_tag", "params": {"tag": "premium 100%_"}},
                 {"type": "add_to_group", "params": {"group": "Ad group B"}}]},
    {"id": "nordic", "name": "Oslo", "enabled": True, "priority": 2,
     "conditions": {"logic": "and", "items": [{"field": "city", "operator": "equals", "value": "Oslo"}]},
     "actions": [{"type": "add_tag", "params": {"tag": "oslo"}}]},
]


def test_tags_and_groups_from_rules_are_kept_filterable_and_exported(generated):
    store, ctx, make = generated
    set_id = make({**THREAD, "rules": TAGGING})
    rows = variations.page(store, ctx, set_id, VariationFilter()).rows
    assert [(r["row"], r["tags"], r["groups"]) for r in rows] == [
        (1, ["oslo"], []), (2, ["premium 100%_"], ["Ad group B"]), (3, [], []),
        (4, ["premium 100%_", "oslo"], ["Ad group B"])]
    assert variations.labels(store, ctx, set_id) == ["Ad group B", "oslo", "premium 100%_"]
    assert variations.page(store, ctx, set_id, VariationFilter(tag="oslo")).total == 2
    assert variations.page(store, ctx, set_id, VariationFilter(tag="premium 100%_")).total == 2
    assert variations.page(store, ctx, set_id, VariationFilter(tag="Ad group B")).total == 2
    assert variations.page(store, ctx, set_id, VariationFilter(tag="premium 1")).total == 0  # whole labels only
    assert variations.page(store, ctx, set_id, VariationFilter(tag="%")).total == 0          # LIKE wildcards are text
    exported = list(csv.DictReader(io.StringIO(variations.export(store, ctx, set_id, VariationFilter(), "csv")
                                               .decode("utf-8-sig"))))
    assert exported[3]["tags"] == "premium 100%_; oslo" and exported[3]["groups"] == "Ad group B"
