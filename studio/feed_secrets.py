"""Credentials of URL data sets at rest: sealed with the studio's secrets cipher (studio.publishing.crypto).

The only module outside studio/publishing that opens a secret (tests/studio/test_permissions.py checks
it): studio.feeds hands the opened credentials straight to the fetch and never returns them.
"""

from __future__ import annotations

import json

from cryptography.fernet import InvalidToken
from sqlalchemy import select

from studio.context import Context
from studio.feed_fetch import Credentials, FetchFailed
from studio.permissions import system_only
from studio.publishing import crypto
from studio.settings import Settings
from studio.store.feed_models import FeedSource
from studio.store.session import Store


def seal(settings: Settings, creds: Credentials | None) -> str | None:
    if creds is None:
        return None
    return crypto.encrypt(settings, json.dumps({"kind": creds.kind, "username": creds.username,
                                                "secret": creds.secret}))


def unseal(settings: Settings, token: str | None) -> Credentials | None:
    if not token:
        return None
    try:
        plain = crypto.decrypt(settings, token)
    except crypto.SecretUnreadable:
        raise FetchFailed("The stored credentials of this feed cannot be decrypted with the configured "
                          "ENCRYPTION_KEYS: enter them again on the data set.") from None
    data = json.loads(plain or "{}")
    return Credentials(str(data["kind"]), str(data["username"]), str(data["secret"]))


def label(creds: Credentials | None) -> str:
    """What the page shows of the credentials: never the password or the header's value."""
    if creds is None:
        return ""
    return f"basic auth as {creds.username}" if creds.kind == "basic" else f"header {creds.username}"


@system_only("an operator command (python -m studio.publishing.crypto rotate) re-encrypts every secret")
def rotate(store: Store) -> crypto.Rotation:
    """Re-encrypt every URL data set's credentials with the newest key (each workspace in its own session)."""
    from studio.admin import all_workspaces

    mf = crypto.cipher(store.settings)
    changed = unreadable = 0
    for ws in all_workspaces(store):
        with store.session_scope(Context.job(ws)) as s:
            for src in s.scalars(select(FeedSource).where(FeedSource.credentials_enc.is_not(None)).with_for_update()):
                try:
                    src.credentials_enc = mf.rotate(str(src.credentials_enc).encode()).decode()
                    changed += 1
                except InvalidToken:
                    unreadable += 1
    return crypto.Rotation(changed, unreadable)
