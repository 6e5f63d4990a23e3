"""Password hashes and the lockout counter, on each store: Postgres checks in the database, SQLite here.

On Postgres the app role cannot read or write a hash (migration 0009): every operation is one call of a
SECURITY DEFINER function. On SQLite (embedded mode) the same rules run in Python; the lockout counter
is reserved *before* the password is checked, in one UPDATE, so concurrent attempts can never check
more passwords than the limit allows.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import uuid
from dataclasses import dataclass

import bcrypt
from sqlalchemy import and_, case, or_, select, text, update
from sqlalchemy.exc import IntegrityError

from studio.permissions import internal
from studio.store.base import utcnow
from studio.store.models import User
from studio.store.session import Store


class Outcome(str, enum.Enum):
    OK = "ok"
    UNKNOWN = "unknown"
    WRONG = "wrong"
    LOCKED = "locked"  # refused without counting: the account was already locked
    LOCKED_NOW = "locked_now"  # this failure reached the limit


@dataclass(frozen=True)
class Check:
    outcome: Outcome
    user_id: uuid.UUID | None
    attempts: int


def hash_password(password: str, rounds: int) -> str:
    """bcrypt, `$2a$` prefix: the one pgcrypto's crypt() reads (the same algorithm as `$2b$` up to 72 bytes)."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=rounds, prefix=b"2a")).decode()


@functools.lru_cache(maxsize=4)
def _dummy_hash(rounds: int) -> bytes:
    return bcrypt.hashpw(b"not-a-password", bcrypt.gensalt(rounds=rounds))


def _matches(password: str, hashed: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode(), hashed.encode())
    except ValueError:
        return False


@internal("the credential store under studio.auth and studio.passwords, which declare the services")
def create_user(store: Store, email: str, name: str, password_hash: str) -> uuid.UUID | None:
    """The new account's id, or None when the e-mail is taken (also when two clicks race)."""
    with store.account_scope() as s:
        if store.is_postgres:
            new = s.scalar(text("select auth_sign_up(:e, :n, :h)"), {"e": email, "n": name, "h": password_hash})
            return uuid.UUID(str(new)) if new else None
        if s.scalar(select(User.id).where(User.email == email)) is not None:
            return None
    try:
        with store.account_scope() as s:
            user = User(email=email, name=name, password_hash=password_hash, failed_attempts=0)
            s.add(user)
            s.flush()
            return user.id
    except IntegrityError:  # the same e-mail signed up at the same moment
        return None


@internal("the credential store under studio.auth and studio.passwords, which declare the services")
def check_password(store: Store, email: str, password: str, *, counted: bool = True) -> Check:
    """Check a sign-in; failures count towards the lock (settings: LOCKOUT_ATTEMPTS, LOCKOUT_MINUTES)."""
    st = store.settings
    if store.is_postgres:
        with store.account_scope() as s:
            row = s.execute(text("select account_id, outcome, attempts from auth_sign_in(:e, :p, :l, :m, :r)"),
                            {"e": email, "p": password, "l": st.lockout_attempts, "m": st.lockout_minutes,
                             "r": st.bcrypt_rounds}).one()
        return Check(Outcome(row[1]), uuid.UUID(str(row[0])) if row[0] else None, int(row[2]))
    return _check_sqlite(store, email, password)


def _reserve(store: Store, user_id: uuid.UUID, now: dt.datetime) -> int | None:
    """Count one attempt before checking it; None when the account is locked (nothing counted)."""
    st = store.settings
    expired = and_(User.locked_until.is_not(None), User.locked_until <= now)
    count = case((expired, 1), else_=User.failed_attempts + 1)
    with store.account_scope(user_id) as s:
        return s.scalar(
            update(User)
            .where(User.id == user_id, or_(and_(User.locked_until.is_(None), User.failed_attempts < st.lockout_attempts),
                                           expired))
            .values(failed_attempts=count,
                    locked_until=case((count >= st.lockout_attempts, now + dt.timedelta(minutes=st.lockout_minutes)),
                                      else_=None))
            .returning(User.failed_attempts)
        )


def _check_sqlite(store: Store, email: str, password: str) -> Check:
    rounds = store.settings.bcrypt_rounds
    with store.account_scope() as s:
        row = s.execute(select(User.id, User.password_hash).where(User.email == email)).first()
    if row is None:
        bcrypt.checkpw(b"timing", _dummy_hash(rounds))  # the same cost whether or not the account exists
        return Check(Outcome.UNKNOWN, None, 0)
    user_id, hashed = row
    now = utcnow()
    attempts = _reserve(store, user_id, now)
    if attempts is None:
        bcrypt.checkpw(b"timing", _dummy_hash(rounds))
        return Check(Outcome.LOCKED, user_id, store.settings.lockout_attempts)
    if not _matches(password, hashed):
        locked = attempts >= store.settings.lockout_attempts
        return Check(Outcome.LOCKED_NOW if locked else Outcome.WRONG, user_id, attempts)
    with store.account_scope(user_id) as s:
        s.execute(update(User).where(User.id == user_id)
                  .values(failed_attempts=0, locked_until=None, last_sign_in_at=now))
    return Check(Outcome.OK, user_id, 0)


@internal("the credential store under studio.auth and studio.passwords, which declare the services")
def change_password(store: Store, user_id: uuid.UUID, current: str, new_hash: str) -> Outcome:
    """Set a new hash if `current` is right (a wrong one counts like a failed sign-in)."""
    st = store.settings
    if store.is_postgres:
        with store.account_scope(user_id) as s:
            return Outcome(s.scalar(text("select auth_change_password(:u, :c, :h, :l, :m)"),
                                    {"u": user_id, "c": current, "h": new_hash, "l": st.lockout_attempts,
                                     "m": st.lockout_minutes}))
    with store.account_scope(user_id) as s:
        hashed = s.scalar(select(User.password_hash).where(User.id == user_id))
    if hashed is None:
        return Outcome.UNKNOWN
    attempts = _reserve(store, user_id, utcnow())
    if attempts is None:
        return Outcome.LOCKED
    if not _matches(current, hashed):
        return Outcome.WRONG
    with store.account_scope(user_id) as s:
        s.execute(update(User).where(User.id == user_id)
                  .values(password_hash=new_hash, password_generation=User.password_generation + 1,
                          failed_attempts=0, locked_until=None))
    return Outcome.OK


@dataclass(frozen=True)
class ResetTarget:
    user_id: uuid.UUID
    name: str
    generation: int


@internal("the credential store under studio.auth and studio.passwords, which declare the services")
def reset_target(store: Store, email: str) -> ResetTarget | None:
    with store.account_scope() as s:
        if store.is_postgres:
            row = s.execute(text("select account_id, account_name, generation from auth_reset_target(:e)"),
                            {"e": email}).first()
        else:
            row = s.execute(select(User.id, User.name, User.password_generation).where(User.email == email)).first()
    return ResetTarget(uuid.UUID(str(row[0])), row[1], int(row[2])) if row else None


@internal("the credential store under studio.auth and studio.passwords, which declare the services")
def generation(store: Store, user_id: uuid.UUID) -> int | None:
    with store.account_scope(user_id) as s:
        if store.is_postgres:
            value = s.scalar(text("select auth_password_generation(:u)"), {"u": user_id})
        else:
            value = s.scalar(select(User.password_generation).where(User.id == user_id))
    return None if value is None else int(value)


@internal("the credential store under studio.auth and studio.passwords, which declare the services")
def reset_password(store: Store, user_id: uuid.UUID, expected_generation: int, new_hash: str) -> bool:
    """Set the hash only if the generation is still the link's: a used or superseded link does nothing."""
    with store.account_scope(user_id) as s:
        if store.is_postgres:
            return bool(s.scalar(text("select auth_reset_password(:u, :g, :h)"),
                                 {"u": user_id, "g": expected_generation, "h": new_hash}))
        result = s.execute(update(User).where(User.id == user_id, User.password_generation == expected_generation)
                           .values(password_hash=new_hash, password_generation=User.password_generation + 1,
                                   failed_attempts=0, locked_until=None))
        return bool(getattr(result, "rowcount", 0))

