"""Workspaces and their members: rename, delete, roles, removal, leaving (rules of issue #6)."""

from __future__ import annotations

import datetime as dt
import shutil
import unicodedata
import uuid
from dataclasses import dataclass

from sqlalchemy import delete, func, select

from studio import audit
from studio.context import Context, Permission, Role, UserId
from studio.errors import NotFound, PermissionDenied, ValidationFailed
from studio.permissions import requires
from studio.store.models import User, Workspace, WorkspaceMember
from studio.store.session import Store, TenantSession


@dataclass(frozen=True)
class MemberInfo:
    user_id: UserId
    name: str
    email: str
    role: Role
    joined_at: dt.datetime


@requires(Permission.MANAGE_MEMBERS)
def rename(store: Store, ctx: Context, name: str) -> None:
    clean = " ".join(name.split())
    if not clean or len(clean) > 120:
        raise ValidationFailed("A workspace name needs 1 to 120 characters.")
    if any(unicodedata.category(c) == "Cc" for c in clean):
        raise ValidationFailed("The workspace name contains an invisible control character; type it again.")
    with store.session_scope(ctx) as s:
        s.require(Permission.MANAGE_MEMBERS)
        ws = s.get(Workspace, s.workspace_id)
        if ws is None:
            raise NotFound("This workspace no longer exists.")
        old, ws.name = ws.name, clean
        audit.record(s, "workspace.rename", object_type="workspace", object_id=ws.id, summary=f"Renamed {old!r} to {clean!r}")


@requires(Permission.DELETE_WORKSPACE)
def delete_workspace(store: Store, ctx: Context, typed_name: str) -> str:
    """Owner only; the typed name must match. Everything of the workspace goes (cascade)."""
    with store.session_scope(ctx) as s:
        s.require(Permission.DELETE_WORKSPACE)
        ws = s.get(Workspace, s.workspace_id)
        if ws is None:
            raise NotFound("This workspace no longer exists.")
        if typed_name.strip() != ws.name:
            raise ValidationFailed(f"Type the workspace name exactly ({ws.name}) to delete it.")
        name = ws.name
        s.delete(ws)
        folder = store.settings.home / "data" / str(ws.id)
        s.info.setdefault("after_commit", []).append(lambda: shutil.rmtree(folder, ignore_errors=True))
    return name


@requires(Permission.VIEW)
def list_members(store: Store, ctx: Context) -> list[MemberInfo]:
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        rows = s.execute(
            select(User.id, User.name, User.email, WorkspaceMember.role, WorkspaceMember.created_at)
            .join(WorkspaceMember, WorkspaceMember.user_id == User.id)
            .where(WorkspaceMember.workspace_id == s.workspace_id)
            .order_by(WorkspaceMember.created_at)
        ).all()
    return [MemberInfo(UserId(r[0]), r[1], r[2], Role(r[3]), r[4]) for r in rows]


def _member(s: TenantSession, user_id: uuid.UUID) -> WorkspaceMember:
    m = s.scalar(select(WorkspaceMember).where(WorkspaceMember.workspace_id == s.workspace_id,
                                                WorkspaceMember.user_id == user_id).with_for_update())
    if m is None:
        raise NotFound("That person is not a member of this workspace.")
    return m


def _owners(s: TenantSession) -> int:
    return s.scalar(select(func.count()).select_from(WorkspaceMember).where(
        WorkspaceMember.workspace_id == s.workspace_id, WorkspaceMember.role == Role.OWNER.value)) or 0


def _guard_owner_change(s: TenantSession, target: WorkspaceMember, new_role: Role | None) -> None:
    touches_owner = target.role == Role.OWNER.value or new_role == Role.OWNER
    if touches_owner and s.role != Role.OWNER and not s.info.get("system"):
        raise PermissionDenied("Only an owner can grant or take away the owner role.")
    if target.role == Role.OWNER.value and new_role != Role.OWNER and _owners(s) <= 1:
        raise ValidationFailed("The last owner cannot leave or be demoted. Make someone else an owner first.")


@requires(Permission.MANAGE_MEMBERS)
def change_role(store: Store, ctx: Context, user_id: UserId, role: Role) -> None:
    with store.session_scope(ctx) as s:
        s.require(Permission.MANAGE_MEMBERS)
        target = _member(s, user_id)
        if target.role == role.value:
            return
        _guard_owner_change(s, target, role)
        old, target.role = target.role, role.value
        audit.record(s, "member.role", object_type="user", object_id=user_id, summary=f"Changed role {old} → {role.value}")


@requires(Permission.VIEW)
def remove_member(store: Store, ctx: Context, user_id: UserId) -> None:
    """Removal takes effect at once: every later unit of work re-checks membership."""
    with store.session_scope(ctx) as s:
        if user_id != ctx.user_id:
            s.require(Permission.MANAGE_MEMBERS)
        target = _member(s, user_id)
        _guard_owner_change(s, target, None) if user_id != ctx.user_id else _guard_leave(s, target)
        s.execute(delete(WorkspaceMember).where(WorkspaceMember.id == target.id))
        action = "member.leave" if user_id == ctx.user_id else "member.remove"
        audit.record(s, action, object_type="user", object_id=user_id, summary="Left the workspace" if action == "member.leave" else "Removed a member")


def _guard_leave(s: TenantSession, target: WorkspaceMember) -> None:
    if target.role == Role.OWNER.value and _owners(s) <= 1:
        raise ValidationFailed("The last owner cannot leave or be demoted. Make someone else an owner first.")


@requires(Permission.VIEW)
def leave(store: Store, ctx: Context) -> None:
    if ctx.user_id is None:
        raise PermissionDenied("Only a member can leave a workspace.")
    remove_member(store, ctx, ctx.user_id)
