"""Invitations: by email with a role, a single-use token link that expires in 7 days."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import select, update

from studio import audit, mail
from studio.auth import Account, refuse_control_characters
from studio.context import Context, Permission, Role, WorkspaceId
from studio.errors import NotFound, PermissionDenied, ValidationFailed
from studio.permissions import public, requires
from studio.settings import Settings
from studio.store.base import aware, utcnow
from studio.store.models import Invitation, User, Workspace, WorkspaceMember
from studio.store.session import Store, TenantSession

VALID_DAYS = 7
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InvitationLink:
    invitation_id: uuid.UUID
    url: str
    emailed: bool
    problem: str = ""  # why the e-mail did not go out although SMTP_URL is set


@dataclass(frozen=True)
class InvitationInfo:
    id: uuid.UUID
    email: str
    role: Role
    status: str
    expires_at: dt.datetime
    sent_count: int


@dataclass(frozen=True)
class InvitationPreview:
    workspace_id: WorkspaceId
    workspace_name: str
    email: str
    role: Role
    status: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token(ws: uuid.UUID) -> str:
    return f"{ws.hex}.{secrets.token_urlsafe(32)}"


def _link(settings: Settings, token: str) -> str:
    return f"{settings.public_url.rstrip('/')}/?invite={token}"


def _send(settings: Settings, to: str, workspace: str, url: str) -> tuple[bool, str]:
    """Email the link when SMTP_URL is set; otherwise (or when the server refuses) the inviter copies it."""
    if not mail.configured(settings):
        return False, ""
    try:
        mail.send(settings, to, f"You are invited to {workspace} on Dotoro Studio",
                  f"Join {workspace} on Dotoro Studio: {url}\n\nThe link works once and expires in {VALID_DAYS} days.")
    except mail.MailFailed as exc:
        log.warning("invitation mail not sent: %s", exc, extra={"event": "mail.failed"})
        return False, f"The invitation e-mail could not be sent ({exc}): copy this link to the invitee."
    return True, ""


def _one_at_a_time(s: TenantSession) -> None:
    """Invitations of one workspace are written one after another, so two clicks cannot both pass the
    'already invited' check: a no-op write of the workspace row takes its lock on Postgres and the write
    lock on SQLite (whose driver begins the transaction only at the first write)."""
    s.execute(update(Workspace).where(Workspace.id == s.workspace_id).values(name=Workspace.name))


@requires(Permission.MANAGE_MEMBERS)
def invite(store: Store, ctx: Context, email: str, role: Role) -> InvitationLink:
    refuse_control_characters(email, "email address to invite")
    email = email.strip().lower()
    if "@" not in email or "." not in email.split("@")[-1] or len(email) > 254:
        raise ValidationFailed("Enter a valid email address to invite.")
    token = _new_token(ctx.workspace_id) if ctx.workspace_id else ""
    with store.session_scope(ctx) as s:
        s.require(Permission.MANAGE_MEMBERS)
        if role == Role.OWNER and s.role != Role.OWNER:
            raise PermissionDenied("Only an owner can invite another owner.")
        _one_at_a_time(s)
        already = s.scalar(select(WorkspaceMember.id).join(User, User.id == WorkspaceMember.user_id)
                           .where(WorkspaceMember.workspace_id == s.workspace_id, User.email == email))
        if already:
            raise ValidationFailed(f"{email} is already a member of this workspace.")
        pending = s.scalar(select(Invitation.id).where(Invitation.email == email, Invitation.status == "pending",
                                                       Invitation.expires_at > utcnow()))
        if pending:
            raise ValidationFailed(f"{email} already has a pending invitation; resend it instead.")
        inv = Invitation(email=email, role=role.value, token_hash=_hash(token), invited_by=ctx.user_id,
                         expires_at=utcnow() + dt.timedelta(days=VALID_DAYS), status="pending", sent_count=1)
        s.add(inv)
        ws_name = s.get(Workspace, s.workspace_id).name  # type: ignore[union-attr]
        audit.record(s, "invitation.create", object_type="invitation", object_id=inv.id, summary=f"Invited {email} as {role.value}")
    url = _link(store.settings, token)
    return InvitationLink(inv.id, url, *_send(store.settings, email, ws_name, url))


@requires(Permission.MANAGE_MEMBERS)
def resend(store: Store, ctx: Context, invitation_id: uuid.UUID) -> InvitationLink:
    """A fresh link (the old one stops working) and seven more days."""
    token = _new_token(ctx.workspace_id) if ctx.workspace_id else ""
    with store.session_scope(ctx) as s:
        s.require(Permission.MANAGE_MEMBERS)
        inv = _get(s, invitation_id)
        if inv.status != "pending":
            raise ValidationFailed(f"This invitation was {inv.status}; send a new one instead.")
        inv.token_hash, inv.expires_at = _hash(token), utcnow() + dt.timedelta(days=VALID_DAYS)
        inv.sent_count += 1
        ws_name = s.get(Workspace, s.workspace_id).name  # type: ignore[union-attr]
        audit.record(s, "invitation.resend", object_type="invitation", object_id=inv.id, summary=f"Resent the invitation to {inv.email}")
        email = inv.email
    url = _link(store.settings, token)
    return InvitationLink(invitation_id, url, *_send(store.settings, email, ws_name, url))


@requires(Permission.MANAGE_MEMBERS)
def revoke(store: Store, ctx: Context, invitation_id: uuid.UUID) -> None:
    with store.session_scope(ctx) as s:
        s.require(Permission.MANAGE_MEMBERS)
        inv = _get(s, invitation_id)
        if inv.status == "pending":
            inv.status, inv.responded_at = "revoked", utcnow()
            audit.record(s, "invitation.revoke", object_type="invitation", object_id=inv.id, summary=f"Revoked the invitation to {inv.email}")


@requires(Permission.MANAGE_MEMBERS)
def list_invitations(store: Store, ctx: Context) -> list[InvitationInfo]:
    with store.session_scope(ctx) as s:
        s.require(Permission.MANAGE_MEMBERS)
        rows = s.scalars(select(Invitation).order_by(Invitation.created_at.desc())).all()
        now = utcnow()
        return [InvitationInfo(i.id, i.email, Role(i.role),
                               "expired" if i.status == "pending" and aware(i.expires_at) <= now else i.status,
                               i.expires_at, i.sent_count) for i in rows]


def _get(s: TenantSession, invitation_id: uuid.UUID) -> Invitation:
    inv = s.scalar(select(Invitation).where(Invitation.id == invitation_id).with_for_update())
    if inv is None:
        raise NotFound("This invitation does not exist in this workspace.")
    return inv


def _workspace_of(token: str) -> WorkspaceId:
    try:
        return WorkspaceId(uuid.UUID(hex=token.split(".", 1)[0]))
    except ValueError as exc:
        raise NotFound("This invitation link is not valid. Ask for a new one.") from exc


def _by_token(s: TenantSession, token: str) -> Invitation:
    inv = s.scalar(select(Invitation).where(Invitation.token_hash == _hash(token)).with_for_update())
    if inv is None:
        raise NotFound("This invitation link is not valid (any more). Ask for a new one.")
    return inv


@public("the invitation link's secret token is the proof")
def preview(store: Store, token: str) -> InvitationPreview:
    ws = _workspace_of(token)
    with store.session_scope(Context.job(ws)) as s:
        inv = _by_token(s, token)
        name = s.get(Workspace, ws).name  # type: ignore[union-attr]
        status = "expired" if inv.status == "pending" and aware(inv.expires_at) <= utcnow() else inv.status
        return InvitationPreview(ws, name, inv.email, Role(inv.role), status)


def _respond(store: Store, token: str, account: Account, accept: bool) -> WorkspaceId:
    ws = _workspace_of(token)
    with store.session_scope(Context(user_id=account.id, workspace_id=ws, system=True)) as s:
        inv = _by_token(s, token)
        if inv.status != "pending":
            raise ValidationFailed(f"This invitation was already {inv.status}.")
        if aware(inv.expires_at) <= utcnow():
            raise ValidationFailed("This invitation has expired. Ask for a new one.")
        if inv.email != account.email.lower():
            raise PermissionDenied(f"This invitation is for {inv.email}; you are signed in as {account.email}.")
        inv.status, inv.responded_at = ("accepted" if accept else "declined"), utcnow()
        if accept:
            exists = s.scalar(select(WorkspaceMember.id).where(WorkspaceMember.user_id == account.id))
            if not exists:
                from studio.billing import check_members

                check_members(s, store.settings)
                s.add(WorkspaceMember(user_id=account.id, role=inv.role))
        audit.record(s, f"invitation.{inv.status}", object_type="invitation", object_id=inv.id,
                     summary=f"{account.email} {inv.status} the invitation ({inv.role})")
    return ws


@public("the invitation link's secret token is the proof")
def accept(store: Store, token: str, account: Account) -> WorkspaceId:
    return _respond(store, token, account, True)


@public("the invitation link's secret token is the proof")
def decline(store: Store, token: str, account: Account) -> WorkspaceId:
    return _respond(store, token, account, False)
