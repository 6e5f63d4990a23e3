"""Who is acting, in which workspace, and what each role may do."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from typing import NewType

UserId = NewType("UserId", uuid.UUID)
WorkspaceId = NewType("WorkspaceId", uuid.UUID)


class Role(str, enum.Enum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"


class Permission(str, enum.Enum):
    DELETE_WORKSPACE = "delete workspace"
    MANAGE_BILLING = "manage billing"
    MANAGE_MEMBERS = "invite or remove members and change roles"
    MANAGE_INTEGRATIONS = "manage Reddit accounts and integrations"
    EDIT = "create, edit, generate or publish"
    VIEW = "view and preview"


# The single table of who may do what (issue #6); services consult it, pages only mirror it.
GRANTS: dict[Permission, frozenset[Role]] = {
    Permission.DELETE_WORKSPACE: frozenset({Role.OWNER}),
    Permission.MANAGE_BILLING: frozenset({Role.OWNER, Role.ADMIN}),
    Permission.MANAGE_MEMBERS: frozenset({Role.OWNER, Role.ADMIN}),
    Permission.MANAGE_INTEGRATIONS: frozenset({Role.OWNER, Role.ADMIN}),
    Permission.EDIT: frozenset({Role.OWNER, Role.ADMIN, Role.MEMBER}),
    Permission.VIEW: frozenset(Role),
}


def allows(role: Role | None, permission: Permission) -> bool:
    return role is not None and role in GRANTS[permission]


RANKS: tuple[Role, ...] = (Role.VIEWER, Role.MEMBER, Role.ADMIN, Role.OWNER)


def capped(role: Role | None, cap: Role | None) -> Role | None:
    """The lower of a member's role and a cap (an API key acts with at most its own role)."""
    if role is None or cap is None:
        return role
    return min(role, cap, key=RANKS.index)


@dataclass(frozen=True)
class Context:
    """The actor of one unit of work: a user in a workspace, or a background job (user_id None)."""

    user_id: UserId | None
    workspace_id: WorkspaceId | None
    client_address: str | None = None
    system: bool = False
    role_cap: Role | None = None
    """An API key's role: the member acts with the lower of it and their own (studio.api.keys)."""

    @classmethod
    def job(cls, workspace_id: WorkspaceId) -> Context:
        return cls(user_id=None, workspace_id=workspace_id, system=True)
