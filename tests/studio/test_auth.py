"""Accounts: sign-up rules, lockout, and server-side sessions behind the cookie."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import update

from studio import auth, tenancy
from studio.errors import AuthError, ValidationFailed
from studio.store.models import User


def _email() -> str:
    return f"a{uuid.uuid4().hex[:8]}@example.com"


@pytest.mark.parametrize(("email", "name", "password", "message"), [
    ("not-an-email", "Ann", "longenough", "valid email"),
    ("ann@example.com", " ", "longenough", "Enter your name"),
    ("ann@example.com", "Ann", "short", "at least 8"),
    ("ann@example.com", "Ann", "x" * 80, "at most 72"),
])
def test_sign_up_rejects_bad_input(sqlite_store, email, name, password, message):
    with pytest.raises(ValidationFailed, match=message):
        auth.sign_up(sqlite_store, email, name, password)


def test_sign_up_makes_an_owned_workspace_and_refuses_duplicates(store):
    email = _email()
    account, ws = auth.sign_up(store, email.upper(), "Ann Lee", "longenough")
    assert account.email == email
    assert [(m.workspace_id, m.workspace_name, m.role.value) for m in tenancy.memberships(store, account.id)] == [(ws, "Ann's workspace", "owner")]
    with pytest.raises(ValidationFailed, match="already exists"):
        auth.sign_up(store, email, "Ann", "longenough")


def test_password_is_stored_as_bcrypt_hash(sqlite_store):
    account, _ = auth.sign_up(sqlite_store, _email(), "Ann", "longenough")
    with sqlite_store.account_scope() as s:
        stored = s.get(User, account.id).password_hash
    assert stored.startswith("$2b$") and "longenough" not in stored


def test_five_failures_lock_for_fifteen_minutes_then_unlock(store):
    email = _email()
    auth.sign_up(store, email, "Ann", "longenough")
    for _ in range(4):
        with pytest.raises(AuthError, match="incorrect"):
            auth.authenticate(store, email, "nope-nope")
    with pytest.raises(AuthError, match="locked for 15 minutes"):
        auth.authenticate(store, email, "nope-nope")
    with pytest.raises(AuthError, match="locked. Try again in 15 minutes"):
        auth.authenticate(store, email, "longenough")
    with store.account_scope() as s:
        s.execute(update(User).where(User.email == email).values(locked_until=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
    assert auth.authenticate(store, email, "longenough").email == email


def test_unknown_account_gets_the_same_message(sqlite_store):
    with pytest.raises(AuthError, match="^Email or password is incorrect.$"):
        auth.authenticate(sqlite_store, "nobody@example.com", "whatever1")


def test_sign_out_revokes_the_cookie_server_side(store):
    email = _email()
    account, _ = auth.sign_up(store, email, "Ann", "longenough")
    token = f"jwt-{uuid.uuid4()}"
    auth.open_session(store, account, token, dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    assert auth.resume_session(store, token) == account
    auth.close_session(store, token, account)
    assert auth.resume_session(store, token) is None  # a replayed cookie no longer signs in


def test_expired_session_does_not_resume(sqlite_store):
    account, _ = auth.sign_up(sqlite_store, _email(), "Ann", "longenough")
    auth.open_session(sqlite_store, account, "old-token", dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    assert auth.resume_session(sqlite_store, "old-token") is None
