"""Shared pieces of the Reddit Ads tests (no tests here): the Ads double, a connected workspace, a link-ad set."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from studio import auth
from studio.context import Context, WorkspaceId
from studio.reddit_ads import connections, service
from studio.settings import Settings
from studio.store.campaign_models import CampaignSet, Variation
from studio.store.session import Store
from tests.reddit_ads_double import CLIENT_ID, CLIENT_SECRET, RedditAdsDouble


def ads_env(double: RedditAdsDouble, **extra: str) -> dict[str, str]:
    return {"REDDIT_ADS_API_URL": double.api_url, "REDDIT_URL": double.url, "REDDIT_CLIENT_ID": CLIENT_ID,
            "REDDIT_CLIENT_SECRET": CLIENT_SECRET, "REDDIT_ADS_BACKOFF_SECONDS": "0.01",
            "REDDIT_ADS_MAX_WAIT_SECONDS": "3", "REDDIT_ADS_TIMEOUT": "5", **extra}


def with_ads(settings: Settings, double: RedditAdsDouble, **extra: str) -> Settings:
    return dataclasses.replace(settings, extra={**settings.extra, **ads_env(double, **extra)})


@pytest.fixture()
def ads() -> Iterator[RedditAdsDouble]:
    double = RedditAdsDouble().start()
    yield double
    double.stop()


@dataclass
class Ads:
    store: Store
    ctx: Context
    double: RedditAdsDouble
    ids: dict[str, str] = field(default_factory=dict)
    queued: list[tuple[uuid.UUID, float]] = field(default_factory=list)

    @property
    def ws(self) -> WorkspaceId:
        assert self.ctx.workspace_id is not None
        return self.ctx.workspace_id

    def enqueue(self, sync_id: uuid.UUID, delay: float) -> None:
        self.queued.append((sync_id, delay))

    def drain(self) -> list[str]:
        """Run every queued sync job, as the worker pool would (the ones they queue too)."""
        out = []
        while self.queued:
            sync_id, _ = self.queued.pop(0)
            out.append(service.run_sync(self.store, self.ws, sync_id, enqueue=self.enqueue))
        return out


def make_ads(store: Store, double: RedditAdsDouble, monkeypatch: pytest.MonkeyPatch, **extra: str) -> Ads:
    monkeypatch.setattr(store, "settings", with_ads(store.settings, double, **extra))
    account, ws = auth.sign_up(store, f"a{uuid.uuid4().hex[:8]}@example.com", "Ada Advertiser", "longenough")
    return Ads(store, Context(user_id=account.id, workspace_id=ws), double)


def connect(a: Ads, user: str = "acme_ads", *, currency: str = "USD") -> connections.ConnectionInfo:
    """The real OAuth code flow: our authorization URL, the double's consent redirect, the callback; then the pick of
    the business's ad account (which spends in `currency`)."""
    a.ids = a.double.add_business("Acme", user=user, currency=currency)
    url = connections.start_oauth(a.store, a.ctx)
    answer = httpx.get(url + "&login_hint=" + user, follow_redirects=False)
    back = parse_qs(urlparse(answer.headers["location"]).query)
    info = connections.finish_oauth(a.store, a.ctx, back["state"][0], back["code"][0])
    return connections.pick(a.store, a.ctx, info.id, ad_account_id=a.ids["ad_account"],
                            funding_instrument_id=a.ids["funding_instrument"], profile_id=a.ids["profile"])


def link_ads(n: int, *, campaigns: int = 2, groups: int = 3, creatives: int | None = None) -> list[dict[str, Any]]:
    """n link-ad variations over `campaigns` × `groups`; `creatives` distinct headline/URL pairs (default n)."""
    out = []
    for i in range(n):
        c = creatives or n
        out.append({"headline": f"Trail shoe model {i % c}", "destination_url": f"https://example.com/p/{i % c}",
                    "call_to_action": "Shop Now", "campaign_name": f"Campaign {i % campaigns}",
                    "ad_group_name": f"Group {(i // campaigns) % groups}"})
    return out


def make_set(a: Ads, rows: list[dict[str, Any]], *, status: str = "approved", config: dict[str, Any] | None = None,
             fmt: str = "link_ad") -> uuid.UUID:
    with a.store.session_scope(a.ctx) as s:
        cs = CampaignSet(name=f"ads set {uuid.uuid4().hex[:4]}", dataset_version=1, platform="reddit", format=fmt,
                         config=config or {}, status="ready", variation_count=len(rows))
        s.add(cs)
        s.flush()
        s.add_all([Variation(id=uuid.uuid4(), campaign_set_id=cs.id, row_index=i, variation_index=0, fields=f,
                             title=str(f.get("headline", "")), status=status) for i, f in enumerate(rows)])
        return cs.id


def set_status(a: Ads, set_id: uuid.UUID, row_indexes: list[int], status: str) -> None:
    from sqlalchemy import update
    with a.store.session_scope(a.ctx) as s:
        s.execute(update(Variation).where(Variation.campaign_set_id == set_id, Variation.row_index.in_(row_indexes))
                  .values(status=status))
