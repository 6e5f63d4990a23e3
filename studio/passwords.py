"""Changing and resetting a password; both sign the account out of every other browser.

A reset link is a JWT signed with a key derived from SECRET_KEY, naming the account and its password
generation, valid for an hour. Any change or reset bumps the generation, so a link works once and
an older link dies when a newer password is set. Links go out by e-mail when SMTP_URL is set;
otherwise an operator prints one: `python -m studio.passwords reset-link EMAIL`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import logging
import uuid
from dataclasses import dataclass

import jwt
from sqlalchemy import update

from studio import auth, credentials, mail
from studio.auth import Account
from studio.context import UserId
from studio.credentials import Outcome
from studio.errors import AuthError, ValidationFailed
from studio.permissions import public, system_only
from studio.settings import Settings, load_settings
from studio.store.base import utcnow
from studio.store.models import AuthSession
from studio.store.session import Store

RESET_VALID = dt.timedelta(hours=1)
_PURPOSE = "password-reset"
log = logging.getLogger(__name__)
LINK_INVALID = "This reset link has expired or was already used. Ask for a new one from the sign-in page."


def _key(settings: Settings) -> str:
    return hashlib.sha256(f"{_PURPOSE}:{settings.secret_key}".encode()).hexdigest()


def _revoke_sessions(store: Store, user_id: UserId, keep_token: str | None = None) -> int:
    with store.account_scope(user_id) as s:
        stmt = update(AuthSession).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
        if keep_token:
            stmt = stmt.where(AuthSession.token_hash != auth.token_hash(keep_token))
        result = s.execute(stmt.values(revoked_at=utcnow()))
        return int(getattr(result, "rowcount", 0) or 0)


@public("the signed-in person's own password; the current password is the proof")
def change_password(store: Store, user_id: UserId, current: str, new: str, *, keep_token: str | None = None,
                    client_address: str | None = None) -> int:
    """Set a new password; every other session of the account ends. Returns how many were signed out."""
    auth.check_new_password(new)
    if "\x00" in current or len(current.encode()) > 1024:
        raise AuthError("The current password is not right.")
    if new == current:
        raise ValidationFailed("The new password is the same as the current one; choose another.")
    outcome = credentials.change_password(store, user_id, current,
                                          auth.hash_password(new, store.settings.bcrypt_rounds))
    if outcome is Outcome.LOCKED:
        raise AuthError(f"Too many wrong passwords: try again in {store.settings.lockout_minutes} minutes, "
                        "or sign out and use “Forgot password?”.")
    if outcome is not Outcome.OK:
        raise AuthError("The current password is not right.")
    ended = _revoke_sessions(store, user_id, keep_token)
    auth.audit_everywhere(store, user_id, "auth.password_changed",
                           f"Changed the password; signed out {ended} other session{'' if ended == 1 else 's'}", client_address)
    return ended


def _token(settings: Settings, target: credentials.ResetTarget) -> str:
    claims = {"sub": str(target.user_id), "gen": target.generation, "purpose": _PURPOSE,
              "exp": int((utcnow() + RESET_VALID).timestamp())}
    return jwt.encode(claims, _key(settings), algorithm="HS256")


def _link(settings: Settings, token: str) -> str:
    return f"{settings.public_url.rstrip('/')}/?reset={token}"


@system_only("the operator command prints it: python -m studio.passwords reset-link EMAIL")
def reset_link(store: Store, email: str) -> str | None:
    """A reset link for the account with `email`, or None when there is none."""
    target = credentials.reset_target(store, auth.check_email(email))
    return None if target is None else _link(store.settings, _token(store.settings, target))


def mail_configured(settings: Settings) -> bool:
    return mail.configured(settings)


def _send(settings: Settings, to: str, name: str, url: str) -> None:
    minutes = int(RESET_VALID.total_seconds() // 60)
    mail.send(settings, to, "Set a new password for Dotoro Studio",
              f"Hello {name},\n\nSet a new password here: {url}\n\nThe link works once and expires in "
              f"{minutes} minutes. Setting a new password signs you out everywhere else.\n"
              "If you did not ask for this, ignore this e-mail; your password stays as it is.")


@public("anyone may ask; the link goes only to the account's own address")
def request_reset(store: Store, email: str, *, client_address: str | None = None) -> str:
    """E-mail a reset link if an account has this address; the answer is the same either way."""
    email = auth.check_email(email)
    if not mail_configured(store.settings):
        return ("This studio sends no e-mail. Ask its operator for a reset link "
                "(they run: python -m studio.passwords reset-link YOUR-EMAIL).")
    target = credentials.reset_target(store, email)
    if target is not None:
        try:
            _send(store.settings, email, target.name, _link(store.settings, _token(store.settings, target)))
            summary = "Asked for a password reset link (e-mailed)"
        except mail.MailFailed as exc:
            log.warning("password reset mail not sent: %s", exc, extra={"event": "mail.failed"})
            summary = "Asked for a password reset link; the e-mail could not be sent (see the studio log)"
        auth.audit_everywhere(store, UserId(target.user_id), "auth.password_reset_requested", summary,
                               client_address)
    minutes = int(RESET_VALID.total_seconds() // 60)
    return (f"If an account uses {email}, a link to set a new password is on its way. "
            f"It works once, for {minutes} minutes.")


@dataclass(frozen=True)
class ResetLink:
    user_id: UserId
    generation: int


def _read(store: Store, token: str) -> ResetLink:
    try:
        claims = jwt.decode(token, _key(store.settings), algorithms=["HS256"], options={"require": ["exp", "sub"]})
        link = ResetLink(UserId(uuid.UUID(str(claims["sub"]))), int(claims["gen"]))
    except (jwt.PyJWTError, KeyError, TypeError, ValueError) as exc:
        raise ValidationFailed(LINK_INVALID) from exc
    if claims.get("purpose") != _PURPOSE or credentials.generation(store, link.user_id) != link.generation:
        raise ValidationFailed(LINK_INVALID)
    return link


@public("the signed reset link is the proof")
def reset_account(store: Store, token: str) -> Account:
    """The account a reset link is for, if it can still be used (for the 'set a new password' form)."""
    return auth.account_of(store, _read(store, token).user_id)


@public("the signed reset link is the proof")
def reset_password(store: Store, token: str, new: str, *, client_address: str | None = None) -> Account:
    """Set a new password with a reset link (once); every session of the account ends."""
    link = _read(store, token)
    auth.check_new_password(new)
    if not credentials.reset_password(store, link.user_id, link.generation,
                                      auth.hash_password(new, store.settings.bcrypt_rounds)):
        raise ValidationFailed(LINK_INVALID)  # used a moment ago, by another click
    ended = _revoke_sessions(store, link.user_id)
    auth.audit_everywhere(store, link.user_id, "auth.password_reset",
                           f"Set a new password with a reset link; signed out {ended} session{'' if ended == 1 else 's'}", client_address)
    return auth.account_of(store, link.user_id)


def main(argv: list[str] | None = None) -> int:
    """`python -m studio.passwords reset-link EMAIL`: print a reset link (when the studio sends no e-mail)."""
    parser = argparse.ArgumentParser(prog="python -m studio.passwords", description=main.__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("reset-link", help="print a one-time link to set a new password").add_argument("email")
    args = parser.parse_args(argv)
    settings = load_settings()
    store = Store(settings)
    try:
        link = reset_link(store, args.email)
    except ValidationFailed as exc:
        print(exc)
        return 2
    finally:
        store.dispose()
    if link is None:
        print(f"No account uses {args.email}.")
        return 1
    minutes = int(RESET_VALID.total_seconds() // 60)
    print(f"Send this link to {args.email} (it works once, for {minutes} minutes):\n{link}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
