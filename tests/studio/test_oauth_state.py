"""The sign-in `state` both Reddit callbacks check (studio.oauth_state), seen from the Reddit Ads side (the
organic side is in test_publishing_accounts.py): once, by the member who started it, in its workspace, unexpired;
and a state started for one flow does not finish the other."""

from __future__ import annotations

import datetime as dt
import uuid
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from sqlalchemy import update

from studio import auth, invitations, oauth_state
from studio.context import Context, Role
from studio.errors import ValidationFailed
from studio.reddit_ads import connections
from studio.store.ads_models import AdsOAuthState
from studio.store.publishing_models import RedditOAuthState
from tests.studio.reddit_ads_support import Ads, ads, make_ads  # noqa: F401

REFUSED = r"not valid here \(expired, already used, or started in another workspace\)\. Start again with 'Connect Reddit Ads'"


@pytest.fixture()
def a(pg_store, ads, monkeypatch):  # noqa: F811
    return make_ads(pg_store, ads, monkeypatch)


def _consent(a: Ads, user: str = "acme_ads") -> tuple[str, str]:
    """Start connecting and pass Reddit's consent page: the callback's state and code."""
    a.double.add_business("Acme", user=user)
    url = connections.start_oauth(a.store, a.ctx)
    back = parse_qs(urlparse(httpx.get(url + "&login_hint=" + user).headers["location"]).query)
    return back["state"][0], back["code"][0]


def _admin(a: Ads) -> Context:
    email = f"m{uuid.uuid4().hex[:8]}@example.com"
    link = invitations.invite(a.store, a.ctx, email, Role.ADMIN)
    account, _ = auth.sign_up(a.store, email, "Ann Admin", "correct horse")
    return Context(user_id=account.id, workspace_id=invitations.accept(a.store, link.url.split("invite=")[1], account))


def test_an_ads_state_connects_once(a):
    state, code = _consent(a)
    with pytest.raises(ValidationFailed, match=REFUSED):
        connections.finish_oauth(a.store, a.ctx, "ads.forged", code)
    assert connections.finish_oauth(a.store, a.ctx, state, code).username == "acme_ads"
    with pytest.raises(ValidationFailed, match=REFUSED):
        connections.finish_oauth(a.store, a.ctx, state, code)
    assert [c.username for c in connections.list_connections(a.store, a.ctx)] == ["acme_ads"]


def test_another_admins_callback_is_refused_and_spends_the_state(a):
    """A callback link that leaks to a colleague connects nothing, and cannot be used afterwards either."""
    state, code = _consent(a)
    with pytest.raises(ValidationFailed, match=REFUSED):
        connections.finish_oauth(a.store, _admin(a), state, code)
    with pytest.raises(ValidationFailed, match=REFUSED):
        connections.finish_oauth(a.store, a.ctx, state, code)
    assert connections.list_connections(a.store, a.ctx) == []


@pytest.mark.parametrize("spoil", ["expired", "organic"])
def test_an_expired_state_or_one_of_the_organic_sign_in_is_refused(a, spoil):
    state, code = _consent(a)
    with a.store.session_scope(a.ctx) as s:
        if spoil == "expired":
            s.execute(update(AdsOAuthState).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
        else:  # the accounts page's flow keeps its states apart: an ads-looking state there is no ads state
            state = "ads.organic"
            oauth_state.remember(s, RedditOAuthState, state, a.ctx.user_id)
    with pytest.raises(ValidationFailed, match=REFUSED):
        connections.finish_oauth(a.store, a.ctx, state, code)
    assert connections.list_connections(a.store, a.ctx) == []
