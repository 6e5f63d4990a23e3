"""AppTest fixtures: the studio from app.py on a fresh embedded store per test."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.feed_server import FeedServer

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def navigation_mode(monkeypatch):
    """AppTest re-detects the legacy pages/ mode on every run; a served studio leaves it after its first
    st.navigation call. Pin the served behaviour so every run goes through app.py's gate."""
    from streamlit.runtime.pages_manager import PagesManager

    original = PagesManager.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)


@pytest.fixture()
def studio_env(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "dotoro"
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("DOTORO_HOME", str(home))
    monkeypatch.setenv("BCRYPT_ROUNDS", "4")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("MIGRATION_DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    return home


@pytest.fixture()
def new_app(studio_env) -> Callable[[], AppTest]:
    def make() -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        at.run()
        return at
    return make


def sign_up(at: AppTest, email: str | None = None, name: str = "Ada Analyst", password: str = "s3cret-pass") -> str:
    email = email or f"ada{uuid.uuid4().hex[:6]}@example.com"
    at.text_input(key="signup_name").input(name)
    at.text_input(key="signup_email").input(email)
    at.text_input(key="signup_password").input(password)
    at.text_input(key="signup_confirm").input(password)
    next(b for b in at.button if b.label == "Create account").click()
    at.run()
    return email


def sign_in(at: AppTest, email: str, password: str) -> None:
    at.text_input(key="signin_email").input(email)
    at.text_input(key="signin_password").input(password)
    next(b for b in at.button if b.label == "Sign in").click()
    at.run()


def texts(at: AppTest) -> str:
    """Everything a user reads on the page, as one string."""
    parts = [m.value for m in at.markdown] + [t.value for t in at.title] + [h.value for h in at.subheader]
    parts += [e.value for e in at.error] + [w.value for w in at.warning] + [s.value for s in at.success]
    parts += [i.value for i in at.info] + [c.value for c in at.caption]
    return "\n".join(str(p) for p in parts)


@pytest.fixture()
def server(monkeypatch) -> Iterator[FeedServer]:
    """A local feed server the studio may fetch from (127.0.0.1 allowed for this test)."""
    monkeypatch.setenv("FEED_ALLOWED_NETWORKS", "127.0.0.1")
    s = FeedServer().start()
    yield s
    s.stop()
