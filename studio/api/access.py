"""What the API does around every call of a key: authenticate it, then record the call (last use, the audit
trail, the plan's usage) and keep or replay idempotent responses. Only studio.api.app calls these."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.exc import IntegrityError

from studio import audit
from studio.api.keys import TOKEN_PREFIX, hash_token
from studio.context import Context, Role, WorkspaceId, capped
from studio.errors import AuthError, StudioError
from studio.permissions import internal, public
from studio.store.api_models import ApiKey, IdempotencyRecord
from studio.store.base import aware, utcnow
from studio.store.models import WorkspaceMember
from studio.store.session import Store


@dataclass(frozen=True)
class Principal:
    """An authenticated key: whom it acts for, with which role and scopes."""

    key_id: uuid.UUID
    name: str
    workspace_id: WorkspaceId
    user_id: uuid.UUID
    role: Role
    scopes: tuple[str, ...]

    def context(self, address: str | None) -> Context:
        return Context(user_id=self.user_id, workspace_id=self.workspace_id,  # type: ignore[arg-type]
                       client_address=address, role_cap=self.role)


@public("the API key's secret is itself the proof; a wrong, revoked or expired key is refused")
def authenticate(store: Store, token: str | None) -> Principal:
    """The key behind a bearer token, or AuthError (401) saying what is wrong."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        raise AuthError("Send an API key as 'Authorization: Bearer dotoro_sk_…' (create one under "
                        "Workspace → API keys).")
    digest = hash_token(token)
    with store.account_scope() as s:
        if store.is_postgres:  # the one row readable by its hash before the workspace is known (migration 0017)
            s.execute(text("select set_config('app.api_key_hash', :h, true)"), {"h": digest})
        key = s.scalar(select(ApiKey).where(ApiKey.key_hash == digest))
        found = None if key is None else (key.id, key.name, key.workspace_id, key.created_by, key.role,
                                         tuple(key.scopes or ()), key.revoked_at, key.expires_at)
    if found is None:
        raise AuthError("This API key is not valid. Check that it was copied whole, or create a new one.")
    key_id, name, ws, creator, role, scopes, revoked, expires = found
    if revoked is not None:
        raise AuthError(f"The API key {name!r} was revoked; create a new one under Workspace → API keys.")
    if expires is not None and aware(expires) <= utcnow():
        raise AuthError(f"The API key {name!r} expired on {aware(expires):%Y-%m-%d %H:%M} UTC; create a new one.")
    with store.session_scope(Context.job(WorkspaceId(ws))) as s:
        member_role = s.scalar(select(WorkspaceMember.role).where(WorkspaceMember.user_id == creator))
    if member_role is None:
        raise AuthError(f"The member who created the API key {name!r} has left the workspace; the key no "
                        "longer works. Create a new one.")
    effective = capped(Role(member_role), Role(role))
    assert effective is not None
    return Principal(key_id, name, WorkspaceId(ws), creator, effective, scopes)


@internal("the API app records each call of a key it has just authenticated")
def record_call(store: Store, who: Principal, *, method: str, path: str, status: int, address: str | None,
                count_usage: bool = True) -> None:
    """Last use (time and address), one audit event and one API call of the plan's usage, in one transaction."""
    from studio.billing import Metric, record_usage

    ctx = Context(user_id=who.user_id, workspace_id=who.workspace_id, client_address=address,  # type: ignore[arg-type]
                  system=True)
    with store.session_scope(ctx) as s:
        key = s.get(ApiKey, who.key_id)
        if key is not None:
            key.last_used_at, key.last_used_address = utcnow(), (address or "")[:64] or None
        audit.record(s, "api.call", object_type="api_key", object_id=who.key_id,
                     summary=f"{method} {path} → {status} (key {who.name!r})",
                     detail={"method": method, "path": path, "status": status, "key": who.name})
        if count_usage:
            record_usage(s, Metric.API_CALLS, 1, f"api:{uuid.uuid4()}")


@internal("the API app checks the plan's API allowance of a key it has just authenticated")
def within_allowance(store: Store, who: Principal) -> str | None:
    """None, or the message saying that this month's API calls are used up."""
    from studio.billing import LimitExceeded, Metric, allowance_in

    with store.session_scope(Context.job(who.workspace_id)) as s:
        try:
            allowance_in(s, store.settings, Metric.API_CALLS, 1)
        except LimitExceeded as exc:
            return exc.message
    return None


@dataclass(frozen=True)
class Replay:
    """A response kept for an Idempotency-Key (and the SHA-256 of the request body it answered)."""

    body_hash: str
    status: int
    headers: dict[str, Any]
    body: bytes


PENDING = 0  # the status of a claimed Idempotency-Key whose request is still running
KEEP_RECORDS = dt.timedelta(hours=24)


@internal("the API app claims an Idempotency-Key for the key that sends it")
def claim(store: Store, who: Principal, route: str, idempotency_key: str, body_hash: str) -> Replay | None:
    """None when this request may run (the key is now claimed); else what was recorded first: a finished
    response to replay (status > 0) or a request still running (status PENDING)."""
    ctx = Context.job(who.workspace_id)
    try:
        with store.session_scope(ctx) as s:
            s.execute(delete(IdempotencyRecord).where(IdempotencyRecord.key_id == who.key_id,
                                                      IdempotencyRecord.created_at < utcnow() - KEEP_RECORDS))
            s.add(IdempotencyRecord(key_id=who.key_id, route=route, idempotency_key=idempotency_key,
                                    body_hash=body_hash, status=PENDING, headers={}, body=b""))
        return None
    except (IntegrityError, StudioError):  # integrity.as_message turns the unique violation into a StudioError
        pass
    with store.session_scope(ctx) as s:
        rec = s.scalar(select(IdempotencyRecord).where(IdempotencyRecord.key_id == who.key_id,
                                                       IdempotencyRecord.route == route,
                                                       IdempotencyRecord.idempotency_key == idempotency_key))
        if rec is None:  # released meanwhile (the first try failed): run this one
            return claim(store, who, route, idempotency_key, body_hash)
        return Replay(rec.body_hash, rec.status, dict(rec.headers), bytes(rec.body))


@internal("the API app records the response of an idempotent POST it claimed")
def finish(store: Store, who: Principal, route: str, idempotency_key: str, replay: Replay | None) -> None:
    """Keep the response for replays, or (None: a server error) release the key so a retry can run."""
    with store.session_scope(Context.job(who.workspace_id)) as s:
        rec = s.scalar(select(IdempotencyRecord).where(IdempotencyRecord.key_id == who.key_id,
                                                       IdempotencyRecord.route == route,
                                                       IdempotencyRecord.idempotency_key == idempotency_key))
        if rec is None:
            return
        if replay is None:
            s.delete(rec)
        else:
            rec.status, rec.headers, rec.body = replay.status, replay.headers, replay.body
