"""The studio's operators (OPERATOR_EMAILS): every workspace with plan and usage, plan overrides, queue health.

How an operator reads across workspaces, and why this way. Row-level security is forced on every
tenant table, for the schema owner too, so neither a SECURITY DEFINER function owned by the owner
nor `row_security = off` can see past it (only a superuser or a BYPASSRLS role could, and the
studio must never hold such a role). Migration 0003 adds instead a second, SELECT-only policy,
`operator_read`, on the few tables the admin pages read (workspaces, members, billing accounts,
usage, data set versions), true only in a transaction where `app.operator` is 'on'.
Only this module sets that, transaction-locally, and only after `require_operator` has read the
user's email fresh from the store and found it in OPERATOR_EMAILS; each use is logged in
`operator_actions`. The trade-off: the database trusts the app to set `app.operator` honestly,
exactly as it already trusts it to set `app.workspace_id` (RLS guards against a forgotten WHERE,
not against a compromised app). What the policy never allows: writes (an override goes through a
normal unit of work in the target workspace, audited there) and reads of any other table (data
sets' content, templates, variations, invitations, audit trails stay inside their workspace).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, text

from studio import audit, jobs, operators
from studio.billing import usage
from studio.billing.accounts import effective_plan, set_override
from studio.billing.plans import PLANS, Metric, get_plan
from studio.context import Context, Role, UserId, WorkspaceId
from studio.errors import NotFound, PermissionDenied, ValidationFailed
from studio.jobs import JobInfo, QueueInfo, WorkerInfo
from studio.permissions import operator_only, public, system_only
from studio.store.models import (
    BillingAccount,
    DatasetVersion,
    OperatorAction,
    UsageEvent,
    User,
    Workspace,
    WorkspaceMember,
)
from studio.store.session import Store, TenantSession


@public("the operator list from settings; reads no data")
def operator_emails(store: Store) -> frozenset[str]:
    raw = store.settings.extra.get("OPERATOR_EMAILS", "")
    return frozenset(e.strip().lower() for e in raw.split(",") if e.strip())


@public("answers only for the caller's own account")
def is_operator(store: Store, user_id: uuid.UUID | None) -> bool:
    if operators.granted(store, user_id, configured=bool(operator_emails(store))):
        return True
    if user_id is None or not operator_emails(store):
        return False
    with store.account_scope(user_id) as s:
        email = s.scalar(select(User.email).where(User.id == user_id))
    return email is not None and email.lower() in operator_emails(store)


@public("the operator check itself")
def require_operator(store: Store, user_id: uuid.UUID | None) -> str:
    """The operator's email, read fresh; PermissionDenied for anyone else."""
    if user_id is not None and operators.granted(store, user_id, configured=bool(operator_emails(store))):
        return operators.email_of(store, user_id)
    if user_id is not None and operator_emails(store):
        with store.account_scope(user_id) as s:
            email = s.scalar(select(User.email).where(User.id == user_id))
        if email and email.lower() in operator_emails(store):
            return email
    raise PermissionDenied("Only the studio's operators can open the admin pages.")


@contextmanager
def _across_workspaces(store: Store, user_id: uuid.UUID | None) -> Iterator[TenantSession]:
    """A read-only transaction that sees every workspace's operator-readable rows (see the module note)."""
    with store.account_scope(user_id) as s:
        if store.is_postgres:
            s.execute(text("select set_config('app.operator', 'on', true)"))
        yield s


def _log(s: TenantSession, email: str, user_id: uuid.UUID | None, action: str, target: str = "",
         reason: str = "", **detail: Any) -> None:
    s.add(OperatorAction(operator_id=user_id, operator_email=email, action=action, target=target[:200],
                         reason=reason, detail=detail))


@dataclass(frozen=True)
class WorkspaceRow:
    id: WorkspaceId
    name: str
    created_at: dt.datetime
    owners: tuple[str, ...]
    members: int
    plan: str
    status: str
    override_reason: str | None
    usage: dict[Metric, int] = field(default_factory=dict)
    limits: dict[Metric, int | None] = field(default_factory=dict)
    storage_bytes: int = 0


@operator_only
def list_workspaces(store: Store, user_id: uuid.UUID | None) -> list[WorkspaceRow]:
    """Every workspace with its plan, status, members and this month's usage (logged)."""
    email = require_operator(store, user_id)
    period = usage.period_of()
    with _across_workspaces(store, user_id) as s:
        spaces = s.execute(select(Workspace.id, Workspace.name, Workspace.created_at).order_by(Workspace.created_at)).all()
        members: dict[uuid.UUID, int] = dict(s.execute(select(WorkspaceMember.workspace_id, func.count())
                                                       .group_by(WorkspaceMember.workspace_id)).all())
        owners: dict[uuid.UUID, list[str]] = defaultdict(list)
        for ws, mail in s.execute(select(WorkspaceMember.workspace_id, User.email)
                                  .join(User, User.id == WorkspaceMember.user_id)
                                  .where(WorkspaceMember.role == Role.OWNER.value)):
            owners[ws].append(mail)
        accounts = {a.workspace_id: a for a in s.scalars(select(BillingAccount))}
        used: dict[uuid.UUID, dict[Metric, int]] = defaultdict(lambda: dict.fromkeys(Metric, 0))
        for ws, metric, amount in s.execute(select(UsageEvent.workspace_id, UsageEvent.metric, func.sum(UsageEvent.amount))
                                            .where(UsageEvent.period == period)
                                            .group_by(UsageEvent.workspace_id, UsageEvent.metric)):
            if metric in Metric._value2member_map_:
                used[ws][Metric(metric)] = int(amount or 0)
        storage = dict(s.execute(select(DatasetVersion.workspace_id, func.sum(DatasetVersion.size_bytes))
                                 .group_by(DatasetVersion.workspace_id)).all())
        _log(s, email, user_id, "admin.list_workspaces", workspaces=len(spaces))
        rows = []
        for ws_id, name, created in spaces:
            acc = accounts.get(ws_id)
            plan = effective_plan(store.settings, acc)
            rows.append(WorkspaceRow(
                WorkspaceId(ws_id), name, created, tuple(sorted(owners.get(ws_id, []))), int(members.get(ws_id, 0)),
                plan.name, (acc.subscription_status if acc and acc.subscription_status else "no subscription"),
                acc.override_reason if acc and acc.override_plan else None,
                dict(used[ws_id]), {m: plan.limit(m) for m in Metric}, int(storage.get(ws_id) or 0)))
        return rows


@operator_only
def override_plan(store: Store, user_id: uuid.UUID | None, workspace_id: WorkspaceId, plan_key: str | None,
                  reason: str) -> str:
    """Set (or clear, plan_key None) a workspace's plan by hand; the reason goes to its audit trail."""
    email = require_operator(store, user_id)
    clean = reason.strip()
    if not clean:
        raise ValidationFailed("Give a reason for the override (it is kept in the workspace's audit trail).")
    if plan_key is not None and plan_key not in PLANS:
        raise ValidationFailed(f"Unknown plan {plan_key!r}; choose one of {', '.join(PLANS)}.")
    ctx = Context(user_id=UserId(user_id) if user_id else None, workspace_id=workspace_id, system=True)
    with store.session_scope(ctx) as s:
        if s.get(Workspace, workspace_id) is None:
            raise NotFound("That workspace does not exist (any more).")
        before = effective_plan(store.settings, s.scalar(select(BillingAccount)))
        acc = set_override(s, plan_key, clean[:1000], user_id)
        after = effective_plan(store.settings, acc)
        what = f"set the plan to {get_plan(plan_key).name}" if plan_key else "removed the plan override"
        audit.record(s, "billing.override", object_type="workspace", object_id=workspace_id,
                     summary=f"Operator {email} {what} ({before.name} → {after.name}): {clean}",
                     detail={"plan": plan_key, "reason": clean, "operator": email})
    with store.account_scope(user_id) as s:
        _log(s, email, user_id, "admin.override_plan", target=f"workspace:{workspace_id}", reason=clean, plan=plan_key)
    return after.name


@operator_only
def recent_actions(store: Store, user_id: uuid.UUID | None, limit: int = 50) -> list[OperatorAction]:
    require_operator(store, user_id)
    with store.account_scope(user_id) as s:
        rows = list(s.scalars(select(OperatorAction).order_by(OperatorAction.at.desc()).limit(limit)))
        s.expunge_all()
        return rows


# Queue health -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class QueueHealth:
    available: bool
    message: str
    queues: tuple[QueueInfo, ...] = ()
    workers: tuple[WorkerInfo, ...] = ()
    failed: tuple[JobInfo, ...] = ()
    scheduled: tuple[JobInfo, ...] = ()


@operator_only
def queue_health(store: Store, user_id: uuid.UUID | None, *, limit: int = 50) -> QueueHealth:
    """RQ queues, workers, failed and scheduled jobs (embedded mode has none: jobs run in-process)."""
    require_operator(store, user_id)
    if not store.settings.redis_url:
        return QueueHealth(False, "Background jobs run in-process (embedded mode, no REDIS_URL): there are no queues.")
    ops = jobs.queue_admin(store.settings)
    return QueueHealth(True, "", ops.queues(), ops.workers(), ops.jobs("failed", limit), ops.jobs("scheduled", limit))


@operator_only
def retry_job(store: Store, user_id: uuid.UUID | None, queue_name: str, job_id: str) -> None:
    """Put a failed job back on its queue."""
    email = require_operator(store, user_id)
    if not _queues(store, queue_name).retry(queue_name, job_id):
        raise NotFound("That job is not in the failed list (any more).")
    with store.account_scope(user_id) as s:
        _log(s, email, user_id, "admin.retry_job", target=f"{queue_name}:{job_id}")


@operator_only
def delete_job(store: Store, user_id: uuid.UUID | None, queue_name: str, job_id: str) -> None:
    """Delete a failed or scheduled job for good."""
    email = require_operator(store, user_id)
    if not _queues(store, queue_name).delete(queue_name, job_id):
        raise NotFound("That job does not exist (any more).")
    with store.account_scope(user_id) as s:
        _log(s, email, user_id, "admin.delete_job", target=f"{queue_name}:{job_id}")


def _queues(store: Store, name: str) -> jobs.QueueAdmin:
    """The team mode's queues, once `name` is known to be one of them."""
    if not store.settings.redis_url:
        raise ValidationFailed("There are no queues in the embedded mode.")
    ops = jobs.queue_admin(store.settings)
    if name not in ops.names():
        raise NotFound(f"There is no queue called {name!r}.")
    return ops


@system_only("the periodic meter job")
def billed_workspaces(store: Store) -> list[WorkspaceId]:
    """Workspaces with a Stripe customer, for the periodic meter report (a system job, not a person)."""
    with _across_workspaces(store, None) as s:
        ids = s.scalars(select(BillingAccount.workspace_id).where(BillingAccount.stripe_customer_id.is_not(None)))
        return [WorkspaceId(i) for i in ids]


@system_only("the daily maintenance job")
def all_workspaces(store: Store) -> list[WorkspaceId]:
    """Every workspace, for periodic system jobs (audit retention); read-only, like the operator view."""
    with _across_workspaces(store, None) as s:
        return [WorkspaceId(i) for i in s.scalars(select(Workspace.id))]


@dataclass(frozen=True)
class FlaggedAccount:
    workspace_id: WorkspaceId
    workspace_name: str
    username: str
    reason: str


@operator_only
def reconnect_needed(store: Store, user_id: uuid.UUID | None) -> list[FlaggedAccount]:
    """Reddit accounts flagged "reconnect needed" in any workspace (operators only, logged)."""
    from studio.store.publishing_models import RedditAccount

    email = require_operator(store, user_id)
    with _across_workspaces(store, user_id) as s:
        names = dict(s.execute(select(Workspace.id, Workspace.name)).all())
        rows = s.execute(select(RedditAccount.workspace_id, RedditAccount.username, RedditAccount.status_reason)
                         .where(RedditAccount.status == "reconnect_needed").order_by(RedditAccount.username)).all()
        _log(s, email, user_id, "admin.reconnect_needed", accounts=len(rows))
    return [FlaggedAccount(WorkspaceId(ws), names.get(ws, "?"), u, r or "") for ws, u, r in rows]


if __name__ == "__main__":  # python -m studio.admin grant-operator EMAIL
    import sys

    sys.exit(operators.main(sys.argv[1:]))
