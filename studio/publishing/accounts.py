"""Reddit accounts: connect (OAuth code flow or script app), validate, reconnect, and clients that save rotated tokens."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from dataclasses import dataclass

import praw
from prawcore.exceptions import PrawcoreException
from sqlalchemy import select

from studio import audit, event_sources, oauth_state
from studio.context import Context, Permission
from studio.errors import NotFound, ValidationFailed
from studio.permissions import requires
from studio.publishing import crypto
from studio.publishing import reddit_client as rc
from studio.publishing.outbox import aware
from studio.publishing.outcomes import is_revoked
from studio.publishing.planner import is_low_karma
from studio.settings import Settings
from studio.store.base import utcnow
from studio.store.publishing_models import RedditAccount, RedditOAuthState
from studio.store.session import Store, TenantSession

RECONNECT = "reconnect_needed"


@dataclass(frozen=True)
class AccountInfo:
    id: uuid.UUID
    username: str
    auth_kind: str
    status: str
    status_reason: str
    karma: int
    created_at: dt.datetime | None
    validated_at: dt.datetime | None
    low_karma: bool

    @property
    def usable(self) -> bool:
        return self.status == "active"


def info(a: RedditAccount, now: dt.datetime | None = None) -> AccountInfo:
    karma = a.link_karma + a.comment_karma
    created = aware(a.reddit_created_at)
    return AccountInfo(a.id, a.username, a.auth_kind, a.status, a.status_reason, karma, created,
                       aware(a.validated_at), is_low_karma(karma, created, now or utcnow()))


@requires(Permission.VIEW)
def list_accounts(store: Store, ctx: Context) -> list[AccountInfo]:
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        return [info(a) for a in s.scalars(select(RedditAccount).order_by(RedditAccount.username))]


@requires(Permission.MANAGE_INTEGRATIONS)
def start_oauth(store: Store, ctx: Context) -> str:
    """The Reddit authorization URL (permanent grant, our scopes) with a fresh `state` remembered for the callback."""
    settings = store.settings
    if not settings.extra.get("REDDIT_CLIENT_ID") or not settings.extra.get("REDDIT_CLIENT_SECRET"):
        raise ValidationFailed("Connecting with Reddit needs REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET (a Reddit "
                               "'web app'); or connect a script app with its own credentials below.")
    state = secrets.token_urlsafe(24)
    with store.session_scope(ctx) as s:
        s.require(Permission.MANAGE_INTEGRATIONS)
        oauth_state.remember(s, RedditOAuthState, state, ctx.user_id)
    return str(rc.app_client(settings).auth.url(scopes=rc.SCOPES, state=state, duration="permanent"))


@requires(Permission.MANAGE_INTEGRATIONS)
def finish_oauth(store: Store, ctx: Context, state: str, code: str) -> AccountInfo:
    """The callback: check `state` (once, unexpired, same user), exchange the code, store the account."""
    oauth_state.spend(store, ctx, RedditOAuthState, state,
                      refused="This Reddit sign-in link is not valid here (expired, already used, or started in "
                              "another workspace). Start again with 'Connect with Reddit'.")
    reddit = rc.app_client(store.settings)
    try:
        refresh = reddit.auth.authorize(code)
        who = rc.identity(reddit)
    except PrawcoreException as exc:
        raise ValidationFailed(f"Reddit did not accept the authorization ({exc}). Try connecting again.") from exc
    if not refresh:
        raise ValidationFailed("Reddit granted no refresh token; connect again and allow permanent access.")
    return _save(store, ctx, who, "oauth", refresh_token=refresh, scopes=" ".join(rc.SCOPES))


@requires(Permission.MANAGE_INTEGRATIONS)
def connect_script(store: Store, ctx: Context, *, username: str, password: str, client_id: str,
                   client_secret: str) -> AccountInfo:
    """A Reddit 'script' app of the account itself: checked by signing in before anything is stored."""
    if not all(v.strip() for v in (username, password, client_id, client_secret)):
        raise ValidationFailed("Fill in the username, password, client id and client secret of the script app.")
    with store.session_scope(ctx) as s:
        s.require(Permission.MANAGE_INTEGRATIONS)
    creds = rc.Credentials("script", username.strip(), client_id.strip(), client_secret.strip(), password)
    try:
        who = rc.identity(rc.account_client(store.settings, creds, retries=True))
    except PrawcoreException as exc:
        reason = "wrong username, password or app credentials" if is_revoked(exc) else str(exc)
        raise ValidationFailed(f"Reddit did not sign in u/{username.strip()}: {reason}.") from exc
    if who.name.lower() != username.strip().lower():
        raise ValidationFailed(f"These credentials belong to u/{who.name}, not u/{username.strip()}.")
    return _save(store, ctx, who, "script", client_id=client_id.strip(), client_secret=client_secret.strip(),
                 password=password)


def _save(store: Store, ctx: Context, who: rc.Identity, kind: str, *, refresh_token: str | None = None,
          client_id: str = "", client_secret: str | None = None, password: str | None = None,
          scopes: str = "") -> AccountInfo:
    enc = store.settings
    with store.session_scope(ctx) as s:
        s.require(Permission.MANAGE_INTEGRATIONS)
        a = s.scalar(select(RedditAccount).where(RedditAccount.username == who.name).with_for_update())
        if a is None:
            a = RedditAccount(username=who.name, auth_kind=kind, connected_by=ctx.user_id)
            s.add(a)
        a.auth_kind, a.client_id, a.scopes = kind, client_id, scopes
        a.refresh_token_enc = crypto.encrypt(enc, refresh_token)
        a.client_secret_enc = crypto.encrypt(enc, client_secret)
        a.password_enc = crypto.encrypt(enc, password)
        _apply_identity(a, who)
        s.flush()
        audit.record(s, "reddit.connect", object_type="reddit_account", object_id=a.id,
                     summary=f"Connected u/{who.name} ({kind})")
        return info(a)


def _apply_identity(a: RedditAccount, who: rc.Identity) -> None:
    a.link_karma, a.comment_karma, a.reddit_created_at = who.link_karma, who.comment_karma, who.created_at
    a.status, a.status_reason, a.validated_at, a.updated_at = "active", "", utcnow(), utcnow()


def _credentials(settings: Settings, a: RedditAccount) -> rc.Credentials:
    """The only place secrets are decrypted; they go straight into a Reddit client (see client())."""
    return rc.Credentials(a.auth_kind, a.username, a.client_id, crypto.decrypt(settings, a.client_secret_enc),
                          crypto.decrypt(settings, a.password_enc), crypto.decrypt(settings, a.refresh_token_enc))


def mark_reconnect(s: TenantSession, a: RedditAccount, reason: str) -> None:
    if a.status != RECONNECT:
        audit.record(s, "reddit.reconnect_needed", object_type="reddit_account", object_id=a.id,
                     summary=f"u/{a.username} needs reconnecting: {reason}")
        event_sources.reconnect_needed(s, a, reason)
    a.status, a.status_reason, a.updated_at = RECONNECT, reason, utcnow()


@requires(Permission.MANAGE_INTEGRATIONS)
def client(store: Store, ctx: Context, account_id: uuid.UUID, *, retries: bool = False) -> praw.Reddit:
    """A praw client acting as the account; a refresh token Reddit rotates is saved at once, encrypted.

    The client holds the decrypted secrets, so only jobs and members who manage integrations get one.
    """
    settings = store.settings
    with store.session_scope(ctx) as s:
        a = s.get(RedditAccount, account_id)
        if a is None:
            raise NotFound("This Reddit account is no longer connected to the workspace.")
        creds = _credentials(settings, a)

    def save(token: str) -> None:
        with store.session_scope(ctx) as s2:
            row = s2.get(RedditAccount, account_id, with_for_update=True)
            if row is not None:
                row.refresh_token_enc, row.updated_at = crypto.encrypt(settings, token), utcnow()

    return rc.account_client(settings, creds, retries=retries, on_refresh=save)


@requires(Permission.MANAGE_INTEGRATIONS)
def validate(store: Store, ctx: Context, account_id: uuid.UUID) -> AccountInfo:
    """Ask Reddit who the account is (name, karma, age); a revoked grant marks it 'reconnect needed'."""
    with store.session_scope(ctx) as s:
        s.require(Permission.MANAGE_INTEGRATIONS)
    try:
        who = rc.identity(client(store, ctx, account_id, retries=True))
    except PrawcoreException as exc:
        with store.session_scope(ctx) as s:
            a = s.get(RedditAccount, account_id, with_for_update=True)
            if a is None:
                raise NotFound("This Reddit account is no longer connected.") from exc
            if is_revoked(exc):
                mark_reconnect(s, a, "Reddit no longer accepts this account's sign-in; reconnect it.")
                return info(a)
        raise ValidationFailed(f"Reddit could not be reached to check the account: {exc}") from exc
    with store.session_scope(ctx) as s:
        a = s.get(RedditAccount, account_id, with_for_update=True)
        if a is None:
            raise NotFound("This Reddit account is no longer connected.")
        _apply_identity(a, who)
        return info(a)


@requires(Permission.MANAGE_INTEGRATIONS)
def disconnect(store: Store, ctx: Context, account_id: uuid.UUID) -> None:
    """Forget the account's secrets; items still planned on it fail with a reason instead of posting."""
    with store.session_scope(ctx) as s:
        s.require(Permission.MANAGE_INTEGRATIONS)
        a = s.get(RedditAccount, account_id, with_for_update=True)
        if a is None:
            raise NotFound("This Reddit account is no longer connected.")
        a.refresh_token_enc = a.password_enc = a.client_secret_enc = None
        a.status, a.status_reason, a.updated_at = "disabled", "Disconnected by a member of the workspace.", utcnow()
        audit.record(s, "reddit.disconnect", object_type="reddit_account", object_id=a.id,
                     summary=f"Disconnected u/{a.username}")
