"""Syncing a set to Reddit Ads against the local Ads-API double: exact trees, idempotence, conflicts, limits."""

from __future__ import annotations

import pytest

from studio.errors import PermissionDenied, ValidationFailed
from studio.reddit_ads import connections, service
from studio.reddit_ads.plan import PlanError, RedditSettings, micro
from tests.studio.reddit_ads_support import (  # noqa: F401
    ads,
    connect,
    link_ads,
    make_ads,
    make_set,
    set_status,
)


@pytest.fixture()
def a(pg_store, ads, monkeypatch):  # noqa: F811
    return make_ads(pg_store, ads, monkeypatch)


def sync(a, set_id, conn, **kw):
    info = service.request_sync(a.store, a.ctx, set_id, conn.id, enqueue=a.enqueue, **kw)
    a.drain()
    return service.set_state(a.store, a.ctx, set_id).syncs[0], info


@pytest.mark.slow
def test_a_2000_row_set_syncs_to_the_exact_tree_and_a_second_sync_writes_nothing(a):
    a.double.rate_limit = (1_000_000, 600.0)
    conn = connect(a)
    set_id = make_set(a, link_ads(2000, campaigns=4, groups=5, creatives=250))
    done, _ = sync(a, set_id, conn)
    assert done.status == "done", done.error
    assert [len(a.double.of(k)) for k in ("campaign", "ad_group", "post", "ad")] == [4, 20, 250, 2000]
    assert {e["configured_status"] for k in ("campaign", "ad_group", "ad") for e in a.double.of(k)} == {"PAUSED"}
    groups = {g["id"]: g for g in a.double.of("ad_group")}
    campaigns = {c["id"] for c in a.double.of("campaign")}
    assert all(g["campaign_id"] in campaigns for g in groups.values())
    assert all(ad["ad_group_id"] in groups for ad in a.double.of("ad"))
    assert {g["goal_value"] for g in groups.values()} == {20_000_000}  # $20 a day in micro-currency
    writes = len(a.double.writes())
    assert writes == 4 + 20 + 250 + 2000
    again, _ = sync(a, set_id, conn)
    assert again.status == "done" and again.counts["writes"] == 0
    assert len(a.double.writes()) == writes  # not one POST or PATCH the second time


def test_only_approved_valid_variations_sync_and_unapproved_ones_are_paused_later(a):
    conn = connect(a)
    set_id = make_set(a, link_ads(6, campaigns=1, groups=1))
    set_status(a, set_id, [5], "pending")
    sync(a, set_id, conn, go_live=True)
    assert len(a.double.of("ad")) == 5
    set_status(a, set_id, [0, 1], "rejected")
    done, _ = sync(a, set_id, conn)
    assert done.counts["paused"] == 2
    assert sorted(ad["configured_status"] for ad in a.double.of("ad")) == ["ACTIVE"] * 3 + ["PAUSED"] * 2
    state = service.set_state(a.store, a.ctx, set_id)
    assert state.by_kind["ad"] == {"synced": 3, "removed": 2}


def test_a_crash_after_reddit_created_it_adopts_the_entity_instead_of_a_twin(a):
    """Reddit creates the ad group and answers 500: the sync looks it up by name and adopts it."""
    conn = connect(a)
    set_id = make_set(a, link_ads(3, campaigns=1, groups=1))
    a.double.fail_next("create_ad_group", "accept_then_500")
    done, _ = sync(a, set_id, conn)
    assert done.status == "done", done.error
    assert len(a.double.of("ad_group")) == 1 and len(a.double.of("ad")) == 3
    assert done.counts["adopted"]["ad_group"] == 1


def test_429_with_retry_after_is_honoured_and_then_the_call_succeeds(a):
    conn = connect(a)
    set_id = make_set(a, link_ads(2, campaigns=1, groups=1))
    a.double.fail_next("create_campaign", "429", retry_after=1)
    done, _ = sync(a, set_id, conn)
    assert done.status == "done"
    posts = [c for c in a.double.calls if c[0] == "POST" and c[1].endswith("/campaigns")]
    assert len(posts) == 2 and len(a.double.of("campaign")) == 1  # refused once, sent again, created once


def test_a_rate_limit_longer_than_a_job_waits_ends_the_job_and_queues_it_for_later(a):
    conn = connect(a)
    set_id = make_set(a, link_ads(2, campaigns=1, groups=1))
    a.double.fail_next("create_campaign", "429", retry_after=3600)
    service.request_sync(a.store, a.ctx, set_id, conn.id, enqueue=a.enqueue)
    sync_id, _ = a.queued.pop()
    assert service.run_sync(a.store, a.ws, sync_id, enqueue=a.enqueue) == "waiting for the rate limit"
    assert a.queued == [(sync_id, 3600.0)]
    assert service.set_state(a.store, a.ctx, set_id).syncs[0].status == "waiting"
    a.drain()
    assert service.set_state(a.store, a.ctx, set_id).syncs[0].status == "done"


def test_the_proactive_gate_waits_for_the_reset_instead_of_meeting_a_429(a):
    conn = connect(a)
    a.double.rate_limit = (12, 2.0)
    set_id = make_set(a, link_ads(4, campaigns=1, groups=1))
    done, _ = sync(a, set_id, conn)
    assert done.status == "done", done.error
    assert len(a.double.of("ad")) == 4


def test_an_edit_made_on_reddit_is_a_conflict_not_overwritten_and_can_be_resolved(a):
    conn = connect(a)
    set_id = make_set(a, link_ads(2, campaigns=1, groups=1))
    sync(a, set_id, conn)
    (campaign,) = a.double.of("campaign")
    a.double.edit_remotely(campaign["id"], name="Renamed on Reddit")
    with a.store.session_scope(a.ctx) as s:  # the set's campaign changes too: the studio wants to write
        from sqlalchemy import update

        from studio.store.campaign_models import CampaignSet
        s.execute(update(CampaignSet).where(CampaignSet.id == set_id).values(
            config={"structure": {"settings": {"campaign": {"objective": "IMPRESSIONS"}}}}))
    done, _ = sync(a, set_id, conn)
    assert done.counts["conflict_count"] == 1
    assert a.double.entities[campaign["id"]]["name"] == "Renamed on Reddit"
    assert a.double.entities[campaign["id"]]["objective"] == "CLICKS"
    (conflict,) = service.set_state(a.store, a.ctx, set_id).conflicts
    assert "edited on Reddit" in conflict["message"] and "name" in conflict["message"]
    service.resolve_conflict(a.store, a.ctx, conflict["id"], keep="studio")
    done, _ = sync(a, set_id, conn)
    assert done.counts["conflict_count"] == 0
    assert a.double.entities[campaign["id"]]["name"] == "Campaign 0"
    assert a.double.entities[campaign["id"]]["objective"] == "IMPRESSIONS"


def test_pause_and_resume_a_campaign_reaches_reddit_and_resuming_needs_an_approver(a):
    conn = connect(a)
    set_id = make_set(a, link_ads(4, campaigns=2, groups=1))
    sync(a, set_id, conn, go_live=True)
    assert {e["configured_status"] for e in a.double.of("ad")} == {"ACTIVE"}
    tree = service.set_state(a.store, a.ctx, set_id).tree
    first = next(c for c in tree if c["name"] == "Campaign 0")
    service.set_paused(a.store, a.ctx, set_id, conn.id, paused=True, key=first["key"], enqueue=a.enqueue)
    a.drain()
    by_campaign = {c["id"]: c for c in a.double.of("campaign")}
    paused = {c["name"]: c["configured_status"] for c in by_campaign.values()}
    assert paused == {"Campaign 0": "PAUSED", "Campaign 1": "ACTIVE"}
    group_of = {g["id"]: by_campaign[g["campaign_id"]]["name"] for g in a.double.of("ad_group")}
    assert {(group_of[ad["ad_group_id"]], ad["configured_status"]) for ad in a.double.of("ad")} == {
        ("Campaign 0", "PAUSED"), ("Campaign 1", "ACTIVE")}


def test_a_revoked_grant_stops_the_sync_with_reconnect_needed(a):
    conn = connect(a)
    set_id = make_set(a, link_ads(2, campaigns=1, groups=1))
    a.double.revoke("acme_ads")
    done, _ = sync(a, set_id, conn)
    assert done.status == "reconnect" and "connect" in done.error.lower()
    (info,) = connections.list_connections(a.store, a.ctx)
    assert info.status == "reconnect_needed"
    assert a.double.writes() == []
    with pytest.raises(ValidationFailed, match="reconnect"):
        service.request_sync(a.store, a.ctx, set_id, conn.id, enqueue=a.enqueue)


def test_a_rotated_refresh_token_is_saved_at_once(a):
    conn = connect(a)
    a.double.rotate_refresh = True
    set_id = make_set(a, link_ads(2, campaigns=1, groups=1))
    sync(a, set_id, conn, go_live=True)
    a.double.expire_access_tokens()
    set_status(a, set_id, [0], "rejected")
    done, _ = sync(a, set_id, conn)  # a new client: refreshes with the rotated token it stored
    assert done.status == "done" and done.counts["paused"] == 1


def test_refusals_are_clear(a):
    conn = connect(a)
    organic = make_set(a, [{"title": "t", "body": "b", "subreddit": "python"}], fmt="thread")
    with pytest.raises(ValidationFailed, match="link-ad"):
        service.request_sync(a.store, a.ctx, organic, conn.id, enqueue=a.enqueue)
    pending = make_set(a, link_ads(2), status="pending")
    with pytest.raises(ValidationFailed, match="approved"):
        service.request_sync(a.store, a.ctx, pending, conn.id, enqueue=a.enqueue)
    bad = make_set(a, link_ads(1), config={"structure": {"settings": {"campaign": {"objective": "FAME"}}}})
    with pytest.raises(ValidationFailed, match="FAME"):
        service.request_sync(a.store, a.ctx, bad, conn.id, enqueue=a.enqueue)


def _member(a, role):
    import uuid

    from studio import auth, invitations
    from studio.context import Context

    email = f"m{uuid.uuid4().hex[:8]}@example.com"
    link = invitations.invite(a.store, a.ctx, email, role)
    account, _ = auth.sign_up(a.store, email, "Max Member", "correct horse")
    return Context(user_id=account.id, workspace_id=invitations.accept(a.store, link.url.split("invite=")[1], account))


def test_a_viewer_cannot_sync_and_only_approvers_go_live_or_resume(a):
    from studio import review
    from studio.context import Role

    conn = connect(a)
    set_id = make_set(a, link_ads(1))
    viewer, member = _member(a, Role.VIEWER), _member(a, Role.MEMBER)
    with pytest.raises(PermissionDenied):
        service.request_sync(a.store, viewer, set_id, conn.id, enqueue=a.enqueue)
    review.set_approval_policy(a.store, a.ctx, "admins")
    with pytest.raises(PermissionDenied, match="admins"):
        service.request_sync(a.store, member, set_id, conn.id, go_live=True, enqueue=a.enqueue)
    service.request_sync(a.store, member, set_id, conn.id, enqueue=a.enqueue)  # paused: a member may
    a.drain()
    with pytest.raises(PermissionDenied, match="admins"):
        service.set_paused(a.store, member, set_id, conn.id, paused=False, enqueue=a.enqueue)
    with pytest.raises(PermissionDenied):
        connections.start_oauth(a.store, member)
    with pytest.raises(PermissionDenied):  # the client carries the decrypted grant
        connections.api_client(a.store, member, conn.id)
    assert a.double.of("ad")[0]["configured_status"] == "PAUSED"


@pytest.mark.parametrize(("dollars", "expected"), [("20", 20_000_000), ("12.50", 12_500_000), (0.015, 20_000),
                                                   ("$5", 5_000_000), (7, 7_000_000)])
def test_money_is_sent_in_micro_currency(dollars, expected):
    assert micro(dollars, "budget") == expected


@pytest.mark.parametrize("bad", ["-1", "abc", "nan", ""])
def test_bad_money_is_refused_with_a_message(bad):
    with pytest.raises(PlanError, match="dollars"):
        micro(bad, "The daily budget")


def test_manual_bidding_needs_a_bid():
    with pytest.raises(PlanError, match="bid"):
        RedditSettings.from_config({"structure": {"settings": {"ad_group": {"bid_strategy": "MANUAL_BIDDING"}}}})


def test_a_changed_variation_is_followed_new_creative_and_the_ad_points_at_it(a):
    from sqlalchemy import update

    from studio.store.base import utcnow
    from studio.store.campaign_models import Variation

    conn = connect(a)
    set_id = make_set(a, link_ads(3, campaigns=1, groups=1))
    sync(a, set_id, conn)
    assert service.follow(a.store, a.ws, enqueue=a.enqueue) == 0  # nothing changed: nothing queued
    fields = {**link_ads(3, campaigns=1, groups=1)[1], "headline": "A brand new headline"}
    with a.store.session_scope(a.ctx) as s:
        s.execute(update(Variation).where(Variation.campaign_set_id == set_id, Variation.row_index == 1)
                  .values(fields=fields, updated_at=utcnow()))
    assert service.follow(a.store, a.ws, enqueue=a.enqueue) == 1
    a.drain()
    new_post = next(p for p in a.double.of("post") if p["headline"] == "A brand new headline")
    assert len(a.double.of("ad")) == 3 and sum(ad["post_id"] == new_post["id"] for ad in a.double.of("ad")) == 1
    last = service.set_state(a.store, a.ctx, set_id).syncs[0]
    assert last.counts["created"]["post"] == 1 and last.counts["updated"]["ad"] == 1 and last.counts["writes"] == 2


def test_performance_comes_back_per_ad_and_exports(a):
    from studio.reddit_ads import performance
    from studio.store.base import utcnow

    conn = connect(a)
    set_id = make_set(a, link_ads(2, campaigns=1, groups=1))
    sync(a, set_id, conn)
    today = utcnow().date()
    first, second = sorted(a.double.of("ad"), key=lambda ad: ad["name"])
    a.double.metrics[(first["id"], str(today))] = {"impressions": 1000, "clicks": 50, "spend": 12_500_000, "conversions": 2}
    a.double.metrics[(first["id"], str(today - __import__("datetime").timedelta(days=1)))] = {
        "impressions": 1000, "clicks": 30, "spend": 7_500_000, "conversions": 1}
    a.double.metrics[(second["id"], str(today))] = {"impressions": 500, "clicks": 5, "spend": 1_000_000, "conversions": 0}
    assert performance.pull_metrics(a.store, a.ws, conn.id) == 3
    assert performance.pull_metrics(a.store, a.ws, conn.id) == 3  # pulled again: updated, not doubled
    best, other = performance.performance(a.store, a.ctx, set_id)
    assert (best.ad_id, best.impressions, best.clicks, best.spend, best.conversions) == (first["id"], 2000, 80, 20.0, 3)
    assert round(best.ctr, 4) == 0.04 and best.cpc == 0.25
    assert (other.clicks, other.spend) == (5, 1.0)
    (whole,) = performance.by_set(a.store, a.ctx)  # the Publish page's Engagement, beside organic
    assert (whole.set_id, whole.impressions, whole.clicks, whole.spend, whole.conversions) == (set_id, 2500, 85, 21.0, 3)
    assert [d[2] for d in whole.daily] == [30, 55]  # clicks per day, oldest first
    lines = performance.performance_csv(a.store, a.ctx, set_id).decode().splitlines()
    assert lines[0].startswith("ad_id,ad_name") and lines[1].split(",")[3:6] == ["2000", "80", "0.0400"]


def test_a_set_made_paused_never_goes_live_on_reddit(a):
    from sqlalchemy import update

    from studio.store.campaign_models import CampaignSet

    conn = connect(a)
    set_id = make_set(a, link_ads(2, campaigns=1, groups=1))
    with a.store.session_scope(a.ctx) as s:
        s.execute(update(CampaignSet).where(CampaignSet.id == set_id).values(held=True))
    with pytest.raises(ValidationFailed, match="made paused"):
        service.request_sync(a.store, a.ctx, set_id, conn.id, go_live=True, enqueue=a.enqueue)
    sync(a, set_id, conn)
    assert {e["configured_status"] for e in a.double.of("ad")} == {"PAUSED"}
    with pytest.raises(ValidationFailed, match="made paused"):
        service.set_paused(a.store, a.ctx, set_id, conn.id, paused=False, enqueue=a.enqueue)


def test_pausing_the_whole_set_pauses_every_campaign_group_and_ad(a):
    conn = connect(a)
    set_id = make_set(a, link_ads(4, campaigns=2, groups=2))
    sync(a, set_id, conn, go_live=True)
    n = service.set_paused(a.store, a.ctx, set_id, conn.id, paused=True, enqueue=a.enqueue)
    a.drain()
    assert n == 2 + 4 + 4
    assert {e["configured_status"] for k in ("campaign", "ad_group", "ad") for e in a.double.of(k)} == {"PAUSED"}
    service.set_paused(a.store, a.ctx, set_id, conn.id, paused=False, enqueue=a.enqueue)
    a.drain()
    assert {e["configured_status"] for k in ("campaign", "ad_group", "ad") for e in a.double.of(k)} == {"ACTIVE"}


def test_a_member_cannot_raise_the_budget_of_a_live_campaign_only_an_approver_can(a):
    from sqlalchemy import update

    from studio import review
    from studio.context import Role
    from studio.store.campaign_models import CampaignSet

    conn = connect(a)
    set_id = make_set(a, link_ads(2, campaigns=1, groups=1))
    sync(a, set_id, conn, go_live=True)  # the owner (an approver) made it live at $20 a day
    review.set_approval_policy(a.store, a.ctx, "admins")
    member = _member(a, Role.MEMBER)
    with a.store.session_scope(a.ctx) as s:
        s.execute(update(CampaignSet).where(CampaignSet.id == set_id).values(
            config={"structure": {"settings": {"ad_group": {"daily_budget": "500"}}}}))
    service.request_sync(a.store, member, set_id, conn.id, enqueue=a.enqueue)
    a.drain()
    (group,) = a.double.of("ad_group")
    assert group["goal_value"] == 20_000_000  # not raised by the member's sync
    state = service.set_state(a.store, a.ctx, set_id)
    assert any("may approve" in f["message"] and "goal value" in f["message"] for f in state.failed)
    assert service.follow(a.store, a.ws, enqueue=a.enqueue) == 0  # the follow-up job never spends either
    service.request_sync(a.store, a.ctx, set_id, conn.id, enqueue=a.enqueue)  # the owner syncs: it goes through
    a.drain()
    assert a.double.of("ad_group")[0]["goal_value"] == 500_000_000
