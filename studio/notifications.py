"""Notifications (issue 19 item 5): who hears of which event, the dispatcher's fan-out, and each member's inbox.

Who gets what, unless a member chose otherwise on their preferences (per event kind, in-app and e-mail):

    kind                       default audience                          in-app  e-mail
    generation.completed       the member who started it, admins/owners   on      off
    generation.failed          the member who started it, admins/owners   on      on
    post.published             editors (members, admins, owners)          off     off
    post.failed / removed      editors and the member it is about         on      off
    dataset.refreshed          editors                                    off     off
    feed.refresh_failed        editors                                    on      off
    feed.paused / diff.ready   editors                                    on      on
    account.reconnect_needed   admins/owners and the member it is about   on      on

A preference a member saves overrides the default either way (a viewer may opt in). E-mail goes out only
when SMTP_URL is set. `dispatch` turns each new event into these notifications and into delivery rows
(e-mail, Slack, outgoing webhooks) in one transaction that also marks the event dispatched, so an event
fans out exactly once however many dispatchers run; the deliveries are then sent by `studio.webhooks`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, exists, func, insert, select, update

from studio import mail
from studio.context import Context, Permission, Role, WorkspaceId
from studio.errors import ValidationFailed
from studio.events import KINDS
from studio.permissions import requires, system_only
from studio.store import rerun
from studio.store.base import aware, utcnow
from studio.store.event_models import Delivery, Event, Notification, NotificationPreference, WebhookEndpoint
from studio.store.models import User, WorkspaceMember
from studio.store.session import Store, TenantSession

ADMINS = frozenset({Role.OWNER, Role.ADMIN})
EDITORS = frozenset({Role.OWNER, Role.ADMIN, Role.MEMBER})
PAGE_SIZE = 50


@dataclass(frozen=True)
class Audience:
    roles: frozenset[Role]
    actor: bool  # the member the event is about (who started the run) hears of it too
    in_app: bool
    email: bool


AUDIENCE: dict[str, Audience] = {
    "generation.completed": Audience(ADMINS, True, True, False),
    "generation.failed": Audience(ADMINS, True, True, True),
    "post.published": Audience(EDITORS, True, False, False),
    "post.failed": Audience(EDITORS, True, True, False),
    "post.removed": Audience(EDITORS, True, True, False),
    "dataset.refreshed": Audience(EDITORS, True, False, False),
    "feed.refresh_failed": Audience(EDITORS, True, True, False),
    "feed.paused": Audience(EDITORS, True, True, True),
    "diff.ready": Audience(EDITORS, True, True, True),
    "account.reconnect_needed": Audience(ADMINS, True, True, True),
}
# the page of the studio an event's notification links to (url_path of app.py's pages)
LINKS = {"generation": "campaigns", "post": "publish", "dataset": "data", "feed": "data", "diff": "campaigns",
         "account": "accounts"}


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    link: str


def _name(data: dict[str, Any]) -> str:
    for key in ("set_name", "name", "title", "dataset", "dataset_name", "username"):
        if data.get(key):
            text = str(data[key])
            return text if len(text) <= 120 else text[:119] + "…"
    return ""


def render(kind: str, data: dict[str, Any]) -> Message:
    """The title, line and link people see for an event (in-app, e-mail, Slack)."""
    name = _name(data)
    message = str(data.get("message") or data.get("reason") or data.get("error") or "")
    titles = {
        "generation.completed": f"Run finished: {name}",
        "generation.failed": f"Run failed: {name}",
        "post.published": f"Posted: {name}",
        "post.failed": f"Post failed: {name}",
        "post.removed": f"Post removed: {name}",
        "dataset.refreshed": f"New data: {name}",
        "feed.refresh_failed": f"Feed refresh failed: {name}",
        "feed.paused": f"Feed paused: {name}",
        "diff.ready": f"Changes to review: {name}",
        "account.reconnect_needed": f"Reconnect account: {name}",
        "webhook.test": "A test from Dotoro Studio",
    }
    title = titles.get(kind, KINDS[kind].label if kind in KINDS else kind).rstrip(": ")
    facts = []
    if "variations" in data:
        facts.append(f"{int(data['variations']):,} variations")
    for key in ("added", "removed", "changed", "rows"):
        if isinstance(data.get(key), int) and (data[key] or key == "rows"):
            facts.append(f"{data[key]:,} {key}")
    if data.get("version"):
        facts.append(f"version {data['version']}")
    if data.get("url"):
        facts.append(str(data["url"]))
    body = " · ".join([*([message] if message else []), *facts])
    return Message(title[:300], body[:2000], LINKS.get(kind.split(".")[0], "home"))


def wanted(kind: str, role: Role | None, is_actor: bool, pref: NotificationPreference | None) -> tuple[bool, bool]:
    """(in-app, e-mail) for one member: their saved choice, else the kind's default for their role."""
    if pref is not None:
        return pref.in_app, pref.email
    spec = AUDIENCE.get(kind)
    if spec is None or not ((role is not None and role in spec.roles) or (spec.actor and is_actor)):
        return False, False
    return spec.in_app, spec.email


@dataclass
class Dispatched:
    events: int = 0
    notifications: int = 0
    deliveries: list[uuid.UUID] = field(default_factory=list)


@system_only("the dispatcher job (workers.dispatch): a workspace's new events fan out")
def dispatch(store: Store, workspace_id: WorkspaceId, *, limit: int = 200) -> Dispatched:
    """Fan out up to `limit` undispatched events of the workspace, each exactly once (see the module note)."""
    out = Dispatched()
    with store.session_scope(Context.job(workspace_id)) as s:
        q = select(Event).where(Event.dispatched_at.is_(None)).order_by(Event.created_at).limit(limit)
        if store.is_postgres:
            q = q.with_for_update(skip_locked=True)  # a second dispatcher takes other events, or none
        pending = s.scalars(q).all()
        if not pending:
            return out
        members = {uid: Role(role) for uid, role in s.execute(select(WorkspaceMember.user_id, WorkspaceMember.role))}
        prefs = {(p.user_id, p.kind): p for p in s.scalars(select(NotificationPreference))}
        endpoints = s.scalars(select(WebhookEndpoint).where(WebhookEndpoint.enabled.is_(True))).all()
        mail_on = mail.configured(store.settings)
        now = utcnow()
        # one UPDATE claims the batch; RETURNING says which this dispatcher won (SQLite has no SKIP LOCKED)
        won = set(s.scalars(update(Event).where(Event.id.in_([e.id for e in pending]), Event.dispatched_at.is_(None))
                            .values(dispatched_at=now).returning(Event.id)
                            .execution_options(synchronize_session=False)))
        notes: list[dict[str, Any]] = []
        sends: list[dict[str, Any]] = []
        for event in pending:
            if event.id not in won:
                continue  # another dispatcher fanned it out
            out.events += 1
            message = render(event.kind, event.data)
            for user_id, role in members.items():
                in_app, email = wanted(event.kind, role, user_id == event.user_id, prefs.get((user_id, event.kind)))
                if in_app:
                    notes.append({"id": uuid.uuid4(), "workspace_id": workspace_id, "event_id": event.id,
                                  "user_id": user_id, "kind": event.kind, "title": message.title,
                                  "body": message.body, "link": message.link, "created_at": event.created_at})
                if email and mail_on:
                    sends.append(_delivery(workspace_id, event, "email", str(user_id), None, now))
            for endpoint in endpoints:
                if event.kind in (endpoint.kinds or []):
                    channel = "slack" if endpoint.format == "slack" else "webhook"
                    sends.append(_delivery(workspace_id, event, channel, str(endpoint.id), endpoint.id, now))
        if notes:
            s.execute(insert(Notification), notes)
        if sends:
            s.execute(insert(Delivery), sends)
        out.notifications = len(notes)
        out.deliveries = [row["id"] for row in sends]
    return out


def _delivery(workspace_id: WorkspaceId, event: Event, channel: str, target: str, endpoint_id: uuid.UUID | None,
              now: dt.datetime) -> dict[str, Any]:
    return {"id": uuid.uuid4(), "workspace_id": workspace_id, "event_id": event.id, "channel": channel,
            "target": target, "endpoint_id": endpoint_id, "state": "pending", "attempts": 0, "next_attempt_at": now,
            "created_at": now, "last_error": ""}


# ---- the member's inbox -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NotificationView:
    id: uuid.UUID
    kind: str
    title: str
    body: str
    link: str
    created_at: dt.datetime
    read: bool


@requires(Permission.VIEW)
def inbox(store: Store, ctx: Context, *, unread_only: bool = False, limit: int = PAGE_SIZE,
          before: dt.datetime | None = None) -> list[NotificationView]:
    """The acting member's notifications, newest first (`before`: the next page)."""
    with store.session_scope(ctx) as s:
        q = select(Notification).where(Notification.user_id == ctx.user_id)
        if unread_only:
            q = q.where(Notification.read_at.is_(None))
        if before is not None:
            q = q.where(Notification.created_at < before)
        rows = s.scalars(q.order_by(Notification.created_at.desc(), Notification.id).limit(min(limit, 500))).all()
        return [NotificationView(n.id, n.kind, n.title, n.body, n.link, aware(n.created_at), n.read_at is not None)
                for n in rows]


@requires(Permission.VIEW)
@rerun.per_rerun
def unread_count(store: Store, ctx: Context) -> int:
    """How many of the member's notifications are unread (one indexed count; remembered for the rerun)."""
    with store.session_scope(ctx) as s:
        return int(s.scalar(select(func.count()).select_from(Notification)
                            .where(Notification.user_id == ctx.user_id, Notification.read_at.is_(None))) or 0)


@requires(Permission.VIEW)
def mark_read(store: Store, ctx: Context, ids: list[uuid.UUID]) -> int:
    """Mark some of the member's own notifications read; others' ids change nothing."""
    if not ids:
        return 0
    with store.session_scope(ctx) as s:
        result = s.execute(update(Notification).where(Notification.user_id == ctx.user_id, Notification.id.in_(ids),
                                                      Notification.read_at.is_(None))
                           .values(read_at=utcnow()).execution_options(synchronize_session=False))
        return int(result.rowcount)  # type: ignore[attr-defined]


@requires(Permission.VIEW)
def mark_all_read(store: Store, ctx: Context) -> int:
    with store.session_scope(ctx) as s:
        result = s.execute(update(Notification).where(Notification.user_id == ctx.user_id,
                                                      Notification.read_at.is_(None))
                           .values(read_at=utcnow()).execution_options(synchronize_session=False))
        return int(result.rowcount)  # type: ignore[attr-defined]


# ---- preferences ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preference:
    kind: str
    label: str
    in_app: bool
    email: bool
    default: bool  # no saved choice: the role's default applies


@requires(Permission.VIEW)
def preferences(store: Store, ctx: Context) -> list[Preference]:
    """Every event kind with what the member gets of others' events (saved choice or their role's default);
    without a saved choice, events about the member's own work (a run they started) reach them as well."""
    with store.session_scope(ctx) as s:
        saved = {p.kind: p for p in s.scalars(select(NotificationPreference)
                                              .where(NotificationPreference.user_id == ctx.user_id))}
        role = s.role
    out = []
    for kind, spec in KINDS.items():
        in_app, email = wanted(kind, role, False, saved.get(kind))
        out.append(Preference(kind, spec.label, in_app, email, kind not in saved))
    return out


@requires(Permission.VIEW)
def set_preference(store: Store, ctx: Context, kind: str, *, in_app: bool, email: bool) -> None:
    """Save the member's choice for one kind (in this workspace)."""
    if kind not in KINDS:
        raise ValidationFailed(f"There is no event kind {kind!r}; choose one of {', '.join(KINDS)}.")
    with store.session_scope(ctx) as s:
        pref = s.scalar(select(NotificationPreference).where(NotificationPreference.user_id == ctx.user_id,
                                                             NotificationPreference.kind == kind))
        if pref is None:
            s.add(NotificationPreference(user_id=ctx.user_id, kind=kind, in_app=in_app, email=email))
        else:
            pref.in_app, pref.email = in_app, email


@requires(Permission.VIEW)
def reset_preferences(store: Store, ctx: Context) -> None:
    """Back to the role's defaults for every kind."""
    with store.session_scope(ctx) as s:
        for pref in s.scalars(select(NotificationPreference).where(NotificationPreference.user_id == ctx.user_id)):
            s.delete(pref)


def email_of(s: TenantSession, user_id: uuid.UUID) -> str | None:
    """A member's address (None when they left the workspace)."""
    return s.scalar(select(User.email).join(WorkspaceMember, WorkspaceMember.user_id == User.id)
                    .where(User.id == user_id))


KEEP_DAYS = 90


@system_only("the daily events-retention job (workers.periodic)")
def prune(store: Store, workspace_id: WorkspaceId, *, keep_days: int = KEEP_DAYS, now: dt.datetime | None = None
          ) -> int:
    """Events older than `keep_days` go, with their notifications and delivery logs, unless a delivery of
    theirs is still being tried; how many events."""
    cutoff = (now or utcnow()) - dt.timedelta(days=keep_days)
    with store.session_scope(Context.job(workspace_id)) as s:
        busy = exists().where(Delivery.event_id == Event.id, Delivery.state.in_(("pending", "delivering")))
        result = s.execute(delete(Event).where(Event.created_at < cutoff, Event.dispatched_at.is_not(None), ~busy)
                           .execution_options(synchronize_session=False))
        return int(result.rowcount)  # type: ignore[attr-defined]
