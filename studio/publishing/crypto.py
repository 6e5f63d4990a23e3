"""Secrets at rest: MultiFernet over ENCRYPTION_KEYS (newest first), and the command that rotates every row.

`python -m studio.publishing.crypto generate-key` prints a new key; put it first in ENCRYPTION_KEYS,
keep the old ones after it, run `python -m studio.publishing.crypto rotate`, then drop the old keys.
With ENCRYPTION_KEYS empty the key is derived from SECRET_KEY, and that derived key stays a last
fallback for reading, so rows written before ENCRYPTION_KEYS was set still open until rotated.
"""

from __future__ import annotations

import argparse
import base64
import uuid
from collections import defaultdict
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select, text

from studio.context import Context, WorkspaceId
from studio.permissions import system_only
from studio.settings import Settings, SettingsError, load_settings
from studio.store.publishing_models import RedditAccount
from studio.store.session import Store

SECRET_COLUMNS = ("client_secret_enc", "password_enc", "refresh_token_enc")


class SecretUnreadable(RuntimeError):
    """A stored secret was encrypted with a key that is no longer configured."""


def derived_key(secret_key: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"dotoro-studio secrets at rest")
    return base64.urlsafe_b64encode(hkdf.derive(secret_key.encode()))


def cipher(settings: Settings) -> MultiFernet:
    """Encrypts with the first configured key; decrypts with any configured key or the derived one."""
    raw = [k.strip() for k in settings.extra.get("ENCRYPTION_KEYS", "").split(",") if k.strip()]
    try:
        keys = [Fernet(k) for k in raw]
    except ValueError as exc:
        raise SettingsError("ENCRYPTION_KEYS must be comma-separated Fernet keys "
                            "(make one with `python -m studio.publishing.crypto generate-key`).") from exc
    return MultiFernet([*keys, Fernet(derived_key(settings.secret_key))])


def encrypt(settings: Settings, plain: str | None) -> str | None:
    if plain is None or plain == "":
        return None
    return cipher(settings).encrypt(plain.encode()).decode()


def decrypt(settings: Settings, token: str | None) -> str | None:
    if not token:
        return None
    try:
        return cipher(settings).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable("A stored Reddit secret cannot be decrypted with the configured ENCRYPTION_KEYS; "
                               "restore the old key or reconnect the account.") from exc


@dataclass(frozen=True)
class Rotation:
    changed: int
    unreadable: int  # encrypted with a key no longer configured: left as they are (reconnect those accounts)


@system_only("an operator command (python -m studio.publishing.crypto) re-encrypts every secret")
def rotate(store: Store) -> Rotation:
    """Re-encrypt every secret of every workspace with the newest key."""
    mf = cipher(store.settings)
    with store.account_scope() as s:
        if store.is_postgres:
            s.execute(text("select set_config('app.key_rotation', 'on', true)"))
        rows = s.execute(select(RedditAccount.workspace_id, RedditAccount.id)).all()
    by_ws: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for ws, account_id in rows:
        by_ws[ws].append(account_id)
    changed = unreadable = 0
    for ws, ids in by_ws.items():
        with store.session_scope(Context.job(WorkspaceId(ws))) as s:
            for account in s.scalars(select(RedditAccount).where(RedditAccount.id.in_(ids)).with_for_update()):
                for column in SECRET_COLUMNS:
                    value = getattr(account, column)
                    if not value:
                        continue
                    try:
                        setattr(account, column, mf.rotate(value.encode()).decode())
                        changed += 1
                    except InvalidToken:
                        unreadable += 1
    return Rotation(changed, unreadable)


def main() -> None:
    parser = argparse.ArgumentParser(description="Secrets at rest: generate a key or rotate every stored secret.")
    parser.add_argument("action", choices=["rotate", "generate-key"])
    args = parser.parse_args()
    if args.action == "generate-key":
        print(Fernet.generate_key().decode())
        return
    store = Store(load_settings())
    try:
        from studio import feed_secrets

        done = rotate(store)
        feeds_done = feed_secrets.rotate(store)  # URL data sets' credentials (issue 19)
        done = Rotation(done.changed + feeds_done.changed, done.unreadable + feeds_done.unreadable)
        print(f"re-encrypted {done.changed} secret(s) with the newest key")
        if done.unreadable:
            print(f"{done.unreadable} secret(s) could not be decrypted with any configured key; "
                  "reconnect those accounts")
    finally:
        store.dispose()


if __name__ == "__main__":
    main()
