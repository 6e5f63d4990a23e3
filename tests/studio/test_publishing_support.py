"""Shared pieces of the publishing tests (no tests here): the Reddit double, a workspace, accounts, a set."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from studio import auth
from studio.context import Context
from studio.publishing import accounts
from studio.settings import Settings
from studio.store.campaign_models import CampaignSet, Variation
from studio.store.session import Store
from tests.reddit_double import RedditDouble


def reddit_env(double: RedditDouble, **extra: str) -> dict[str, str]:
    """The settings that point the studio at the double (also given to worker processes as environment)."""
    return {"REDDIT_OAUTH_URL": double.url, "REDDIT_URL": double.url, "REDDIT_CLIENT_ID": "studio-app",
            "REDDIT_CLIENT_SECRET": "studio-secret", "REDDIT_TIMEOUT": "1", "REDDIT_SUBMIT_LEASE_SECONDS": "3",
            "REDDIT_RECONCILE_SETTLE_SECONDS": "0", **extra}


def with_reddit(settings: Settings, double: RedditDouble, **extra: str) -> Settings:
    return dataclasses.replace(settings, extra={**settings.extra, **reddit_env(double, **extra)})


@dataclass
class Pub:
    store: Store
    ctx: Context
    reddit: RedditDouble

    @property
    def ws(self) -> uuid.UUID:
        assert self.ctx.workspace_id is not None
        return self.ctx.workspace_id


@pytest.fixture()
def reddit() -> Iterator[RedditDouble]:
    double = RedditDouble().start()
    double.add_subreddit("python", flairs=[("f-disc", "Discussion"), ("f-news", "News")])
    double.add_subreddit("cooking")
    double.add_subreddit("running")
    double.add_subreddit("selfonly", submission_type="self")
    double.add_subreddit("flairy", flair_required=True, flairs=[("f-q", "Question"), ("f-s", "Show and tell")])
    yield double
    double.stop()


def new_workspace(store: Store) -> Context:
    account, ws = auth.sign_up(store, f"p{uuid.uuid4().hex[:8]}@example.com", "Pat Publisher", "longenough")
    return Context(user_id=account.id, workspace_id=ws)


def make_pub(store: Store, double: RedditDouble, monkeypatch: pytest.MonkeyPatch, **extra: str) -> Pub:
    monkeypatch.setattr(store, "settings", with_reddit(store.settings, double, **extra))
    return Pub(store, new_workspace(store), double)


def connect(pub: Pub, name: str, **user: Any) -> accounts.AccountInfo:
    """Connect through the real OAuth code flow: authorization URL, the double's code, the callback."""
    if name not in pub.reddit.users:
        pub.reddit.add_user(name, **user)
    url = accounts.start_oauth(pub.store, pub.ctx)
    state = parse_qs(urlparse(url).query)["state"][0]
    return accounts.finish_oauth(pub.store, pub.ctx, state, pub.reddit.issue_code(name))


def make_set(pub: Pub, rows: list[dict[str, Any]], *, fmt: str = "thread", status: str = "approved") -> uuid.UUID:
    """A campaign set whose variations are `rows` (as generation would store them), all approved."""
    with pub.store.session_scope(pub.ctx) as s:
        cs = CampaignSet(name=f"set {uuid.uuid4().hex[:4]}", dataset_version=1, platform="reddit", format=fmt,
                         config={}, status="ready", variation_count=len(rows))
        s.add(cs)
        s.flush()
        for i, fields in enumerate(rows):
            s.add(Variation(id=uuid.uuid4(), campaign_set_id=cs.id, row_index=i, variation_index=0, fields=fields,
                            title=str(fields.get("title", "")), subreddit=str(fields.get("subreddit", "")),
                            status=status))
        return cs.id


def rows(n: int, subreddits: tuple[str, ...] = ("python", "cooking", "running"), **extra: Any) -> list[dict[str, Any]]:
    return [{"title": f"Post number {i}", "body": f"Body {i}", "subreddit": subreddits[i % len(subreddits)], **extra}
            for i in range(n)]
