"""In a real browser: Workspace → API keys: create a key (shown once), use it against /api/v1 on the same port,
see its last use, revoke it (the API then answers 401); screenshots looked at."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from starlette.applications import Starlette
from starlette.testclient import TestClient

from studio.http import Endpoints
from studio.settings import load_settings
from studio.store.session import Store
from tests.e2e.conftest import shot, sign_up

pytestmark = pytest.mark.browser


def _api(studio_home, secret: str) -> tuple[int, dict]:
    """The API over the served studio's store (the e2e server runs app.py; server.py mounts the same routes)."""
    store = Store(load_settings({"DOTORO_HOME": str(studio_home / ".dotoro")}, dotenv=None))
    endpoints = Endpoints(store=store)
    try:
        with TestClient(Starlette(routes=endpoints.routes())) as client:
            answer = client.get("/api/v1/datasets", headers={"Authorization": f"Bearer {secret}"})
            return answer.status_code, answer.json()
    finally:
        endpoints.close()
        store.dispose()


def test_create_use_and_revoke_a_key(studio_url, studio_home, page):
    sign_up(page, studio_url, "Kim Keys", demo=True)
    page.goto(studio_url + "/api-keys")
    expect(page.get_by_role("heading", name="API keys")).to_be_visible()
    expect(page.get_by_text("No API keys yet")).to_be_visible()
    page.get_by_role("textbox", name="Name").fill("n8n production")
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_text("Copy the key now")).to_be_visible()
    # the whole key (the list below shows only its prefix), once Streamlit has drawn it
    whole = page.locator("code").filter(has_text=re.compile(r"^\s*dotoro_sk_\S{43}\s*$"))
    expect(whole).to_have_count(1)
    secret = whole.inner_text().strip()
    assert secret.startswith("dotoro_sk_") and len(secret) == 53
    page.wait_for_timeout(800)
    shot(page, "api-keys-created")

    status, body = _api(studio_home, secret)
    assert status == 200 and [d["name"] for d in body["items"]] == ["Demo products"]
    page.reload()
    expect(page.get_by_text("from testclient")).to_be_visible()  # last used: time and address
    expect(page.get_by_text("Copy the key now")).to_have_count(0)  # shown once
    page.get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("revoked")).to_be_visible()
    page.wait_for_timeout(800)
    shot(page, "api-keys-revoked")
    status, body = _api(studio_home, secret)
    assert status == 401 and "revoked" in body["detail"]
