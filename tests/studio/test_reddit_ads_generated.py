"""A reddit/link_ad set generated from data with a campaign structure syncs to Reddit Ads as exactly the tree the
preview drew: its campaigns, ad groups and ads, with the structure's Reddit settings (issues 16 and 21)."""

from __future__ import annotations

import uuid

from sqlalchemy import update

from studio import auth
from studio.context import Context
from studio.reddit_ads import service
from studio.store.campaign_models import Variation
from tests.studio.reddit_ads_support import Ads, ads, connect, with_ads  # noqa: F401
from tests.studio.test_preview_equals_generated import check_preview_equals_generated

LINK_AD = {
    "platform": "reddit", "format": "link_ad", "constraint_strategy": "truncate",
    "templates": {"headline": "{{ product_name }} by {{ brand | default('us') }}", "destination_url": "{{ url }}",
                  "call_to_action": "Shop Now"},
    "structure": {"campaign": "{{ category | default('General') }}",
                  "ad_groups": [{"name": "{{ brand | default('Other') }}"}],
                  "settings": {"campaign": {"objective": "CONVERSIONS"},
                               "ad_group": {"daily_budget": "12.50", "communities": "running, r/trailrunning"}}},
}


def test_a_generated_link_ad_set_syncs_the_tree_its_preview_drew(sqlite_settings, sqlite_store, shared_data, ads,  # noqa: F811
                                                                   monkeypatch):
    monkeypatch.setenv("DOTORO_HOME", str(sqlite_settings.home))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setattr(sqlite_store, "settings", with_ads(sqlite_store.settings, ads))
    ads.rate_limit = (1_000_000, 600.0)
    account, ws = auth.sign_up(sqlite_store, f"g{uuid.uuid4().hex[:6]}@example.com", "Gen", "longenough")
    a = Ads(sqlite_store, Context(user_id=account.id, workspace_id=ws), ads)
    rows = (shared_data / "products_2k.csv").read_bytes().splitlines()
    data = b"\n".join(rows[:301])  # 300 products
    checked = check_preview_equals_generated(sqlite_store, a.ctx, data, LINK_AD)
    tree = checked.structure
    assert tree is not None and tree.campaigns >= 2
    with sqlite_store.session_scope(a.ctx) as s:
        s.execute(update(Variation).where(Variation.campaign_set_id == checked.set_id, Variation.valid.is_(True))
                  .values(status="approved"))
        valid = s.query(Variation).filter(Variation.campaign_set_id == checked.set_id, Variation.valid.is_(True)).count()
    conn = connect(a)
    service.request_sync(sqlite_store, a.ctx, checked.set_id, conn.id, enqueue=a.enqueue)
    assert a.drain() == [f"done: {len(ads.writes())} writes"]
    assert len(ads.of("campaign")) == tree.campaigns and len(ads.of("ad_group")) == tree.ad_groups
    assert len(ads.of("ad")) == valid == tree.ads
    assert {c["objective"] for c in ads.of("campaign")} == {"CONVERSIONS"}
    assert {g["goal_value"] for g in ads.of("ad_group")} == {12_500_000}
    assert {tuple(g["targeting"]["communities"]) for g in ads.of("ad_group")} == {("running", "trailrunning")}
