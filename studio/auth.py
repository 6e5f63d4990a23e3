"""Accounts and sign-in: bcrypt hashes in the store, lockout, server-side sessions behind the cookie."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
from dataclasses import dataclass

import bcrypt
from sqlalchemy import func, select, update

from studio import audit, tenancy
from studio.context import Context, UserId, WorkspaceId
from studio.errors import AuthError, ValidationFailed
from studio.permissions import public
from studio.store.base import aware, utcnow
from studio.store.models import AuthSession, User
from studio.store.session import Store

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 8


@dataclass(frozen=True)
class Account:
    id: UserId
    email: str
    name: str


def _normal_email(email: str) -> str:
    return email.strip().lower()


def hash_password(password: str, rounds: int = 12) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=rounds)).decode()


@public("signing up needs no account")
def sign_up(store: Store, email: str, name: str, password: str, *, client_address: str | None = None) -> tuple[Account, WorkspaceId]:
    """Create an account and its personal workspace (owner). Raises ValidationFailed with what to fix."""
    email = _normal_email(email)
    if not EMAIL_RE.match(email):
        raise ValidationFailed("Enter a valid email address, like name@example.com.")
    if not name.strip():
        raise ValidationFailed("Enter your name.")
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed(f"Choose a password of at least {MIN_PASSWORD} characters.")
    if len(password.encode()) > 72:
        raise ValidationFailed("Choose a password of at most 72 bytes.")
    with store.account_scope() as s:
        if s.scalar(select(func.count()).select_from(User).where(User.email == email)):
            raise ValidationFailed("An account with this email already exists. Sign in instead.")
        user = User(email=email, name=name.strip()[:120], password_hash=hash_password(password, store.settings.bcrypt_rounds), failed_attempts=0)
        s.add(user)
    account = Account(UserId(user.id), user.email, user.name)
    ws = tenancy.create_workspace(store, account.id, f"{account.name.split()[0]}'s workspace", client_address=client_address)
    return account, ws


@public("signing in needs no account")
def authenticate(store: Store, email: str, password: str, *, client_address: str | None = None) -> Account:
    """Check the password; 5 failures in a row lock the account for 15 minutes (settings)."""
    settings = store.settings
    email = _normal_email(email)
    now = utcnow()
    with store.account_scope() as s:
        user = s.scalar(select(User).where(User.email == email).with_for_update())
        if user is None:
            bcrypt.checkpw(b"timing", _dummy_hash(settings.bcrypt_rounds))  # same cost whether or not the account exists
            raise AuthError("Email or password is incorrect.")
        locked = _aware(user.locked_until)
        if locked and locked > now:
            minutes = max(1, int((locked - now).total_seconds() // 60) + 1)
            raise AuthError(f"Too many failed sign-ins: this account is locked. Try again in {minutes} minutes.")
        if not bcrypt.checkpw(password.encode(), user.password_hash.encode()):
            user.failed_attempts = (0 if locked else user.failed_attempts) + 1
            user.locked_until = None
            message = "Email or password is incorrect."
            if user.failed_attempts >= settings.lockout_attempts:
                user.locked_until = now + dt.timedelta(minutes=settings.lockout_minutes)
                message = (f"Too many failed sign-ins: this account is locked for {settings.lockout_minutes} minutes.")
            failed_user_id = user.id
            attempts = user.failed_attempts
        else:
            user.failed_attempts = 0
            user.locked_until = None
            user.last_sign_in_at = now
            return Account(UserId(user.id), user.email, user.name)
    _audit_everywhere(store, UserId(failed_user_id), "auth.sign_in_failed", f"Failed sign-in ({attempts} in a row)", client_address)
    raise AuthError(message)


@functools.lru_cache(maxsize=4)
def _dummy_hash(rounds: int) -> bytes:
    return bcrypt.hashpw(b"not-a-password", bcrypt.gensalt(rounds=rounds))


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else aware(value)


def _audit_everywhere(store: Store, user_id: UserId, action: str, summary: str, client_address: str | None) -> None:
    """Security events about an account go to every workspace it belongs to."""
    for m in tenancy.memberships(store, user_id):
        ctx = Context(user_id=user_id, workspace_id=m.workspace_id, client_address=client_address, system=True)
        with store.session_scope(ctx) as s:
            audit.record(s, action, object_type="user", object_id=user_id, summary=summary)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@public("called right after authenticate for that account")
def open_session(store: Store, account: Account, token: str, expires_at: dt.datetime, *, client_address: str | None = None) -> None:
    """Remember a signed-in browser; only remembered, unrevoked tokens sign in again."""
    with store.account_scope(account.id) as s:
        s.add(AuthSession(user_id=account.id, token_hash=token_hash(token), expires_at=expires_at, client_address=client_address))
    _audit_everywhere(store, account.id, "auth.sign_in", "Signed in", client_address)


@public("the cookie's secret token is the proof")
def resume_session(store: Store, token: str) -> Account | None:
    """The account behind a cookie token, if that session is still open."""
    with store.account_scope() as s:
        row = s.execute(
            select(User.id, User.email, User.name, AuthSession.expires_at)
            .join(AuthSession, AuthSession.user_id == User.id)
            .where(AuthSession.token_hash == token_hash(token), AuthSession.revoked_at.is_(None))
        ).first()
    if row is None or (_aware(row[3]) or utcnow()) <= utcnow():
        return None
    return Account(UserId(row[0]), row[1], row[2])


@public("signing out the cookie's own session")
def close_session(store: Store, token: str | None, account: Account | None, *, client_address: str | None = None) -> None:
    """Sign out: the cookie's session is revoked server-side, so a replayed cookie no longer works."""
    if token:
        with store.account_scope() as s:
            s.execute(update(AuthSession).where(AuthSession.token_hash == token_hash(token)).values(revoked_at=utcnow()))
    if account is not None:
        _audit_everywhere(store, account.id, "auth.sign_out", "Signed out", client_address)
