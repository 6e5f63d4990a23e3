"""In a real browser: connect Reddit Ads through the double's OAuth, pick the ad account, sync a link-ad set,
see its campaigns on Reddit and their performance (issue 21)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ROOT, _free_port, shot, sign_in
from tests.reddit_ads_double import RedditAdsDouble
from tests.studio.reddit_ads_support import ads_env, link_ads

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def double() -> Iterator[RedditAdsDouble]:
    d = RedditAdsDouble().start()
    d.add_business("Acme Outdoor", user="acme_ads")
    yield d
    d.stop()


@pytest.fixture(scope="module")
def ads_studio(tmp_path_factory: pytest.TempPathFactory, double: RedditAdsDouble) -> Iterator[tuple[str, Path]]:
    home = tmp_path_factory.mktemp("ads-home")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MIGRATION_DATABASE_URL", "REDIS_URL")}
    env.update(DOTORO_HOME=str(home / ".dotoro"), BACKGROUND_JOBS="off", PUBLIC_URL=url, **ads_env(double))
    log = open(home / "streamlit.log", "wb")  # noqa: SIM115 - closed at teardown
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(300):
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("streamlit did not answer: " + (home / "streamlit.log").read_text()[-2000:])
        yield url, home
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def _store(home: Path, double: RedditAdsDouble, url: str, monkeypatch: pytest.MonkeyPatch):
    from studio.settings import load_settings
    from studio.store import migrate
    from studio.store.session import Store

    monkeypatch.setenv("DOTORO_HOME", str(home / ".dotoro"))
    monkeypatch.setenv("PUBLIC_URL", url)
    for var in ("DATABASE_URL", "MIGRATION_DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(var, raising=False)
    for k, v in ads_env(double).items():
        monkeypatch.setenv(k, v)
    settings = load_settings()
    migrate.upgrade(settings)
    return Store(settings)


def _seed(store) -> tuple[str, object]:
    from studio import auth
    from studio.context import Context
    from studio.store.campaign_models import CampaignSet, Variation

    email = f"ada{uuid.uuid4().hex[:6]}@example.com"
    account, ws = auth.sign_up(store, email, "Ada Advertiser", "s3cret-pass")
    ctx = Context(user_id=account.id, workspace_id=ws)
    with store.session_scope(ctx) as s:
        cs = CampaignSet(name="Trail shoes on Reddit", dataset_version=1, platform="reddit", format="link_ad",
                         config={}, status="ready", variation_count=6)
        s.add(cs)
        s.flush()
        s.add_all([Variation(id=uuid.uuid4(), campaign_set_id=cs.id, row_index=i, variation_index=0, fields=f,
                             title=f["headline"], status="approved")
                   for i, f in enumerate(link_ads(6, campaigns=2, groups=2))])
    return email, ctx


def test_connect_sync_and_see_reddit_ads(ads_studio, double, page, monkeypatch):
    url, home = ads_studio
    store = _store(home, double, url, monkeypatch)
    email, ctx = _seed(store)
    sign_in(page, url, email)
    page.get_by_role("link", name="Reddit accounts").click()
    page.get_by_role("button", name="Connect Reddit Ads").click()
    link = page.get_by_role("link", name="Continue on Reddit →")
    expect(link).to_be_visible()
    page.goto(link.get_attribute("href"))  # the double's consent page approves and redirects back
    expect(page.get_by_text("Connected Reddit Ads as u/acme_ads")).to_be_visible()
    page.get_by_role("button", name="Use these").click()
    expect(page.get_by_text("Syncs into")).to_be_visible()
    expect(page.get_by_text("spends USD")).to_be_visible()  # the ad account's currency, as Reddit lists it
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    shot(page, "70-reddit-ads-connected")

    page.get_by_role("link", name="Campaign sets").click()
    expect(page.get_by_role("heading", name="Reddit Ads")).to_be_visible()
    page.get_by_role("button", name="Sync (new ads paused)").click()
    expect(page.get_by_text("Last sync:")).to_be_visible()
    expect(page.get_by_text("created 2 campaigns, 4 ad groups, 6 ads")).to_be_visible()
    assert [len(double.of(k)) for k in ("campaign", "ad_group", "ad")] == [2, 4, 6]
    assert {ad["configured_status"] for ad in double.of("ad")} == {"PAUSED"}
    expect(page.get_by_text(re.compile(r"No figures yet: Reddit's impressions"))).to_be_visible()

    from studio.reddit_ads import performance
    from studio.store.base import utcnow

    first = sorted(double.of("ad"), key=lambda ad: ad["name"])[0]
    double.metrics[(first["id"], str(utcnow().date()))] = {"impressions": 4200, "clicks": 84, "spend": 21_000_000,
                                                            "conversions": 3}
    assert performance.pull_metrics(store, ctx.workspace_id, next(iter(_connections(store, ctx)))) == 1
    store.dispose()
    page.reload()
    expect(page.get_by_text("Performance", exact=True)).to_be_visible()
    grid = page.locator('[data-testid="stDataFrame"]').last
    expect(grid).to_contain_text("4200")  # the grid's text behind its canvas: raw numbers (the picture formats them)
    expect(grid).to_contain_text("CPM")
    grid.scroll_into_view_if_needed()
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    shot(page, "71-reddit-ads-synced")
    page.get_by_role("link", name="Publish").click()
    page.get_by_role("tab", name="Engagement").click()
    expect(page.get_by_role("heading", name="Reddit Ads (paid)")).to_be_visible()
    expect(page.get_by_text("4,200").first).to_be_visible()
    expect(page.get_by_text("$21.00").first).to_be_visible()  # the Spend total in the account's currency
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    shot(page, "72-reddit-ads-engagement")


def _connections(store, ctx):
    from studio.reddit_ads import connections

    return [c.id for c in connections.list_connections(store, ctx)]
