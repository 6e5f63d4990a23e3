"""One way to put a row in every tenant table; the isolation suite and its meta-test use it."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

from studio.store.models import Dataset, DatasetBlob, DatasetVersion, Invitation
from studio.store.session import TenantSession


def _dataset(s: TenantSession) -> None:
    ds = Dataset(name=f"data {uuid.uuid4().hex[:6]}", current_version=1)
    s.add(ds)
    s.flush()
    s.add(DatasetVersion(dataset_id=ds.id, version=1, filename="d.csv", row_count=1, size_bytes=1, columns=[], storage_key="k"))


def _blob(s: TenantSession) -> None:
    s.add(DatasetBlob(storage_key=f"b-{uuid.uuid4()}", content=b"x"))


def _invitation(s: TenantSession) -> None:
    s.add(Invitation(email=f"{uuid.uuid4().hex[:6]}@example.com", role="member", token_hash=uuid.uuid4().hex * 2,
                     expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=7), status="pending", sent_count=1))


def _content(s: TenantSession) -> None:
    from studio.store.campaign_models import CampaignSet, GenerationChunk, GenerationRun, RuleSet, Template, Variation
    s.add(Template(name=f"t {uuid.uuid4().hex[:6]}", platform="reddit", format="thread", fields={"title": "x"}))
    s.add(RuleSet(name=f"r {uuid.uuid4().hex[:6]}", rules=[]))
    cs = CampaignSet(name="set", dataset_version=1, platform="reddit", format="thread", config={})
    s.add(cs)
    s.flush()
    run = GenerationRun(campaign_set_id=cs.id)
    s.add(run)
    s.flush()
    s.add(GenerationChunk(run_id=run.id, index=0, row_start=0, row_end=1))
    s.add(Variation(id=uuid.uuid4(), campaign_set_id=cs.id, row_index=0, variation_index=0, fields={"title": "x"}))


def _billing(s: TenantSession) -> None:
    from studio.store.models import BillingAccount, StripeEvent, UsageEvent
    s.add(BillingAccount(stripe_customer_id=f"cus_{uuid.uuid4().hex[:8]}", subscription_status="active"))
    s.add(UsageEvent(metric="variations", amount=1, period="2026-01", idempotency_key=f"k-{uuid.uuid4()}"))
    s.add(StripeEvent(id=f"evt_{uuid.uuid4().hex}", type="invoice.paid", created=1))


def _notebook(s: TenantSession) -> None:
    from studio.store.notebook_models import Notebook, NotebookCell, NotebookOutput
    book = Notebook(name=f"n {uuid.uuid4().hex[:6]}")
    s.add(book)
    s.flush()
    cell = NotebookCell(notebook_id=book.id, position=0, kind="sql", source="SELECT 1", config={})
    s.add(cell)
    s.flush()
    s.add(NotebookOutput(cell_id=cell.id, query_hash="h", inputs={}, content=b"x"))


def _publishing(s: TenantSession) -> None:
    from studio.store.campaign_models import CampaignSet
    from studio.store.publishing_models import (
        PostMetric,
        PublishEvent,
        PublishItem,
        PublishSettings,
        RedditAccount,
        RedditOAuthState,
    )
    account = RedditAccount(username=f"u{uuid.uuid4().hex[:8]}", auth_kind="oauth", refresh_token_enc="x")
    cs = CampaignSet(name="pub", dataset_version=1, platform="reddit", format="thread", config={})
    s.add_all([account, cs])
    s.flush()
    s.add(RedditOAuthState(state_hash=uuid.uuid4().hex, expires_at=dt.datetime.now(dt.UTC)))
    s.add(PublishSettings(campaign_set_id=cs.id, options={}))
    item = PublishItem(campaign_set_id=cs.id, dedupe_key=f"thread:{uuid.uuid4()}", kind="thread", account_id=account.id,
                       scheduled_at=dt.datetime.now(dt.UTC))
    s.add(item)
    s.flush()
    s.add(PublishEvent(item_id=item.id, to_state="scheduled"))
    s.add(PostMetric(item_id=item.id, score=1))


def _draft(s: TenantSession) -> None:
    from studio.store.draft_models import Draft
    s.add(Draft(user_id=s.info["user_id"], kind="preview", data={"format": "reddit/thread"}))


def _events(s: TenantSession) -> None:
    from studio.store.event_models import (
        Delivery,
        DeliveryAttempt,
        Event,
        Notification,
        NotificationPreference,
        WebhookEndpoint,
    )
    user = s.info["user_id"]
    event = Event(kind="generation.completed", data={"run_id": "r"}, user_id=user)
    endpoint = WebhookEndpoint(url_enc="x", url_host="example.com", kinds=["generation.completed"], secret_enc="x")
    s.add_all([event, endpoint])
    s.flush()
    s.add(Notification(event_id=event.id, user_id=user, kind=event.kind, title="Run finished"))
    s.add(NotificationPreference(user_id=user, kind="generation.completed", in_app=True, email=False))
    delivery = Delivery(event_id=event.id, channel="webhook", target=str(endpoint.id), endpoint_id=endpoint.id)
    s.add(delivery)
    s.flush()
    s.add(DeliveryAttempt(delivery_id=delivery.id, number=1))


def _feed(s: TenantSession) -> None:
    from studio.store.feed_models import FeedFetch, FeedSource
    ds = Dataset(name=f"feed {uuid.uuid4().hex[:6]}", current_version=1, key_column="id")
    s.add(ds)
    s.flush()
    source = FeedSource(dataset_id=ds.id, url="https://example.com/feed.xml")
    s.add(source)
    s.flush()
    s.add(FeedFetch(source_id=source.id, outcome="failed", error="x"))


def _api(s: TenantSession) -> None:
    from studio.store.api_models import ApiKey, IdempotencyRecord
    key = ApiKey(name="k", prefix="dotoro_sk_abcdef", key_hash=uuid.uuid4().hex * 2, scopes=["read"], role="viewer",
                 created_by=s.info["user_id"])
    s.add(key)
    s.flush()
    s.add(IdempotencyRecord(key_id=key.id, route="POST /templates", idempotency_key="i", body_hash="h", status=201,
                            headers={}, body=b"{}"))


def _follow(s: TenantSession) -> None:
    from studio.store.campaign_models import CampaignSet
    from studio.store.follow_models import FeedApplyChunk, FeedDiff, FollowConflict
    cs = CampaignSet(name="following", dataset_version=1, platform="reddit", format="thread", config={}, key_column="id")
    s.add(cs)
    s.flush()
    diff = FeedDiff(campaign_set_id=cs.id, from_version=1, to_version=2, key_column="id", counts={"added": 1})
    s.add(diff)
    s.flush()
    s.add(FeedApplyChunk(diff_id=diff.id, index=0, row_start=0, row_end=1))
    s.add(FollowConflict(diff_id=diff.id, campaign_set_id=cs.id, variation_id=uuid.uuid4(), row_key="a",
                         fields={"title": "x"}, content_hash="h"))


def _nothing(s: TenantSession) -> None:
    """Sign-up already made the workspace, its owner membership and audit events."""


def _ads(s: TenantSession) -> None:
    from studio.store.ads_models import AdsConnection, AdsEntity, AdsMetric, AdsOAuthState, AdsSync
    from studio.store.campaign_models import CampaignSet
    cs = CampaignSet(name="ads set", dataset_version=1, platform="reddit", format="link_ad", config={})
    conn = AdsConnection(username=f"ads{uuid.uuid4().hex[:6]}", scopes="adsread adsedit")
    s.add_all([cs, conn])
    s.flush()
    s.add(AdsOAuthState(state_hash=uuid.uuid4().hex * 2, expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)))
    s.add(AdsEntity(campaign_set_id=cs.id, connection_id=conn.id, kind="campaign", key="c:x", name="x"))
    s.add(AdsSync(campaign_set_id=cs.id, connection_id=conn.id))
    s.add(AdsMetric(connection_id=conn.id, ad_id="ad1", day=dt.date(2026, 1, 1)))


def _word_list(s: TenantSession) -> None:
    from studio.store.wordlist_models import WordListRow

    s.add(WordListRow(banned=["cheap"], banned_mode="refuse", replacement="", brands=["iPhone"]))


ROW_MAKERS: dict[str, Callable[[TenantSession], None]] = {
    "workspaces": _nothing,
    "workspace_members": _nothing,
    "audit_events": _nothing,
    "datasets": _dataset,
    "dataset_versions": _dataset,
    "dataset_blobs": _blob,
    "invitations": _invitation,
    "templates": _content,
    "rule_sets": _content,
    "campaign_sets": _content,
    "generation_runs": _content,
    "generation_chunks": _content,
    "variations": _content,
    "billing_accounts": _billing,
    "usage_events": _billing,
    "stripe_events": _billing,
    "notebooks": _notebook,
    "notebook_cells": _notebook,
    "notebook_outputs": _notebook,
    "drafts": _draft,
    "api_keys": _api,
    "api_idempotency": _api,
    "feed_sources": _feed,
    "feed_diffs": _follow,
    "feed_apply_chunks": _follow,
    "follow_conflicts": _follow,
    "feed_fetches": _feed,
    "reddit_accounts": _publishing,
    "reddit_oauth_states": _publishing,
    "publish_settings": _publishing,
    "publish_items": _publishing,
    "publish_events": _publishing,
    "post_metrics": _publishing,
    "events": _events,
    "notifications": _events,
    "notification_preferences": _events,
    "webhook_endpoints": _events,
    "deliveries": _events,
    "delivery_attempts": _events,
    "ads_connections": _ads,
    "ads_oauth_states": _ads,
    "ads_entities": _ads,
    "ads_syncs": _ads,
    "ads_metrics": _ads,
    "word_lists": _word_list,
}


def fill_every_table(s: TenantSession) -> None:
    for maker in dict.fromkeys(ROW_MAKERS.values()):
        maker(s)
