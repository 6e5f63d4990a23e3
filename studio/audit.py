"""The audit trail: who did what, when, to which object, from where."""

from __future__ import annotations

from typing import Any

from studio.store.models import AuditEvent
from studio.store.session import TenantSession


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
