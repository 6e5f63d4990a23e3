"""Accounts and sign-in: bcrypt hashes in the store, lockout, server-side sessions behind the cookie."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import unicodedata
import uuid
from dataclasses import dataclass

from sqlalchemy import select, update

from studio import audit, credentials, tenancy
from studio.context import Context, UserId, WorkspaceId
from studio.credentials import Outcome
from studio.errors import AuthError, ValidationFailed
from studio.logging_setup import event
from studio.permissions import public, system_only
from studio.settings import Settings
from studio.store.base import aware, utcnow
from studio.store.models import AuthSession, User
from studio.store.session import Store

log = logging.getLogger(__name__)

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 8
MAX_PASSWORD_BYTES = 72  # bcrypt reads no further


@dataclass(frozen=True)
class Account:
    id: UserId
    email: str
    name: str


def _normal_email(email: str) -> str:
    return email.strip().lower()


def refuse_control_characters(value: str, what: str) -> None:
    """NUL and other control characters are refused with a message (Postgres would raise on NUL)."""
    bad = next((c for c in value if unicodedata.category(c) == "Cc"), None)
    if bad is not None:
        shown = "NUL" if bad == "\x00" else f"U+{ord(bad):04X}"
        raise ValidationFailed(f"The {what} contains an invisible control character ({shown}); "
                               "type it again without pasting.")


def check_email(email: str, what: str = "email address") -> str:
    """The normalised address, or ValidationFailed saying what is wrong with it."""
    refuse_control_characters(email, what)
    email = _normal_email(email)
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise ValidationFailed("Enter a valid email address, like name@example.com.")
    return email


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed(f"Choose a password of at least {MIN_PASSWORD} characters.")
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        raise ValidationFailed(f"Choose a password of at most {MAX_PASSWORD_BYTES} bytes.")
    if "\x00" in password:
        raise ValidationFailed("A password cannot contain the NUL character.")


def hash_password(password: str, rounds: int = 12) -> str:
    return credentials.hash_password(password, rounds)


def sign_in_refused(settings: Settings) -> str:
    """One message for a wrong password, an unknown e-mail and a locked account: it reveals none of them."""
    st = settings
    return (f"Email or password is incorrect. After {st.lockout_attempts} failed attempts an account is locked "
            f"for {st.lockout_minutes} minutes; use “Forgot password?” to set a new one.")


@public("signing up needs no account")
def sign_up(store: Store, email: str, name: str, password: str, *, client_address: str | None = None) -> tuple[Account, WorkspaceId]:
    """Create an account and its personal workspace (owner). Raises ValidationFailed with what to fix."""
    email = check_email(email)
    refuse_control_characters(name, "name")
    if not name.strip():
        raise ValidationFailed("Enter your name.")
    check_new_password(password)
    clean_name = " ".join(name.split())[:120]
    user_id = credentials.create_user(store, email, clean_name, hash_password(password, store.settings.bcrypt_rounds))
    if user_id is None:
        raise ValidationFailed("An account with this email already exists. Sign in instead.")
    account = Account(UserId(user_id), email, clean_name)
    ws = tenancy.create_workspace(store, account.id, f"{account.name.split()[0]}'s workspace", client_address=client_address)
    return account, ws


@public("signing in needs no account")
def authenticate(store: Store, email: str, password: str, *, client_address: str | None = None) -> Account:
    """Check the password; 5 failures in a row lock the account for 15 minutes (settings), counted atomically."""
    email = _normal_email(email)
    if "\x00" in email or "\x00" in password or len(password.encode()) > 1024:
        event(log, "request.refused", level=logging.WARNING, refused="sign_in", reason="malformed", client=client_address)
        raise AuthError(sign_in_refused(store.settings))
    check = credentials.check_password(store, email, password)
    if check.outcome is Outcome.OK and check.user_id is not None:
        return account_of(store, UserId(check.user_id))
    if check.user_id is not None and check.outcome in (Outcome.WRONG, Outcome.LOCKED_NOW):
        summary = f"Failed sign-in ({check.attempts} in a row)"
        if check.outcome is Outcome.LOCKED_NOW:
            summary += f"; locked for {store.settings.lockout_minutes} minutes"
        audit_everywhere(store, UserId(check.user_id), "auth.sign_in_failed", summary, client_address)
    event(log, "request.refused", level=logging.WARNING, refused="sign_in", reason=check.outcome.value, email=email,
          user_id=str(check.user_id) if check.user_id else None, attempts=check.attempts, client=client_address)
    raise AuthError(sign_in_refused(store.settings))


@public("the account the caller already proved: a sign-in, a session cookie or a reset link")
def account_of(store: Store, user_id: UserId) -> Account:
    with store.account_scope(user_id) as s:
        row = s.execute(select(User.email, User.name).where(User.id == user_id)).one()
    return Account(user_id, row[0], row[1])


@system_only("security events of an account, written by sign-in and password changes")
def audit_everywhere(store: Store, user_id: UserId, action: str, summary: str, client_address: str | None) -> None:
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
    audit_everywhere(store, account.id, "auth.sign_in", "Signed in", client_address)


def _open_session_user(store: Store, token: str) -> uuid.UUID | None:
    with store.account_scope() as s:
        row = s.execute(select(AuthSession.user_id, AuthSession.expires_at)
                        .where(AuthSession.token_hash == token_hash(token), AuthSession.revoked_at.is_(None))).first()
    if row is None or aware(row[1]) <= utcnow():
        return None
    return row[0]


@public("the cookie's secret token is the proof")
def resume_session(store: Store, token: str) -> Account | None:
    """The account behind a cookie token, if that session is still open."""
    user_id = _open_session_user(store, token)
    return None if user_id is None else account_of(store, UserId(user_id))


@public("the cookie's secret token is the proof")
def session_active(store: Store, token: str) -> bool:
    """Whether a signed-in browser's session still stands (a password change or reset revokes the others)."""
    return _open_session_user(store, token) is not None


@public("signing out the cookie's own session")
def close_session(store: Store, token: str | None, account: Account | None, *, client_address: str | None = None) -> None:
    """Sign out: the cookie's session is revoked server-side, so a replayed cookie no longer works."""
    if token:
        with store.account_scope() as s:
            s.execute(update(AuthSession).where(AuthSession.token_hash == token_hash(token)).values(revoked_at=utcnow()))
    if account is not None:
        audit_everywhere(store, account.id, "auth.sign_out", "Signed out", client_address)
