"""The API app (studio.api) behind studio.http's routes, called through httpx's in-process transport."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from studio import auth, invitations
from studio.api import keys
from studio.context import Context, Role
from studio.http import Endpoints
from studio.store.session import Store

PRODUCTS_CSV = (b"name,city,price,url\n"
                b"Trail Shoe,Bergen,120,https://example.com/1\n"
                b"City Boot,Oslo,90,https://example.com/2\n"
                b"Rain Coat,Paris,150,https://example.com/3\n")
THREAD = {"platform": "reddit", "format": "thread",
          "templates": {"subreddit": "deals", "title": "{{ name }} in {{ city }}", "body": "${{ price }}"}}


@dataclass
class Workspace:
    owner: Context
    store: Store

    def key(self, scopes: tuple[str, ...] = ("admin",), role: Role = Role.OWNER, ctx: Context | None = None,
            **kw: object) -> str:
        return keys.create_key(self.store, ctx or self.owner, f"test {uuid.uuid4().hex[:6]}", scopes, role, **kw).secret

    def member(self, role: Role) -> Context:
        account, _ = auth.sign_up(self.store, f"m{uuid.uuid4().hex[:10]}@example.com", "Member", "correct horse")
        link = invitations.invite(self.store, self.owner, account.email, role)
        invitations.accept(self.store, link.url.split("invite=")[1], account)
        return Context(user_id=account.id, workspace_id=self.owner.workspace_id)


def new_workspace(store: Store) -> Workspace:
    account, ws = auth.sign_up(store, f"o{uuid.uuid4().hex[:10]}@example.com", "Owner", "correct horse")
    return Workspace(Context(user_id=account.id, workspace_id=ws), store)


@pytest.fixture()
def endpoints(store: Store) -> Iterator[Endpoints]:
    ep = Endpoints(store=store)
    yield ep
    ep.close()


@pytest.fixture()
def client(endpoints: Endpoints) -> Iterator[TestClient]:
    with TestClient(Starlette(routes=endpoints.routes()), base_url="http://testserver", raise_server_exceptions=False) as c:
        yield c


def point_jobs_at(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Generation jobs open their own store from the environment: the test's store."""
    settings = store.settings
    monkeypatch.setenv("DOTORO_HOME", str(settings.home))
    monkeypatch.setenv("SECRET_KEY", "test-secret")
    for name, value in (("DATABASE_URL", settings.database_url if store.is_postgres else None),
                        ("MIGRATION_DATABASE_URL", settings.migration_database_url if store.is_postgres else None),
                        ("REDIS_URL", settings.redis_url or None)):
        if value:
            monkeypatch.setenv(name, value)
        else:
            monkeypatch.delenv(name, raising=False)


@pytest.fixture()
def ws(store: Store, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    point_jobs_at(store, monkeypatch)
    return new_workspace(store)


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


Upload = Callable[..., dict]


@pytest.fixture()
def upload(client: TestClient) -> Upload:
    def go(secret: str, data: bytes = PRODUCTS_CSV, name: str = "products.csv") -> dict:
        r = client.post("/api/v1/datasets", files={"file": (name, data, "text/csv")}, headers=bearer(secret))
        assert r.status_code == 201, r.text
        return r.json()

    return go


def work(store: Store) -> None:
    """Team mode: run the queued generation jobs (the embedded mode ran them inline already)."""
    if not store.settings.redis_url:
        return
    from redis import Redis
    from rq import SimpleWorker

    from workers import queues

    conn = Redis.from_url(store.settings.redis_url)
    q = queues.queue(store.settings, "generation", connection=conn)
    SimpleWorker([q], connection=conn, serializer=q.serializer).work(burst=True)
