"""The studio served by `streamlit run` on a free port, driven by Playwright in Debian's Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROME_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def studio_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The served studio's DOTORO_HOME (tests may seed its embedded store directly)."""
    return tmp_path_factory.mktemp("e2e-home")


@pytest.fixture(scope="session")
def studio_url(studio_home: Path) -> Iterator[str]:
    home = studio_home
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MIGRATION_DATABASE_URL", "REDIS_URL")}
    env["DOTORO_HOME"] = str(home / ".dotoro")
    env["BACKGROUND_JOBS"] = "on"  # as users run it: the server sends due posts itself
    env["FEED_ALLOWED_NETWORKS"] = "127.0.0.1"  # URL data sets from the tests' local feed server (issue 19)
    env["WEBHOOK_ALLOW_PRIVATE"] = "on"  # outgoing webhooks and Slack posts to the tests' local receivers
    log = open(home / "streamlit.log", "wb")  # noqa: SIM115 - closed at teardown
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("streamlit did not answer: " + (home / "streamlit.log").read_text()[-2000:])
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory):
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.fail("Debian's chromium is missing: `make test` installs it (apt-get install chromium).")
    home = tmp_path_factory.mktemp("chromehome")
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": f"{home}/.config", "XDG_CACHE_HOME": f"{home}/.cache"}
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROME_ARGS, env=env)
        yield b
        b.close()


@pytest.fixture(autouse=True, scope="session")
def _patient_expectations():
    """Streamlit reruns take longer on a busy 2-core CI machine than Playwright's 5 s default."""
    from playwright.sync_api import expect

    expect.set_options(timeout=30_000)


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 2000})
    pg = context.new_page()
    pg.set_default_timeout(45_000)
    yield pg
    context.close()


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def wait_for_session_cookie(page, timeout_ms: int = 45_000) -> None:
    """Wait until the sign-in cookie is in the browser; on a timeout, say what the page held (the cookie
    component's frames, the cookies, a screenshot) instead of a bare timeout."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function("document.cookie.includes('dotoro_session=')", timeout=timeout_ms)
    except PlaywrightTimeout:
        frames = [f.url for f in page.frames if "component" in f.url]
        cookies = sorted(c["name"] for c in page.context.cookies())
        shot(page, "cookie-timeout")
        raise AssertionError(f"no session cookie after {timeout_ms} ms; cookie component frames: {frames}; "
                             f"cookies: {cookies}; page: {page.url}") from None


def sign_up(page, url: str, name: str, *, demo: bool = False) -> str:
    """Create an account through the form; wait until the sign-in cookie is written (its component reruns
    the page once), so the next click is not swallowed by that rerun. Optionally load the demo data set."""
    import uuid

    from playwright.sync_api import expect

    email = f"{name.split()[0].lower()}{uuid.uuid4().hex[:6]}@example.com"
    page.goto(url)
    page.get_by_role("tab", name="Create account").click()
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Work email").fill(email)
    page.get_by_label("Password", exact=True).last.fill("s3cret-pass")
    page.get_by_label("Repeat password").fill("s3cret-pass")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Home").first).to_be_visible()
    wait_for_session_cookie(page)
    page.wait_for_timeout(500)
    if demo:
        page.get_by_role("button", name="Load the demo data set").click()
        expect(page.get_by_text("Loaded 'Demo products'")).to_be_visible()
    return email


def seed_account(studio_home: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> tuple[Any, Any, str]:
    """An account in the served studio's embedded store, made directly (for tests that seed data):
    (store, context, email); dispose the store before the browser signs in."""
    import uuid

    from studio import auth
    from studio.context import Context
    from studio.settings import load_settings
    from studio.store import migrate
    from studio.store.session import Store

    monkeypatch.setenv("DOTORO_HOME", str(studio_home / ".dotoro"))
    for var in ("DATABASE_URL", "MIGRATION_DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(var, raising=False)
    settings = load_settings()
    migrate.upgrade(settings)
    store = Store(settings)
    email = f"{name.split()[0].lower()}{uuid.uuid4().hex[:6]}@example.com"
    account, ws = auth.sign_up(store, email, name, "s3cret-pass")
    return store, Context(user_id=account.id, workspace_id=ws), email


def sign_in(page, url: str, email: str) -> None:
    """Sign in through the form and wait for the session cookie (see `sign_up`)."""
    from playwright.sync_api import expect

    page.goto(url)
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).first.fill("s3cret-pass")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Home").first).to_be_visible()
    wait_for_session_cookie(page)

