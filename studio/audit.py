"""The audit trail: who did what, when, to which object, from where."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select

from studio.context import Context, Permission
from studio.errors import ValidationFailed
from studio.permissions import requires, system_only
from studio.store.models import AuditEvent, User
from studio.store.session import Store, TenantSession


def record(
    s: TenantSession,
    action: str,
    *,
    object_type: str | None = None,
    object_id: object | None = None,
    summary: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an event to the current unit of work (it commits or rolls back with the action itself)."""
    ctx = s.info.get("ctx")
    event = AuditEvent(
        workspace_id=s.workspace_id,
        actor_id=s.info.get("user_id"),
        action=action,
        object_type=object_type,
        object_id=str(object_id) if object_id is not None else None,
        summary=summary,
        detail=detail or {},
        client_address=getattr(ctx, "client_address", None),
    )
    s.add(event)
    return event


@dataclass(frozen=True)
class AuditRow:
    at: dt.datetime
    actor: str
    action: str
    object_type: str | None
    object_id: str | None
    summary: str
    client_address: str | None


@dataclass(frozen=True)
class AuditFilter:
    start: dt.date | None = None
    end: dt.date | None = None
    actor_id: uuid.UUID | None = None
    action_prefix: str | None = None
    object_type: str | None = None
    limit: int = 500


@requires(Permission.MANAGE_MEMBERS)
def search(store: Store, ctx: Context, f: AuditFilter) -> list[AuditRow]:
    """Events of the current workspace, newest first, filtered by date range, user, action and object."""
    with store.session_scope(ctx) as s:
        s.require(Permission.MANAGE_MEMBERS)
        stmt = select(AuditEvent, User.email).outerjoin(User, User.id == AuditEvent.actor_id)
        if f.start:
            stmt = stmt.where(AuditEvent.at >= dt.datetime.combine(f.start, dt.time.min, dt.UTC))
        if f.end:
            stmt = stmt.where(AuditEvent.at < dt.datetime.combine(f.end + dt.timedelta(days=1), dt.time.min, dt.UTC))
        if f.actor_id:
            stmt = stmt.where(AuditEvent.actor_id == f.actor_id)
        if f.action_prefix:
            stmt = stmt.where(AuditEvent.action.startswith(f.action_prefix))
        if f.object_type:
            stmt = stmt.where(AuditEvent.object_type == f.object_type)
        rows = s.execute(stmt.order_by(AuditEvent.at.desc()).limit(f.limit)).all()
        return [AuditRow(e.at, email or "system", e.action, e.object_type, e.object_id, e.summary, e.client_address)
                for e, email in rows]


def to_csv(rows: list[AuditRow]) -> bytes:
    """CSV with spreadsheet formulas neutralised (a cell never starts with = + - @ tab or CR)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["when (UTC)", "who", "action", "object type", "object id", "what", "client address"])
    for r in rows:
        w.writerow([safe_cell(v) for v in (r.at.isoformat(), r.actor, r.action, r.object_type or "", r.object_id or "",
                                            r.summary, r.client_address or "")])
    return buf.getvalue().encode("utf-8-sig")


def safe_cell(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@system_only("the daily maintenance job applies each plan's retention")
def apply_retention(store: Store, ctx: Context, days: int | None) -> int:
    """Delete events older than `days` (None: keep forever). Run by a periodic job per workspace."""
    if days is None:
        return 0
    if days < 1:
        raise ValidationFailed(f"Audit retention keeps at least 1 day of events, not {days}.")
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    with store.session_scope(ctx) as s:
        result = s.execute(delete(AuditEvent).where(AuditEvent.at < cutoff))
        return int(getattr(result, "rowcount", 0) or 0)
