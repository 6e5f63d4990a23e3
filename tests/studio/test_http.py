"""The studio's own HTTP routes (studio.http) under a real uvicorn, as `streamlit run server.py` serves them.

The Stripe webhook route is tested in test_billing_webhooks.py (signature, replay, 408, body cap, timestamps).
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request

import pytest

from studio.http import Endpoints
from studio.settings import load_settings
from studio.store.session import Store
from tests.studio import test_billing_webhooks

serve = test_billing_webhooks.serve


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_healthz_answers(sqlite_store, serve):
    assert _get(serve(Endpoints(store=sqlite_store)).base + "/healthz") == (200, "ok")


def test_readyz_checks_postgres_redis_and_migrations(pg_store, services, serve):
    settings = load_settings({"DATABASE_URL": pg_store.settings.database_url, "SECRET_KEY": "x" * 32,
                              "MIGRATION_DATABASE_URL": pg_store.settings.migration_database_url,
                              "DOTORO_HOME": str(pg_store.settings.home), "REDIS_URL": services["REDIS_URL"]},
                             dotenv=None)
    status, body = _get(serve(Endpoints(settings, store=pg_store)).base + "/readyz")
    assert (status, json.loads(body)) == (200, {"ready": True, "database": "ok", "redis": "ok", "migrations": "ok"})


def test_readyz_names_what_is_not_ready(pg_store, serve):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    settings = load_settings({"DATABASE_URL": pg_store.settings.database_url, "SECRET_KEY": "x" * 32,
                              "MIGRATION_DATABASE_URL": pg_store.settings.migration_database_url,
                              "DOTORO_HOME": str(pg_store.settings.home), "REDIS_URL": f"redis://127.0.0.1:{dead}/0"},
                             dotenv=None)
    status, body = _get(serve(Endpoints(settings, store=pg_store)).base + "/readyz")
    answer = json.loads(body)
    assert status == 503 and answer["ready"] is False and answer["redis"].startswith("unreachable")
    assert answer["database"] == "ok"


def test_readyz_says_when_migrations_are_behind(tmp_path, serve):
    from studio.store import migrate
    from tests.conftest import make_settings

    settings = make_settings(tmp_path / "behind")
    migrate.upgrade(settings, "0001")
    store = Store(settings)
    try:
        status, body = _get(serve(Endpoints(settings, store=store)).base + "/readyz")
    finally:
        store.dispose()
    answer = json.loads(body)
    assert status == 503 and answer["migrations"].startswith("behind: at 0001") and "make migrate" in answer["migrations"]


def test_the_reddit_callback_hands_code_and_state_to_the_accounts_page(sqlite_store, serve):
    base = serve(Endpoints(store=sqlite_store)).base

    class NoFollow(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoFollow)
    with pytest.raises(urllib.error.HTTPError) as answer:
        opener.open(base + "/oauth/reddit/callback?code=c0de&state=st4te&extra=x", timeout=10)
    assert answer.value.code == 303 and answer.value.headers["location"] == "/accounts?code=c0de&state=st4te"
