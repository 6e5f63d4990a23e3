"""Ads connections: connect a Reddit Ads business through OAuth, pick the ad account, funding instrument and
profile, and build API clients that save a rotated refresh token at once (encrypted like the organic accounts).
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from sqlalchemy import select

from studio import audit, events, oauth_state
from studio.context import Context, Permission
from studio.errors import NotFound, ValidationFailed
from studio.permissions import requires
from studio.publishing import crypto
from studio.reddit_ads import client as ac
from studio.store.ads_models import AdsConnection, AdsOAuthState
from studio.store.base import utcnow
from studio.store.session import Store, TenantSession

RECONNECT = "reconnect_needed"


@dataclass(frozen=True)
class ConnectionInfo:
    id: uuid.UUID
    username: str
    status: str
    status_reason: str
    ad_account_id: str
    ad_account_name: str
    funding_instrument_id: str
    profile_id: str
    currency: str = ""  # the ad account's ISO 4217 code; "" while the studio does not know it

    @property
    def ready(self) -> bool:
        return self.status == "active" and bool(self.ad_account_id and self.profile_id)


def _info(c: AdsConnection) -> ConnectionInfo:
    return ConnectionInfo(c.id, c.username, c.status, c.status_reason, c.ad_account_id, c.ad_account_name,
                          c.funding_instrument_id, c.profile_id, c.currency or "")


def currency_code(value: Any) -> str:
    """An ad account's `currency` as Reddit sends it → its ISO 4217 code, or "" when it is not one."""
    code = str(value or "").strip().upper()
    return code if len(code) == 3 and code.isascii() and code.isalpha() else ""


def remember_currency(s: TenantSession, c: AdsConnection, value: Any) -> None:
    """Keep the ad account's currency when Reddit said one (an answer without it leaves the known one)."""
    code = currency_code(value)
    if code and code != c.currency:
        c.currency, c.updated_at = code, utcnow()


def _redirect_uri(store: Store) -> str:
    return store.settings.extra.get("REDDIT_REDIRECT_URI") or store.settings.public_url.rstrip("/") + "/accounts"


@requires(Permission.VIEW)
def list_connections(store: Store, ctx: Context) -> list[ConnectionInfo]:
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        return [_info(c) for c in s.scalars(select(AdsConnection).order_by(AdsConnection.username))]


@requires(Permission.MANAGE_INTEGRATIONS)
def start_oauth(store: Store, ctx: Context) -> str:
    """Reddit's authorization URL for the ads scopes (permanent grant), with a `state` kept for the callback."""
    extra = store.settings.extra
    if not extra.get("REDDIT_CLIENT_ID") or not extra.get("REDDIT_CLIENT_SECRET"):
        raise ValidationFailed("Connecting Reddit Ads needs REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET (a Reddit 'web "
                               "app' with access to the Ads API).")
    state = "ads." + secrets.token_urlsafe(24)
    with store.session_scope(ctx) as s:
        s.require(Permission.MANAGE_INTEGRATIONS)
        oauth_state.remember(s, AdsOAuthState, state, ctx.user_id)
    query = {"client_id": extra["REDDIT_CLIENT_ID"], "response_type": "code", "state": state,
             "redirect_uri": _redirect_uri(store), "duration": "permanent", "scope": " ".join(ac.SCOPES)}
    return extra.get("REDDIT_URL", "https://www.reddit.com").rstrip("/") + "/api/v1/authorize?" + urlencode(query)


def is_ads_state(state: str) -> bool:
    """The OAuth callback serves both connections; an ads flow's state starts with 'ads.'."""
    return (state or "").startswith("ads.")


@requires(Permission.MANAGE_INTEGRATIONS)
def finish_oauth(store: Store, ctx: Context, state: str, code: str) -> ConnectionInfo:
    """The callback: the state (once, unexpired, same user), the code → a refresh token, who it is, then saved."""
    oauth_state.spend(store, ctx, AdsOAuthState, state,
                      refused="This Reddit Ads sign-in link is not valid here (expired, already used, or started "
                              "in another workspace). Start again with 'Connect Reddit Ads'.")
    extra = store.settings.extra
    try:
        answer = httpx.post(extra.get("REDDIT_URL", "https://www.reddit.com").rstrip("/") + "/api/v1/access_token",
                            auth=(extra.get("REDDIT_CLIENT_ID", ""), extra.get("REDDIT_CLIENT_SECRET", "")),
                            data={"grant_type": "authorization_code", "code": code,
                                  "redirect_uri": _redirect_uri(store)},
                            timeout=float(extra.get("REDDIT_ADS_TIMEOUT", 30) or 30),
                            headers={"User-Agent": ac.USER_AGENT})
    except httpx.HTTPError as exc:
        raise ValidationFailed(f"Reddit could not be reached to finish connecting ({type(exc).__name__}).") from exc
    body = answer.json() if answer.headers.get("content-type", "").startswith("application/json") else {}
    if answer.status_code != 200 or not body.get("refresh_token"):
        raise ValidationFailed("Reddit did not grant permanent access to the ads account; connect again and allow it.")
    granted = set(str(body.get("scope", "")).split())
    missing = [sc for sc in ("adsread", "adsedit") if sc not in granted]
    if missing:
        raise ValidationFailed(f"Reddit granted no {' / '.join(missing)} access; connect again and allow managing ads.")
    grant = ac.Grant(body["refresh_token"], save_refresh=lambda _t: None, access_token=body["access_token"],
                     expires_at=dt.datetime.now(dt.UTC).timestamp() + float(body.get("expires_in", 3600)))
    api = ac.AdsClient(store.settings, grant, gate=ac.MemoryGate(), gate_key="connect")
    try:
        username = str(api.get("/me").get("username") or "")
    except ac.AdsError as exc:
        raise ValidationFailed(f"Reddit Ads did not say who connected: {exc.message}") from exc
    finally:
        api.close()
    with store.session_scope(ctx) as s:
        s.require(Permission.MANAGE_INTEGRATIONS)
        c = s.scalar(select(AdsConnection).where(AdsConnection.username == username).with_for_update())
        if c is None:
            c = AdsConnection(username=username, connected_by=ctx.user_id)
            s.add(c)
        c.refresh_token_enc = crypto.encrypt(store.settings, grant.refresh_token)
        c.scopes = " ".join(sorted(granted))
        c.status, c.status_reason, c.updated_at = "active", "", utcnow()
        s.flush()
        audit.record(s, "reddit_ads.connect", object_type="ads_connection", object_id=c.id,
                     summary=f"Connected Reddit Ads as u/{username}")
        return _info(c)


def _gate(store: Store) -> ac.Gate:
    if store.settings.redis_url:
        from studio.jobs import redis_connection

        return ac.RedisGate(redis_connection(store.settings))
    return _MEMORY_GATE


_MEMORY_GATE = ac.MemoryGate()


@requires(Permission.MANAGE_INTEGRATIONS)
def api_client(store: Store, ctx: Context, connection_id: uuid.UUID) -> ac.AdsClient:
    """A client acting for the connection (decrypted secrets stay inside it); a rotated token is saved at once."""
    settings = store.settings
    with store.session_scope(ctx) as s:
        c = s.get(AdsConnection, connection_id)
        if c is None:
            raise NotFound("This Reddit Ads connection was removed from the workspace.")
        if c.status == RECONNECT:
            raise ac.ReconnectNeeded(c.status_reason or "Connect the Reddit Ads account again.")
        token = crypto.decrypt(settings, c.refresh_token_enc)
        key = c.ad_account_id or c.username
    if not token:
        raise ac.ReconnectNeeded("This Reddit Ads connection has no grant; connect it again.")

    def save(new_token: str) -> None:
        with store.session_scope(ctx) as s2:
            row = s2.get(AdsConnection, connection_id, with_for_update=True)
            if row is not None:
                row.refresh_token_enc, row.updated_at = crypto.encrypt(settings, new_token), utcnow()

    return ac.AdsClient(settings, ac.Grant(token, save_refresh=save), gate=_gate(store), gate_key=key)


def mark_reconnect(s: TenantSession, c: AdsConnection, reason: str) -> None:
    if c.status != RECONNECT:
        audit.record(s, "reddit_ads.reconnect_needed", object_type="ads_connection", object_id=c.id,
                     summary=f"Reddit Ads u/{c.username} needs reconnecting: {reason}")
        events.emit(s, "account.reconnect_needed", {"connection": str(c.id), "username": c.username,
                                                    "kind": "reddit_ads", "message": reason})
    c.status, c.status_reason, c.updated_at = RECONNECT, reason, utcnow()


@dataclass(frozen=True)
class Choices:
    """What the connected user can pick: ad accounts (with their business), funding instruments, profiles."""

    ad_accounts: list[dict[str, Any]]
    funding_instruments: dict[str, list[dict[str, Any]]]
    profiles: dict[str, list[dict[str, Any]]]


@requires(Permission.MANAGE_INTEGRATIONS)
def choices(store: Store, ctx: Context, connection_id: uuid.UUID) -> Choices:
    api = api_client(store, ctx, connection_id)
    try:
        accounts, funding, profiles = [], {}, {}
        for biz in api.pages("/me/businesses"):
            prof = list(api.pages(f"/businesses/{biz['id']}/profiles"))
            for acct in api.pages(f"/businesses/{biz['id']}/ad_accounts"):
                accounts.append({**acct, "business_id": biz["id"], "business_name": biz.get("name", "")})
                funding[acct["id"]] = list(api.pages(f"/ad_accounts/{acct['id']}/funding_instruments"))
                profiles[acct["id"]] = prof
        _refresh_currency(store, ctx, connection_id, accounts)
        return Choices(accounts, funding, profiles)
    except ac.ReconnectNeeded as exc:
        with store.session_scope(ctx) as s:
            c = s.get(AdsConnection, connection_id, with_for_update=True)
            if c is not None:
                mark_reconnect(s, c, exc.message)
        raise ValidationFailed(exc.message) from exc
    except ac.AdsError as exc:
        raise ValidationFailed(f"Reddit Ads did not list the accounts: {exc.message}") from exc
    finally:
        api.close()


def _refresh_currency(store: Store, ctx: Context, connection_id: uuid.UUID, accounts: list[dict[str, Any]]) -> None:
    """The account list was read anyway: the picked account's currency, when Reddit changed or newly says it."""
    with store.session_scope(ctx) as s:
        c = s.get(AdsConnection, connection_id)
        picked = next((a for a in accounts if c is not None and a["id"] == c.ad_account_id), None)
        if c is not None and picked is not None:
            remember_currency(s, c, picked.get("currency"))


@requires(Permission.MANAGE_INTEGRATIONS)
def pick(store: Store, ctx: Context, connection_id: uuid.UUID, *, ad_account_id: str, funding_instrument_id: str,
         profile_id: str) -> ConnectionInfo:
    """Store the ad account, funding instrument and profile to sync into (checked against what Reddit lists)."""
    found = choices(store, ctx, connection_id)
    account = next((a for a in found.ad_accounts if a["id"] == ad_account_id), None)
    if account is None:
        raise ValidationFailed("That ad account is not one this Reddit login can manage.")
    if funding_instrument_id and funding_instrument_id not in {f["id"] for f in found.funding_instruments[ad_account_id]}:
        raise ValidationFailed("That funding instrument does not belong to the ad account.")
    if profile_id not in {p["id"] for p in found.profiles[ad_account_id]}:
        raise ValidationFailed("That profile cannot post ads for the ad account.")
    with store.session_scope(ctx) as s:
        s.require(Permission.MANAGE_INTEGRATIONS)
        c = s.get(AdsConnection, connection_id, with_for_update=True)
        if c is None:
            raise NotFound("This Reddit Ads connection was removed.")
        c.business_id, c.ad_account_id = account["business_id"], ad_account_id
        c.ad_account_name = str(account.get("name") or ad_account_id)[:200]
        c.funding_instrument_id, c.profile_id, c.updated_at = funding_instrument_id, profile_id, utcnow()
        c.currency = currency_code(account.get("currency"))  # another account: its own currency, or not known
        audit.record(s, "reddit_ads.pick", object_type="ads_connection", object_id=c.id,
                     summary=f"Reddit Ads syncs into {c.ad_account_name}")
        return _info(c)


@requires(Permission.MANAGE_INTEGRATIONS)
def disconnect(store: Store, ctx: Context, connection_id: uuid.UUID) -> None:
    with store.session_scope(ctx) as s:
        s.require(Permission.MANAGE_INTEGRATIONS)
        c = s.get(AdsConnection, connection_id, with_for_update=True)
        if c is None:
            raise NotFound("This Reddit Ads connection was removed.")
        c.refresh_token_enc = None
        c.status, c.status_reason, c.updated_at = RECONNECT, "Disconnected by a member of the workspace.", utcnow()
        audit.record(s, "reddit_ads.disconnect", object_type="ads_connection", object_id=c.id,
                     summary=f"Disconnected Reddit Ads u/{c.username}")
