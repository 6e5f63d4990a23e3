"""Workspaces and memberships (the parts the foundation needs: personal workspace, listing, switching)."""

from __future__ import annotations

import unicodedata
import uuid
from dataclasses import dataclass

from sqlalchemy import select

from studio import audit
from studio.context import Context, Role, UserId, WorkspaceId
from studio.errors import ValidationFailed
from studio.permissions import public
from studio.store import rerun
from studio.store.models import Workspace, WorkspaceMember
from studio.store.session import Store


@dataclass(frozen=True)
class Membership:
    workspace_id: WorkspaceId
    workspace_name: str
    role: Role


@public("any signed-in person may create a workspace of their own")
def create_workspace(store: Store, user_id: UserId, name: str, *, client_address: str | None = None) -> WorkspaceId:
    """Create a workspace with `user_id` as its owner."""
    clean = " ".join(name.split())
    if not clean:
        raise ValidationFailed("Give the workspace a name.")
    if any(unicodedata.category(c) == "Cc" for c in clean):
        raise ValidationFailed("The workspace name contains an invisible control character; type it again.")
    ws = WorkspaceId(uuid.uuid4())
    ctx = Context(user_id=user_id, workspace_id=ws, client_address=client_address, system=True)
    with store.session_scope(ctx) as s:
        s.add(Workspace(id=ws, name=clean[:120], created_by=user_id))
        s.flush()
        s.add(WorkspaceMember(workspace_id=ws, user_id=user_id, role=Role.OWNER.value))
        audit.record(s, "workspace.create", object_type="workspace", object_id=ws, summary=f"Created workspace {clean!r}")
    return ws


@public("the signed-in person's own memberships")
def memberships(store: Store, user_id: UserId) -> list[Membership]:
    """The workspaces a user belongs to, oldest first (read once per page rerun: the sidebar and the page ask)."""

    def read() -> tuple[Membership, ...]:
        with store.account_scope(user_id) as s:
            rows = s.execute(
                select(WorkspaceMember.workspace_id, Workspace.name, WorkspaceMember.role)
                .join(Workspace, Workspace.id == WorkspaceMember.workspace_id)
                .where(WorkspaceMember.user_id == user_id)
                .order_by(WorkspaceMember.created_at, Workspace.name)
            ).all()
        for r in rows:  # the gates of this page rerun need not read the role again (studio/store/rerun.py)
            rerun.remember_role(r[0], user_id, Role(r[2]))
        return tuple(Membership(WorkspaceId(r[0]), r[1], Role(r[2])) for r in rows)

    return list(rerun.remembered(("tenancy.memberships", user_id), read))
