"""Credentials of URL data sets at rest: sealed with the studio's secrets cipher (studio.publishing.crypto).

The only module outside studio/publishing that opens a secret (tests/studio/test_permissions.py checks
it): studio.feeds hands the opened credentials straight to the fetch and never returns them.
"""

from __future__ import annotations

import json

from studio.feed_fetch import Credentials, FetchFailed
from studio.publishing import crypto
from studio.settings import Settings


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
