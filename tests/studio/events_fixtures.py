"""Fixtures of the events tests: a store whose webhooks may reach 127.0.0.1 and retry at once, members by role,
and a held in-process runner (studio.jobs) so a test decides when the queued dispatch and delivery jobs run."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from studio import auth, invitations, jobs
from studio.context import Context, Role
from studio.store import migrate
from studio.store.session import Store
from tests.conftest import make_settings

EVENT_ENV = {"WEBHOOK_ALLOW_PRIVATE": "on", "WEBHOOK_RETRY_BASE_SECONDS": "0", "WEBHOOK_TIMEOUT_SECONDS": "5"}


class HeldJobs:
    """The embedded port's runner, holding jobs until `run()` (what EmbeddedWorkers does on its thread)."""

    def __init__(self) -> None:
        self.waiting: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []

    def submit(self, fn: Callable[..., Any], args: tuple[Any, ...], job_id: str | None) -> bool:
        self.waiting.append((fn, args))
        return True

    def run(self) -> int:
        done = 0
        while self.waiting:
            fn, args = self.waiting.pop(0)
            fn(*args)
            done += 1
        return done


@pytest.fixture()
def held() -> Iterator[HeldJobs]:
    runner = HeldJobs()
    jobs.install(runner)
    yield runner
    jobs.uninstall(runner)


@pytest.fixture(params=["sqlite", "postgres"])
def estore(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Store]:
    """A store in the embedded job mode (no Redis: jobs go to studio.jobs) with EVENT_ENV."""
    if request.param == "sqlite":
        settings = make_settings(tmp_path / "home", **EVENT_ENV)
        migrate.upgrade(settings)
    else:
        base = request.getfixturevalue("pg_settings")
        settings = dataclasses.replace(base, redis_url="", extra={**base.extra, **EVENT_ENV})
    store = Store(settings, **({"pool_size": 4, "max_overflow": 4} if request.param == "postgres" else {}))
    yield store
    store.dispose()


def with_settings(store: Store, **extra: str) -> Store:
    return Store(dataclasses.replace(store.settings, extra={**store.settings.extra, **extra}), url=store.url)


def owner(store: Store, name: str = "Olga Owner") -> Context:
    account, ws = auth.sign_up(store, f"o{uuid.uuid4().hex[:8]}@example.com", name, "correct horse")
    return Context(user_id=account.id, workspace_id=ws)


def member(store: Store, owner_ctx: Context, role: Role, name: str = "Max Member") -> Context:
    email = f"m{uuid.uuid4().hex[:8]}@example.com"
    link = invitations.invite(store, owner_ctx, email, role)
    account, _ = auth.sign_up(store, email, name, "correct horse")
    ws = invitations.accept(store, link.url.split("invite=")[1], account)
    return Context(user_id=account.id, workspace_id=ws)
