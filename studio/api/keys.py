"""API keys of a workspace: `dotoro_sk_` + 32 random bytes, shown once, kept as a SHA-256 (issue 20).

A key acts for the member who created it, with at most the role chosen for it (never above the creator's,
and capped again by the creator's current role on every call: see Context.role_cap) and only within its
scopes: `read` (GET), `write` (creating and changing content), `publish` (planning and cancelling posts),
`admin` (all of them). Owners and admins manage keys (Permission.MANAGE_INTEGRATIONS).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from studio import audit
from studio.context import RANKS, Context, Permission, Role
from studio.errors import NotFound, ValidationFailed
from studio.permissions import requires
from studio.store.api_models import ApiKey
from studio.store.base import aware, utcnow
from studio.store.session import Store

TOKEN_PREFIX = "dotoro_sk_"
SCOPES: dict[str, str] = {
    "read": "read data sets, templates, rule sets, campaign sets, variations, jobs and usage",
    "write": "upload, create, edit, generate, review and export",
    "publish": "plan and cancel publishing",
    "admin": "everything the key's role allows",
}
MAX_KEYS = 50
MAX_NAME = 100


@dataclass(frozen=True)
class KeyInfo:
    id: uuid.UUID
    name: str
    prefix: str
    scopes: tuple[str, ...]
    role: Role
    created_by: uuid.UUID
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    last_used_address: str | None
    revoked_at: dt.datetime | None

    def state(self, now: dt.datetime | None = None) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and aware(self.expires_at) <= (now or utcnow()):
            return "expired"
        return "active"


@dataclass(frozen=True)
class CreatedKey:
    info: KeyInfo
    secret: str
    """The whole key: shown once, never stored."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def has_scope(scopes: Sequence[str], needed: str) -> bool:
    return "admin" in scopes or needed in scopes


def _info(k: ApiKey) -> KeyInfo:
    return KeyInfo(k.id, k.name, k.prefix, tuple(k.scopes or ()), Role(k.role), k.created_by, aware(k.created_at),
                   aware(k.expires_at) if k.expires_at else None,
                   aware(k.last_used_at) if k.last_used_at else None, k.last_used_address,
                   aware(k.revoked_at) if k.revoked_at else None)


@requires(Permission.MANAGE_INTEGRATIONS)
def create_key(store: Store, ctx: Context, name: str, scopes: Sequence[str], role: Role | str, *,
               expires_at: dt.datetime | None = None) -> CreatedKey:
    """A new key; its secret is in the result and nowhere else."""
    clean = " ".join((name or "").split())
    if not clean:
        raise ValidationFailed("Give the key a name that says where it is used (e.g. 'n8n production').")
    if len(clean) > MAX_NAME:
        raise ValidationFailed(f"A key's name is at most {MAX_NAME} characters.")
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise ValidationFailed(f"Pick at least one scope among {', '.join(SCOPES)}" +
                               (f" ({', '.join(unknown)} is not one)." if unknown else "."))
    try:
        wanted = Role(role)
    except ValueError as exc:
        raise ValidationFailed(f"Unknown role {role!r}; use one of {', '.join(r.value for r in Role)}.") from exc
    if expires_at is not None and aware(expires_at) <= utcnow():
        raise ValidationFailed("The expiry must be in the future.")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with store.session_scope(ctx) as s:
        s.require(Permission.MANAGE_INTEGRATIONS)
        mine = s.role
        if mine is not None and not s.info.get("system") and RANKS.index(wanted) > RANKS.index(mine):
            raise ValidationFailed(f"A key cannot act with a role above yours ({mine.value}); pick "
                                   f"{', '.join(r.value for r in RANKS[:RANKS.index(mine) + 1])}.")
        active = [k for k in s.scalars(select(ApiKey).where(ApiKey.revoked_at.is_(None)))]
        if len(active) >= MAX_KEYS:
            raise ValidationFailed(f"This workspace has {MAX_KEYS} keys in use; revoke one first.")
        key = ApiKey(name=clean, prefix=secret[:len(TOKEN_PREFIX) + 6], key_hash=hash_token(secret),
                     scopes=[sc for sc in SCOPES if sc in scopes], role=wanted.value,
                     created_by=ctx.user_id, expires_at=expires_at)
        s.add(key)
        s.flush()
        audit.record(s, "api_key.create", object_type="api_key", object_id=key.id,
                     summary=f"Created API key {clean!r} ({key.prefix}…, {wanted.value}, {', '.join(key.scopes)})")
        return CreatedKey(_info(key), secret)


@requires(Permission.MANAGE_INTEGRATIONS)
def list_keys(store: Store, ctx: Context) -> list[KeyInfo]:
    with store.session_scope(ctx) as s:
        s.require(Permission.MANAGE_INTEGRATIONS)
        return [_info(k) for k in s.scalars(select(ApiKey).order_by(ApiKey.created_at.desc()))]


@requires(Permission.MANAGE_INTEGRATIONS)
def revoke_key(store: Store, ctx: Context, key_id: uuid.UUID) -> KeyInfo:
    """The key stops working on its next call (401); revoking twice changes nothing."""
    with store.session_scope(ctx) as s:
        s.require(Permission.MANAGE_INTEGRATIONS)
        key = s.scalar(select(ApiKey).where(ApiKey.id == key_id).with_for_update())
        if key is None:
            raise NotFound("This API key does not exist in this workspace.")
        if key.revoked_at is None:
            key.revoked_at = utcnow()
            audit.record(s, "api_key.revoke", object_type="api_key", object_id=key.id,
                         summary=f"Revoked API key {key.name!r} ({key.prefix}…)")
        return _info(key)
