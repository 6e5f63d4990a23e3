"""Keys: shown once and kept as a hash; revoked, expired or unknown → 401; scopes and roles → 403; every call
audited and counted; per-key rate limit → 429 with Retry-After; Idempotency-Key replays a POST."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import func, select

from studio import audit, templates
from studio.api import keys
from studio.api.ratelimit import RateLimiter
from studio.billing import Metric
from studio.billing.usage import used
from studio.context import Context, Role
from studio.errors import PermissionDenied, ValidationFailed
from studio.store.api_models import ApiKey
from tests.api.conftest import bearer
from tests.api.test_tenancy import BODIES, _api_routes, _b_objects, _fill

TEMPLATE = {"name": "Deals", "format": "reddit/thread", "fields": {"title": "{{ name }}", "subreddit": "deals"}}


def test_the_secret_is_shown_once_and_kept_as_a_hash(store, ws):
    created = keys.create_key(store, ws.owner, "n8n", ["read"], Role.MEMBER)
    assert created.secret.startswith("dotoro_sk_") and len(created.secret) == len("dotoro_sk_") + 43
    with store.session_scope(ws.owner) as s:
        row = s.get(ApiKey, created.info.id)
        assert row.key_hash == hashlib.sha256(created.secret.encode()).hexdigest()
        assert created.secret not in repr(row.__dict__)
    listed = keys.list_keys(store, ws.owner)
    assert [(k.name, k.prefix, k.scopes, k.state()) for k in listed] == [("n8n", created.secret[:16], ("read",), "active")]


def test_only_owners_and_admins_manage_keys_and_never_above_their_role(store, ws):
    member = ws.member(Role.MEMBER)
    with pytest.raises(PermissionDenied):
        keys.create_key(store, member, "mine", ["read"], Role.VIEWER)
    admin = ws.member(Role.ADMIN)
    with pytest.raises(ValidationFailed, match="above yours"):
        keys.create_key(store, admin, "too strong", ["admin"], Role.OWNER)
    with pytest.raises(ValidationFailed, match="scope"):
        keys.create_key(store, admin, "odd", ["delete"], Role.ADMIN)
    assert keys.create_key(store, admin, "ok", ["write"], Role.ADMIN).info.role == Role.ADMIN


@pytest.mark.parametrize("header", [None, "Bearer nonsense", "Bearer dotoro_sk_" + "x" * 43, "Basic abc"])
def test_no_or_an_unknown_key_is_401(client, header):
    answer = client.get("/api/v1/datasets", headers={"Authorization": header} if header else {})
    assert answer.status_code == 401 and answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["www-authenticate"] == "Bearer"
    assert "API key" in answer.json()["detail"]


def test_a_revoked_or_expired_key_is_401(client, store, ws):
    secret = ws.key()
    assert client.get("/api/v1/datasets", headers=bearer(secret)).status_code == 200
    info = next(k for k in keys.list_keys(store, ws.owner))
    keys.revoke_key(store, ws.owner, info.id)
    answer = client.get("/api/v1/datasets", headers=bearer(secret))
    assert answer.status_code == 401 and "revoked" in answer.json()["detail"]

    later = ws.key(expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    assert client.get("/api/v1/datasets", headers=bearer(later)).status_code == 200
    with store.session_scope(ws.owner) as s:
        s.scalar(select(ApiKey).where(ApiKey.key_hash == keys.hash_token(later))).expires_at = \
            dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    answer = client.get("/api/v1/datasets", headers=bearer(later))
    assert answer.status_code == 401 and "expired" in answer.json()["detail"]


def test_a_read_key_gets_403_on_every_write(client, endpoints, store, ws):
    secret = ws.key(scopes=("read",))
    ids = _b_objects(store)  # any ids: the scope is refused before a service looks them up
    writes = [(m, p) for m, p, _ in _api_routes(endpoints) if m in ("POST", "PUT", "PATCH", "DELETE")]
    assert len(writes) >= 15
    wrong = []
    for method, path in writes:
        body = BODIES.get((method, path), {"json": {}})
        answer = client.request(method, "/api/v1" + _fill(path, ids), headers=bearer(secret), **body)
        if answer.status_code != 403 and not (path == "/preview" and answer.status_code == 422):
            wrong.append(f"{method} {path}: {answer.status_code}")
        elif answer.status_code == 403:
            assert "lacks the" in answer.json()["detail"]
    assert not wrong, wrong


def test_the_key_acts_with_its_role_and_the_services_refuse(client, store, ws):
    """A key with the write scope but the viewer role: the template service itself refuses (403)."""
    viewer_key = ws.key(scopes=("write", "read"), role=Role.VIEWER)
    answer = client.post("/api/v1/templates", json=TEMPLATE, headers=bearer(viewer_key))
    assert answer.status_code == 403 and "viewer" in answer.json()["detail"]
    assert client.get("/api/v1/templates", headers=bearer(viewer_key)).status_code == 200


def test_a_demoted_creator_caps_the_key(client, store, ws):
    from studio import workspaces

    admin = ws.member(Role.ADMIN)
    secret = keys.create_key(store, admin, "admin's", ["admin"], Role.ADMIN).secret
    assert client.post("/api/v1/templates", json=TEMPLATE, headers=bearer(secret)).status_code == 201
    workspaces.change_role(store, ws.owner, admin.user_id, Role.VIEWER)
    answer = client.post("/api/v1/templates", json={**TEMPLATE, "name": "again"}, headers=bearer(secret))
    assert answer.status_code == 403
    workspaces.remove_member(store, ws.owner, admin.user_id)
    assert client.get("/api/v1/templates", headers=bearer(secret)).status_code == 401


def test_every_call_is_audited_and_counted(client, store, ws):
    secret = ws.key()
    job = Context.job(ws.owner.workspace_id)
    with store.session_scope(job) as s:
        before = used(s, Metric.API_CALLS)
    client.get("/api/v1/templates", headers=bearer(secret))
    client.post("/api/v1/templates", json={**TEMPLATE, "name": ""}, headers=bearer(secret))  # 422 counts too
    with store.session_scope(job) as s:
        assert used(s, Metric.API_CALLS) == before + 2
    rows = [r for r in audit.search(store, ws.owner, audit.AuditFilter()) if r.action == "api.call"]
    assert [r.summary.split(" (key")[0] for r in rows[:2]] == ["POST /api/v1/templates → 422", "GET /api/v1/templates → 200"]
    assert rows[0].client_address == "testclient"
    info = keys.list_keys(store, ws.owner)[0]
    assert info.last_used_at is not None and info.last_used_address == "testclient"


def test_rate_limit_answers_429_with_retry_after(client, endpoints, store, ws):
    redis = None
    if store.settings.redis_url:
        from studio.jobs import redis_connection

        redis = redis_connection(store.settings)
    now = 1_800_000_030.0  # a fixed clock: the four calls fall in one window, 30 s before it ends
    endpoints.api.state.services._limiter = RateLimiter(3, redis, clock=lambda: now)
    secret, other = ws.key(), ws.key()
    codes = [client.get("/api/v1/datasets", headers=bearer(secret)).status_code for _ in range(4)]
    assert codes[:3] == [200, 200, 200] and codes[3] == 429
    answer = client.get("/api/v1/datasets", headers=bearer(secret))
    assert answer.status_code == 429 and answer.headers["retry-after"] == "30"
    assert "more than 3 requests" in answer.json()["detail"]
    assert client.get("/api/v1/datasets", headers=bearer(other)).status_code == 200  # per key


def test_idempotency_key_replays_a_post_and_refuses_another_body(client, store, ws):
    secret = ws.key()
    h = {**bearer(secret), "Idempotency-Key": "create-deals-1"}
    first = client.post("/api/v1/templates", json=TEMPLATE, headers=h)
    again = client.post("/api/v1/templates", json=TEMPLATE, headers=h)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert [t.name for t in templates.list_templates(store, ws.owner)] == ["Deals"]
    other = client.post("/api/v1/templates", json={**TEMPLATE, "name": "Other"}, headers=h)
    assert other.status_code == 422 and "another body" in other.json()["detail"]
    fresh = client.post("/api/v1/templates", json={**TEMPLATE, "name": "Other"},
                        headers={**bearer(secret), "Idempotency-Key": "create-other"})
    assert fresh.status_code == 201
    with store.session_scope(ws.owner) as s:
        assert s.scalar(select(func.count()).select_from(ApiKey)) == 1


def test_bodies_are_capped(client, ws):
    answer = client.post("/api/v1/templates", content=b"{" + b" " * (1024 * 1024 + 10) + b"}",
                         headers={**bearer(ws.key()), "Content-Type": "application/json"})
    assert answer.status_code == 413 and answer.headers["content-type"] == "application/problem+json"


def test_an_idempotency_key_still_running_is_409_and_a_server_error_releases_it(client, store, ws):
    from studio.api import access

    secret = ws.key()
    who = access.authenticate(store, secret)
    route, body = "POST /templates", b'{"name": "x"}'
    assert access.claim(store, who, route, "busy", hashlib.sha256(body).hexdigest()) is None  # another request runs
    answer = client.post("/api/v1/templates", content=body, headers={**bearer(secret), "Idempotency-Key": "busy",
                                                                      "Content-Type": "application/json"})
    assert answer.status_code == 409 and answer.headers["retry-after"] == "1"
    access.finish(store, who, route, "busy", None)  # it failed with a server error: the key is free again
    answer = client.post("/api/v1/templates", json=TEMPLATE, headers={**bearer(secret), "Idempotency-Key": "busy"})
    assert answer.status_code == 201


def test_a_body_that_does_not_arrive_in_time_is_408(endpoints, ws):
    import asyncio

    from starlette.applications import Starlette

    endpoints.api.state.services.read_timeout_s = 0.3
    app = Starlette(routes=endpoints.routes())
    sent: list[dict] = []

    async def dripping() -> dict:  # announces 100 bytes, sends none
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/api/v1/templates", "raw_path": b"/api/v1/templates",
             "root_path": "", "query_string": b"", "scheme": "http", "http_version": "1.1",
             "client": ("127.0.0.1", 5000), "server": ("testserver", 80),
             "headers": [(b"authorization", f"Bearer {ws.key()}".encode()), (b"content-type", b"application/json"),
                         (b"content-length", b"100")]}
    asyncio.run(asyncio.wait_for(app(scope, dripping, send), 30))
    assert sent[0]["status"] == 408 and (b"connection", b"close") in sent[0]["headers"]


def test_calls_over_the_plans_monthly_allowance_are_402(tmp_path, monkeypatch):
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from studio.billing import record_usage
    from studio.http import Endpoints
    from studio.store import migrate
    from studio.store.session import Store
    from tests.api.conftest import new_workspace
    from tests.conftest import make_settings

    settings = make_settings(tmp_path / "home", STRIPE_API_KEY="sk_test_dummy")  # billing on: the Free plan's limits
    migrate.upgrade(settings)
    store = Store(settings)
    ws = new_workspace(store)
    secret = ws.key()
    endpoints = Endpoints(store=store)
    try:
        with TestClient(Starlette(routes=endpoints.routes())) as client:
            assert client.get("/api/v1/templates", headers=bearer(secret)).status_code == 200
            with store.session_scope(Context.job(ws.owner.workspace_id)) as s:
                record_usage(s, Metric.API_CALLS, 999, "test:spent")  # 1 (the call above) + 999 = Free's 1,000
            answer = client.get("/api/v1/templates", headers=bearer(secret))
            assert answer.status_code == 402 and answer.headers["content-type"] == "application/problem+json"
            assert "1,000" in answer.json()["detail"], answer.json()
    finally:
        endpoints.close()
        store.dispose()
