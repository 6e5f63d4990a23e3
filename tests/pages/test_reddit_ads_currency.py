"""Reddit Ads spend in the ad account's own currency, end to end: the pick through the Ads-API double stores the
account's currency, and the set's Performance table and the Engagement totals show $ / € amounts; a connection
made before the studio kept currencies shows plain amounts said in words until the metrics pull learns it."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import update
from streamlit.testing.v1 import AppTest

from studio.reddit_ads import connections, performance
from studio.store.ads_models import AdsConnection
from studio.store.base import utcnow
from tests.studio.reddit_ads_support import ads, connect, link_ads, make_ads, make_set  # noqa: F401
from tests.studio.test_reddit_ads import sync


@pytest.fixture()
def a(pg_store, ads, monkeypatch):  # noqa: F811
    return make_ads(pg_store, ads, monkeypatch)


def _views(store, ctx, set_id) -> None:
    from types import SimpleNamespace

    from studio.ui import reddit_ads

    reddit_ads._performance(store, ctx, SimpleNamespace(id=set_id, name="Trail shoes"))
    reddit_ads.engagement(store, ctx)


def _spent(a, *, currency: str = "USD"):
    """A connected set whose one ad spent 1,234.50 in the account's currency, pulled by the metrics job."""
    conn = connect(a, currency=currency)
    set_id = make_set(a, link_ads(1, campaigns=1, groups=1))
    sync(a, set_id, conn)
    (ad,) = a.double.of("ad")
    a.double.metrics[(ad["id"], str(utcnow().date()))] = {"impressions": 123_456, "clicks": 2_469,
                                                          "spend": 1_234_500_000, "conversions": 7}
    assert performance.pull_metrics(a.store, a.ws, conn.id) == 1
    return conn, set_id


def _render(a, set_id) -> AppTest:
    at = AppTest.from_function(_views, args=(a.store, a.ctx, set_id), default_timeout=60).run()
    assert not at.exception, at.exception
    return at


def _money_formats(at: AppTest) -> set[str]:
    """The printf formats of the money columns of both tables (the set's ads, the workspace's sets)."""
    out = set()
    for frame in at.dataframe:
        columns = json.loads(frame.proto.columns)
        out |= {columns[c]["type_config"]["format"] for c in ("Spend", "CPC", "CPM")}
    return out


def _spend_metric(at: AppTest) -> str:
    return next(m.value for m in at.metric if m.label == "Spend")


def _in_words(at: AppTest) -> bool:
    return any("ad account's currency" in c.value for c in at.caption)


@pytest.mark.parametrize(("currency", "fmt", "total"), [("USD", "$%,.2f", "$1,234.50"), ("EUR", "€%,.2f", "€1,234.50"),
                                                         ("CAD", "%,.2f CAD", "1,234.50 CAD")])
def test_a_picked_ad_account_shows_spend_in_its_currency(a, currency, fmt, total):
    conn, set_id = _spent(a, currency=currency)
    assert conn.currency == currency  # the pick kept what Reddit's account list said
    at = _render(a, set_id)
    assert len(at.dataframe) == 2 and _money_formats(at) == {fmt}
    assert _spend_metric(at) == total
    assert not _in_words(at)  # the symbol or code says it
    lines = performance.performance_csv(a.store, a.ctx, set_id).decode().splitlines()
    assert lines[0].endswith(",cpm,currency") and lines[1].endswith(f",1234.50,0.50,7,10.00,{currency}")


def test_a_connection_from_before_currencies_renders_plain_until_the_metrics_pull_learns_it(a):
    conn, set_id = _spent(a, currency="EUR")
    with a.store.session_scope(a.ctx) as s:  # as migration 0022 leaves a connection made before it
        s.execute(update(AdsConnection).where(AdsConnection.id == conn.id).values(currency=""))
    at = _render(a, set_id)
    assert _money_formats(at) == {"%,.2f"} and _spend_metric(at) == "1,234.50"
    assert _in_words(at)  # no symbol is made up: the caption says whose currency it is

    reads = len([c for c in a.double.calls if c[:2] == ("GET", f"/api/v3/ad_accounts/{a.ids['ad_account']}")])
    assert performance.pull_metrics(a.store, a.ws, conn.id) == 1
    assert performance.pull_metrics(a.store, a.ws, conn.id) == 1
    after = len([c for c in a.double.calls if c[:2] == ("GET", f"/api/v3/ad_accounts/{a.ids['ad_account']}")])
    assert after - reads == 1  # one read of the account while its currency was unknown, none once it is known
    at = _render(a, set_id)
    assert _money_formats(at) == {"€%,.2f"} and _spend_metric(at) == "€1,234.50"


def test_listing_the_accounts_refreshes_a_changed_currency_and_a_new_pick_takes_the_new_accounts(a):
    conn = connect(a)
    a.double.businesses[a.ids["business"]]["currency"] = "GBP"  # changed on Reddit's side
    connections.choices(a.store, a.ctx, conn.id)  # the Accounts page's picker reads the list anyway
    assert [c.currency for c in connections.list_connections(a.store, a.ctx)] == ["GBP"]
    a.double.businesses[a.ids["business"]]["currency"] = "jpy!"  # not a code: the known one stays
    connections.choices(a.store, a.ctx, conn.id)
    assert [c.currency for c in connections.list_connections(a.store, a.ctx)] == ["GBP"]


def test_sets_in_two_currencies_are_never_added_up(a):
    _spent(a, currency="USD")
    conn_eur = connect(a, user="euro_ads", currency="EUR")
    set_eur = make_set(a, link_ads(1, campaigns=1, groups=1))
    sync(a, set_eur, conn_eur)
    ad = next(ad for ad in a.double.of("ad") if ad["ad_account_id"] == a.ids["ad_account"])
    a.double.metrics[(ad["id"], str(utcnow().date()))] = {"impressions": 10, "clicks": 1, "spend": 5_000_000,
                                                          "conversions": 0}
    assert performance.pull_metrics(a.store, a.ws, conn_eur.id) == 1
    rows = performance.by_set(a.store, a.ctx)
    assert [(r.spend, r.currency) for r in rows] == [(1234.5, "USD"), (5.0, "EUR")]
    at = _render(a, set_eur)
    assert _spend_metric(at) == "–"  # no total of dollars and euros
    assert list(at.dataframe[-1].value["Currency"]) == ["USD", "EUR"]


def test_a_connection_made_before_migration_0022_keeps_working_with_no_currency(sqlite_store, sqlite_settings):
    import uuid

    from sqlalchemy import create_engine, inspect

    from studio import auth
    from studio.context import Context
    from studio.store import migrate

    account, ws = auth.sign_up(sqlite_store, f"m{uuid.uuid4().hex[:6]}@example.com", "Mo Migrator", "longenough")
    ctx = Context(user_id=account.id, workspace_id=ws)
    sqlite_store.dispose()
    migrate.downgrade(sqlite_settings, "0021")
    engine = create_engine(sqlite_settings.database_url)
    assert "currency" not in {c["name"] for c in inspect(engine).get_columns("ads_connections")}
    with engine.begin() as c:  # a connection as 0019-0021 wrote it
        c.exec_driver_sql(
            "insert into ads_connections (id, workspace_id, username, scopes, business_id, ad_account_id, "
            "ad_account_name, funding_instrument_id, profile_id, status, status_reason, created_at, updated_at) "
            "values (?, ?, 'old_ads', 'adsread adsedit', 'b1', 'a2_1', 'Old ads', 'fi1', 't2_p1', 'active', '', "
            "'2026-01-01 00:00:00', '2026-01-01 00:00:00')", (uuid.uuid4().hex, uuid.UUID(str(ws)).hex))
    engine.dispose()
    migrate.upgrade(sqlite_settings)
    (old,) = connections.list_connections(sqlite_store, ctx)
    assert (old.username, old.ad_account_name, old.currency, old.ready) == ("old_ads", "Old ads", "", True)
