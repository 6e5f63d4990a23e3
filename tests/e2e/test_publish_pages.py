"""In a real browser: the Publish page shows what it will do — planned items, their times and account, what it
refuses and why — then the queue after scheduling; the accounts page lists the connected account."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ROOT, _free_port, shot, sign_in, sign_up
from tests.reddit_double import RedditDouble
from tests.studio.test_publishing_support import Pub, connect, make_set, reddit_env

pytestmark = pytest.mark.browser
LONG = "A kettle review " + "x" * 290  # 306 code points: over Reddit's 300


@pytest.fixture(scope="module")
def reddit() -> Iterator[RedditDouble]:
    double = RedditDouble().start()
    double.add_subreddit("tea", flairs=[("f-rev", "Review")])
    double.add_subreddit("cooking")
    yield double
    double.stop()


@pytest.fixture(scope="module")
def publish_studio(tmp_path_factory: pytest.TempPathFactory, reddit: RedditDouble) -> Iterator[tuple[str, Path]]:
    """A studio of its own whose Reddit is the double (the shared e2e server knows no Reddit)."""
    home = tmp_path_factory.mktemp("publish-home")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MIGRATION_DATABASE_URL", "REDIS_URL")}
    env.update(DOTORO_HOME=str(home / ".dotoro"), BACKGROUND_JOBS="off", **reddit_env(reddit))
    log = open(home / "streamlit.log", "wb")  # noqa: SIM115 - closed at teardown
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
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


def _seed(home: Path, reddit: RedditDouble, monkeypatch: pytest.MonkeyPatch) -> str:
    """A member with alice connected and a thread set: two good rows, one title over 300, one unknown subreddit."""
    import uuid

    from studio import auth
    from studio.context import Context
    from studio.settings import load_settings
    from studio.store import migrate
    from studio.store.session import Store

    monkeypatch.setenv("DOTORO_HOME", str(home / ".dotoro"))
    for var in ("DATABASE_URL", "MIGRATION_DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(var, raising=False)
    for k, v in reddit_env(reddit).items():
        monkeypatch.setenv(k, v)
    settings = load_settings()
    migrate.upgrade(settings)
    store = Store(settings)
    email = f"paul{uuid.uuid4().hex[:6]}@example.com"
    account, ws = auth.sign_up(store, email, "Paul Publisher", "s3cret-pass")
    pub = Pub(store, Context(user_id=account.id, workspace_id=ws), reddit)
    connect(pub, "alice")
    make_set(pub, [
        {"title": "Our kettle, reviewed", "body": "Boils in 90 s.", "subreddit": "tea", "flair": "Review",
         "nsfw": "false", "spoiler": "true"},
        {"title": "Tea tips for beginners", "body": "Steep 3 minutes.", "subreddit": "cooking", "nsfw": "true"},
        {"title": LONG, "body": "b", "subreddit": "cooking"},
        {"title": "Lost post", "body": "b", "subreddit": "gone"},
    ])
    store.dispose()
    return email


def test_the_publish_page_shows_the_plan_its_refusals_and_the_queue(publish_studio, reddit, page, monkeypatch):
    url, home = publish_studio
    email = _seed(home, reddit, monkeypatch)
    sign_in(page, url, email)
    page.get_by_role("link", name="Reddit accounts").click()
    expect(page.get_by_text("u/alice").first).to_be_visible()
    page.get_by_role("link", name="Publish").click()
    page.get_by_role("button", name="Preview the plan").click()
    expect(page.get_by_text("2 items planned · 2 refused")).to_be_visible()
    # the week of the first item: both, unless they straddle midnight between a Sunday and a Monday
    expect(page.get_by_text(re.compile(r"times in Europe/London · [12] items?"))).to_be_visible()
    grids = page.locator('[data-testid="stDataFrame"]')
    expect(grids).to_have_count(2)
    planned, refused = grids.nth(0), grids.nth(1)
    expect(planned).to_contain_text("Our kettle, reviewed")
    expect(planned).to_contain_text("Tea tips for beginners")
    expect(planned).to_contain_text("u/alice")
    expect(planned).to_contain_text("r/tea")
    expect(planned).to_contain_text("Review")
    expect(planned).to_contain_text("spoiler")
    expect(planned).to_contain_text("NSFW")
    # times in the set's zone: never in the past, the first soon (minutes rounded up, send-time spacing on a slow
    # machine may add a few), alice's second 10 minutes after it
    now = dt.datetime.now(ZoneInfo("Europe/London")).replace(tzinfo=None)
    whens = [dt.datetime.strptime(f"{now.year} {w}", "%Y %a %d %b %H:%M")
             for w in re.findall(r"\w{3} \d{2} \w{3} \d{2}:\d{2}", planned.text_content() or "")]
    assert len(whens) == 2 and now < whens[0] <= now + dt.timedelta(minutes=20), (now, whens)
    assert whens[1] - whens[0] >= dt.timedelta(minutes=10)
    expect(refused).to_contain_text("The Title field is too long: 306 characters, limit 300")
    expect(refused).to_contain_text("r/gone does not exist.")
    expect(planned).not_to_contain_text("A kettle review")
    shot(page, "41-publish-plan")
    page.get_by_role("button", name="Schedule 2 items").click()
    expect(page.get_by_text("Scheduled 2 items.")).to_be_visible()
    page.get_by_role("tab", name="Calendar & queue").click()
    queue = page.locator('[data-testid="stDataFrame"]').last
    expect(queue).to_contain_text("Scheduled")
    expect(queue).to_contain_text("Our kettle, reviewed")
    expect(queue).to_contain_text("u/alice")
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    shot(page, "42-publish-queue")
    assert reddit.posts == []  # planned for later: nothing was sent by looking


def test_publish_and_accounts_pages_without_reddit(studio_url, page):
    sign_up(page, studio_url, "Paul Publisher", demo=True)
    page.get_by_role("link", name="Reddit accounts").click()
    expect(page.get_by_role("heading", name="Reddit accounts").first).to_be_visible()
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    shot(page, "40-accounts")
    page.get_by_role("link", name="Publish").click()
    expect(page.get_by_text("No Reddit campaign set yet")).to_be_visible()
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    shot(page, "41-publish")
