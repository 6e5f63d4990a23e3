"""Variations of a set: paging and filters, approve/reject, edits, exports (safe cells, platform bulk files)."""

from __future__ import annotations

import csv
import io
import json
import uuid

import polars as pl
import pytest
from sqlalchemy import select

from studio import auth, campaigns, datasets, review, variations
from studio.context import Context
from studio.errors import ValidationFailed
from studio.store.campaign_models import Variation
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

    def make(config, set_id=None):
        set_id = set_id or campaigns.create(sqlite_store, ctx, "set", ds.id, config)
        campaigns.generate(sqlite_store, ctx, set_id)  # embedded mode: runs in-process
        return set_id
    return sqlite_store, ctx, make


def test_paging_filters_approve_and_edit(generated):
    store, ctx, make = generated
    set_id = make(THREAD)
    page = variations.page(store, ctx, set_id, VariationFilter(), offset=0, limit=2)
    assert page.total == 4 and [r["row"] for r in page.rows] == [1, 2]
    assert variations.page(store, ctx, set_id, VariationFilter(search="boot")).total == 1
    n = review.set_status(store, ctx, set_id, "approved", f=VariationFilter(search="o"))
    assert n == variations.page(store, ctx, set_id, VariationFilter(status="approved")).total > 0
    first = variations.page(store, ctx, set_id, VariationFilter()).rows[1]
    review.edit(store, ctx, first["id"], {"title": "Hand edit"})
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
    rows = [r for r in csv.DictReader(io.StringIO(data.decode("utf-8-sig"))) if r["Ad type"] == "Responsive search ad"]
    assert [r["Headline 1"] for r in rows][1:3] == ["Trail Shoe", "City Boot"]
    assert all(len(r["Headline 1"]) <= 30 and r["Campaign"] == "Shoes" and r["Ad group"] for r in rows)
    assert rows[0]["Headline 1"].startswith("'=")
    first = variations.page(store, ctx, set_id, VariationFilter()).rows[1]
    with store.session_scope(ctx) as s:  # a stored value over the limit (an edit like this is refused)
        v = s.get(Variation, first["id"])
        v.fields = {**v.fields, "headline_1": "x" * 31}
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


# --- review: per-cell checks, conflicts, find & replace, who may approve (issue 13) -------------------

@pytest.fixture(params=["sqlite", "postgres"])
def generated_any(request, monkeypatch):
    """`generated` on the embedded store, and on the real Postgres with the chunks run by an RQ worker."""
    if request.param == "sqlite":
        return request.getfixturevalue("generated")
    from redis import Redis
    from rq import SimpleWorker

    from workers import queues

    settings, services = request.getfixturevalue("pg_settings"), request.getfixturevalue("services")
    store = request.getfixturevalue("pg_store")
    for name, value in (("DATABASE_URL", settings.database_url), ("DOTORO_HOME", str(settings.home)),
                        ("REDIS_URL", services["REDIS_URL"]), ("SECRET_KEY", "test-secret")):
        monkeypatch.setenv(name, value)
    Redis.from_url(services["REDIS_URL"]).flushdb()
    account, ws = auth.sign_up(store, f"p{uuid.uuid4().hex[:6]}@example.com", "Pg", "longenough")
    ctx = Context(user_id=account.id, workspace_id=ws)
    ds = datasets.upload(store, ctx, "items.csv", CSV)

    def make(config, set_id=None):
        set_id = set_id or campaigns.create(store, ctx, "set", ds.id, config)
        campaigns.generate(store, ctx, set_id)
        conn = Redis.from_url(settings.redis_url)
        q = queues.queue(settings, "generation", connection=conn)
        SimpleWorker([q], connection=conn, serializer=q.serializer).work(burst=True)
        return set_id
    return store, ctx, make


def _rows(store, ctx, set_id, **flt):
    return variations.page(store, ctx, set_id, VariationFilter(**flt)).rows


def test_grid_edits_are_checked_cell_by_cell_and_refused_ones_store_nothing(generated_any):
    store, ctx, make = generated_any
    set_id = make(RSA)
    first, second = _rows(store, ctx, set_id)[1:3]
    out = review.review(store, ctx, set_id, {first["id"]: {"headline_2": "Half price", "headline_3": "x" * 31},
                                             second["id"]: {"final_url": "not a url", "status": "approved"}})
    assert (out.edited, out.statuses) == (1, 1)
    assert out.refused == ["row 2, Headline 3: too long: 31 display-width characters, limit 30 — not saved",
                           "row 3, Final URL: not a valid http(s) URL — not saved"]
    after = {r["id"]: r for r in _rows(store, ctx, set_id)}
    assert after[first["id"]]["headline_2"] == "Half price" and after[first["id"]]["headline_3"] == "Shop now"
    assert after[first["id"]]["edited"] is True and after[second["id"]]["edited"] is False
    assert after[second["id"]]["final_url"] == "https://shop.example.com/c" and after[second["id"]]["status"] == "approved"
    with pytest.raises(ValidationFailed, match="Headline 1: too long"):
        review.edit(store, ctx, first["id"], {"headline_1": "y" * 40})
    assert _rows(store, ctx, set_id)[1]["headline_1"] == "Trail Shoe"


def test_an_edit_whose_source_changed_is_a_conflict_until_settled(generated_any):
    from studio.store.campaign_models import CampaignSet

    store, ctx, make = generated_any
    set_id = make(THREAD)
    rows = _rows(store, ctx, set_id)
    review.edit(store, ctx, rows[0]["id"], {"title": "Mine, row 1"})
    review.edit(store, ctx, rows[1]["id"], {"body": "Mine, row 2"})
    make(THREAD, set_id)  # same templates: the edits' sources did not change
    assert not any(r["conflict"] for r in _rows(store, ctx, set_id))
    with store.session_scope(ctx) as s:
        cs = s.get(CampaignSet, set_id)
        cs.config = {**THREAD, "templates": {**THREAD["templates"], "title": "NEW {{ name }}"}}
    make(None, set_id)
    after = _rows(store, ctx, set_id)
    assert [(r["title"], r["edited"], r["conflict"]) for r in after[:3]] == [
        ("Mine, row 1", True, True), ("Trail Shoe in Bergen", True, True), ("NEW City Boot", False, False)]
    assert after[1]["body"] == "Mine, row 2"
    assert variations.page(store, ctx, set_id, VariationFilter(edits="conflict")).total == 2
    assert review.resolve_conflicts(store, ctx, set_id, [after[0]["id"]], keep_edits=True) == 1
    assert review.resolve_conflicts(store, ctx, set_id, [after[1]["id"]], keep_edits=False) == 1
    assert variations.page(store, ctx, set_id, VariationFilter(edits="conflict")).total == 0
    make(None, set_id)  # the dropped edit is replaced by the generated text; the kept one stays
    again = _rows(store, ctx, set_id)
    assert [(r["title"], r["edited"], r["conflict"]) for r in again[:2]] == [
        ("Mine, row 1", True, False), ("NEW Trail Shoe", False, False)]
    assert again[1]["body"] == "$129"


def test_find_and_replace_counts_first_and_keeps_text_that_would_break_a_limit(generated):
    store, ctx, make = generated
    set_id = make({**RSA, "constraint_strategy": "truncate"})
    flt = VariationFilter()
    assert review.replace_count(store, ctx, set_id, flt, "shoe", match_case=False) == review.ReplaceCount(1, 4)
    assert review.replace_count(store, ctx, set_id, flt, "Oslo") == review.ReplaceCount(2, 4)
    assert review.replace_count(store, ctx, set_id, flt, "Oslo", fields=["headline_1"]).matching == 0
    out = review.replace(store, ctx, set_id, flt, "Oslo", "Oslo, Norway, the capital city of the north")
    assert out.edited == 1 and len(out.refused) == 1
    assert "Description 1: too long" in out.refused[0] and out.refused[0].startswith("row 4,")
    rows = _rows(store, ctx, set_id)
    assert rows[0]["description_1"].endswith("in Oslo, Norway, the capital city of the north.") and rows[0]["edited"]
    assert rows[3]["description_1"].endswith("in Oslo.") and not rows[3]["edited"]
    assert review.replace_count(store, ctx, set_id, VariationFilter(edits="edited"), "Free") == review.ReplaceCount(1, 1)
    with pytest.raises(ValidationFailed, match="Type the text to find"):
        review.replace_count(store, ctx, set_id, flt, "")


def test_filters_fit_the_format(generated_any):
    store, ctx, make = generated_any
    set_id = make({**THREAD, "templates": {**THREAD["templates"], "flair": "{{ city | default('') }}"}})
    options = variations.filter_options(store, ctx, set_id)
    assert (options.subreddits, options.flairs, options.campaigns) == (["deals"], ["Bergen", "Oslo"], [])
    assert variations.page(store, ctx, set_id, VariationFilter(flair="Oslo")).total == 2
    rsa = make(RSA)
    with store.session_scope(ctx) as s:
        for i, v in enumerate(s.scalars(select(Variation).where(Variation.campaign_set_id == rsa))):
            v.fields = {**v.fields, "campaign_name": "Shoes", "ad_group_name": f"Group {i % 2}"}
    options = variations.filter_options(store, ctx, rsa)
    assert (options.subreddits, options.campaigns, options.ad_groups) == ([], ["Shoes"], ["Group 0", "Group 1"])
    assert variations.page(store, ctx, rsa, VariationFilter(campaign="Shoes", ad_group="Group 0")).total == 2  # rows 1, 3 of 3


def test_admins_only_approval_keeps_members_from_approving(store):
    from studio import invitations
    from studio.context import Role
    from studio.errors import PermissionDenied

    owner, ws = auth.sign_up(store, f"o{uuid.uuid4().hex[:6]}@example.com", "Ow", "longenough")
    octx = Context(user_id=owner.id, workspace_id=ws)
    ds = datasets.upload(store, octx, "items.csv", CSV)
    set_id = campaigns.create(store, octx, "set", ds.id, THREAD)
    member, _ = auth.sign_up(store, f"m{uuid.uuid4().hex[:6]}@example.com", "Me", "longenough")
    invitations.accept(store, invitations.invite(store, octx, member.email, Role.MEMBER).url.split("invite=")[1], member)
    mctx = Context(user_id=member.id, workspace_id=ws)
    assert review.approval_policy(store, mctx) == "editors" and review.may_approve(store, mctx)
    assert review.set_status(store, mctx, set_id, "approved") == 0  # allowed (nothing generated yet)
    with pytest.raises(PermissionDenied):
        review.set_approval_policy(store, mctx, "admins")
    review.set_approval_policy(store, octx, "admins")
    assert review.approval_policy(store, mctx) == "admins" and not review.may_approve(store, mctx)
    with pytest.raises(PermissionDenied, match="only admins and owners approve"):
        review.set_status(store, mctx, set_id, "approved")
    with pytest.raises(PermissionDenied, match="only admins and owners approve"):
        review.review(store, mctx, set_id, {uuid.uuid4(): {"status": "approved"}})
    assert review.review(store, mctx, set_id, {}).statuses == 0
    assert review.may_approve(store, octx) and review.set_status(store, octx, set_id, "rejected") == 0
    with pytest.raises(ValidationFailed, match="Approval must be one of"):
        review.set_approval_policy(store, octx, "everyone")
