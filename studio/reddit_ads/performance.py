"""Reddit Ads performance back in: per-ad, per-day figures pulled on the scheduler, totals per ad, a CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from dataclasses import dataclass

from sqlalchemy import func, select

from studio.context import Context, Permission, WorkspaceId
from studio.permissions import requires, system_only
from studio.reddit_ads import client as ac
from studio.reddit_ads import connections
from studio.store.ads_models import AdsConnection, AdsEntity, AdsMetric
from studio.store.base import utcnow
from studio.store.session import Store

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}  # written before the amount; other codes after it


def _code(currency: str) -> str:
    return "".join(ch for ch in (currency or "").upper() if "A" <= ch <= "Z")[:3]  # ISO 4217; nothing printf reads


def money(amount: float, currency: str = "") -> str:
    """An amount of the ad account's currency for people: $1,234.50, €1,234.50, 1,234.50 CAD, 1,234.50 (unknown)."""
    code = _code(currency)
    body = f"{abs(amount):,.2f}"
    sign = "-" if round(amount, 2) < 0 else ""
    if code in SYMBOLS:
        return f"{sign}{SYMBOLS[code]}{body}"
    return f"{sign}{body} {code}" if code else f"{sign}{body}"


def money_format(currency: str = "") -> str:
    """The same as `money`, as a printf format for a table's number column (the numbers stay sortable)."""
    code = _code(currency)
    if code in SYMBOLS:
        return f"{SYMBOLS[code]}%,.2f"
    return f"%,.2f {code}" if code else "%,.2f"


@system_only("the metrics job pulls Reddit's daily figures for a connection")
def pull_metrics(store: Store, ws: WorkspaceId, connection_id: uuid.UUID, *, days: int = 7) -> int:
    """Reddit's per-ad, per-day figures of the last `days` days into ads_metrics (upserted); rows written."""
    ctx = Context.job(ws)
    with store.session_scope(ctx) as s:
        c = s.get(AdsConnection, connection_id)
        if c is None or c.status != "active" or not c.ad_account_id:
            return 0
        account, known = c.ad_account_id, bool(c.currency)
    api = connections.api_client(store, ctx, connection_id)
    today = utcnow().date()
    try:
        # connected before the studio kept the currency: one read of the ad account, then never again
        currency = "" if known else _account_currency(api, account)
        answer = api.call("POST", f"/ad_accounts/{account}/reports", data={
            "starts_at": f"{today - dt.timedelta(days=days)}T00:00:00Z", "ends_at": f"{today}T23:59:59Z",
            "breakdowns": ["AD_ID", "DATE"], "fields": ["IMPRESSIONS", "CLICKS", "SPEND", "CONVERSIONS"]})
    except ac.ReconnectNeeded as exc:
        with store.session_scope(ctx) as s:
            row = s.get(AdsConnection, connection_id, with_for_update=True)
            if row is not None:
                connections.mark_reconnect(s, row, exc.message)
        return 0
    finally:
        api.close()
    rows = ((answer.get("data") or {}).get("metrics") or [])
    with store.session_scope(ctx) as s:
        if currency and (row := s.get(AdsConnection, connection_id, with_for_update=True)) is not None:
            connections.remember_currency(s, row, currency)
        existing = {(m.ad_id, m.day): m for m in s.scalars(select(AdsMetric).where(
            AdsMetric.connection_id == connection_id, AdsMetric.day >= today - dt.timedelta(days=days)))}
        for r in rows:
            day = dt.date.fromisoformat(str(r["date"])[:10])
            m = existing.get((str(r["ad_id"]), day))
            if m is None:
                m = AdsMetric(connection_id=connection_id, ad_id=str(r["ad_id"]), day=day)
                s.add(m)
            m.impressions, m.clicks = int(r.get("impressions", 0)), int(r.get("clicks", 0))
            m.spend_micro, m.conversions = int(r.get("spend", 0)), int(r.get("conversions", 0))
            m.updated_at = utcnow()
    return len(rows)


def _account_currency(api: ac.AdsClient, account: str) -> str:
    """The ad account's currency as Reddit reports it; "" when it does not say (the figures still come in)."""
    try:
        return connections.currency_code(api.get(f"/ad_accounts/{account}").get("currency"))
    except ac.ReconnectNeeded:
        raise
    except ac.AdsError:
        return ""


@dataclass(frozen=True)
class AdPerformance:
    ad_id: str
    name: str
    variation_id: uuid.UUID | None
    impressions: int
    clicks: int
    spend: float  # in the account's currency
    conversions: int
    currency: str = ""  # the ad account's ISO code; "" while the studio does not know it

    @property
    def ctr(self) -> float:
        return self.clicks / self.impressions if self.impressions else 0.0

    @property
    def cpc(self) -> float:
        return self.spend / self.clicks if self.clicks else 0.0

    @property
    def cpm(self) -> float:
        return self.spend * 1000 / self.impressions if self.impressions else 0.0


@requires(Permission.VIEW)
def performance(store: Store, ctx: Context, set_id: uuid.UUID) -> list[AdPerformance]:
    """Totals per ad of the set (all synced days), best click-through first."""
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        q = (select(AdsEntity.platform_id, AdsEntity.name, AdsEntity.variation_id,
                    func.coalesce(func.sum(AdsMetric.impressions), 0), func.coalesce(func.sum(AdsMetric.clicks), 0),
                    func.coalesce(func.sum(AdsMetric.spend_micro), 0), func.coalesce(func.sum(AdsMetric.conversions), 0),
                    AdsConnection.currency)
             .join(AdsMetric, (AdsMetric.ad_id == AdsEntity.platform_id) & (AdsMetric.connection_id == AdsEntity.connection_id))
             .join(AdsConnection, AdsConnection.id == AdsEntity.connection_id)
             .where(AdsEntity.campaign_set_id == set_id, AdsEntity.kind == "ad")
             .group_by(AdsEntity.platform_id, AdsEntity.name, AdsEntity.variation_id, AdsConnection.currency))
        out = [AdPerformance(r[0], r[1], r[2], int(r[3]), int(r[4]), int(r[5]) / 1_000_000, int(r[6]), r[7] or "")
               for r in s.execute(q)]
    return sorted(out, key=lambda p: (-p.ctr, -p.clicks, p.name))


@requires(Permission.VIEW)
def performance_csv(store: Store, ctx: Context, set_id: uuid.UUID) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["ad_id", "ad_name", "variation_id", "impressions", "clicks", "ctr", "spend", "cpc", "conversions", "cpm",
                "currency"])
    for p in performance(store, ctx, set_id):
        w.writerow([p.ad_id, p.name, p.variation_id or "", p.impressions, p.clicks, f"{p.ctr:.4f}", f"{p.spend:.2f}",
                    f"{p.cpc:.2f}", p.conversions, f"{p.cpm:.2f}", p.currency])
    return buf.getvalue().encode()


@dataclass(frozen=True)
class SetPerformance:
    """One set's Reddit Ads totals and its daily series (for the Publish page's Engagement, beside organic)."""

    set_id: uuid.UUID
    set_name: str
    impressions: int
    clicks: int
    spend: float
    conversions: int
    daily: tuple[tuple[dt.date, int, int, float], ...]  # (day, impressions, clicks, spend)
    currency: str = ""

    @property
    def ctr(self) -> float:
        return self.clicks / self.impressions if self.impressions else 0.0

    @property
    def cpc(self) -> float:
        return self.spend / self.clicks if self.clicks else 0.0

    @property
    def cpm(self) -> float:
        return self.spend * 1000 / self.impressions if self.impressions else 0.0


@requires(Permission.VIEW)
def by_set(store: Store, ctx: Context) -> list[SetPerformance]:
    """Every set with Reddit Ads figures in the workspace, most spend first; a set synced into ad accounts of two
    currencies has a row per currency (amounts of different currencies are never added up)."""
    from studio.store.campaign_models import CampaignSet

    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        q = (select(AdsEntity.campaign_set_id, CampaignSet.name, AdsConnection.currency, AdsMetric.day,
                    func.sum(AdsMetric.impressions), func.sum(AdsMetric.clicks), func.sum(AdsMetric.spend_micro),
                    func.sum(AdsMetric.conversions))
             .join(AdsMetric, (AdsMetric.ad_id == AdsEntity.platform_id) & (AdsMetric.connection_id == AdsEntity.connection_id))
             .join(AdsConnection, AdsConnection.id == AdsEntity.connection_id)
             .join(CampaignSet, CampaignSet.id == AdsEntity.campaign_set_id)
             .where(AdsEntity.kind == "ad")
             .group_by(AdsEntity.campaign_set_id, CampaignSet.name, AdsConnection.currency, AdsMetric.day)
             .order_by(AdsMetric.day))
        rows = s.execute(q).all()
    names: dict[tuple[uuid.UUID, str], str] = {}
    daily: dict[tuple[uuid.UUID, str], list[tuple[dt.date, int, int, float]]] = {}
    conversions: dict[tuple[uuid.UUID, str], int] = {}
    for set_id, name, currency, day, imp, clicks, spend, conv in rows:
        key = (set_id, currency or "")
        names[key] = name
        daily.setdefault(key, []).append((day, int(imp or 0), int(clicks or 0), int(spend or 0) / 1_000_000))
        conversions[key] = conversions.get(key, 0) + int(conv or 0)
    out = [SetPerformance(key[0], names[key], sum(d[1] for d in days), sum(d[2] for d in days),
                          sum(d[3] for d in days), conversions[key], tuple(days), key[1])
           for key, days in daily.items()]
    return sorted(out, key=lambda p: (-p.spend, p.set_name, p.currency))
