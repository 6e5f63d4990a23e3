"""Plan limits, checked in the services before the work starts: refuse with the numbers, or allow up to them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from studio.billing import usage
from studio.billing.accounts import current_plan, ensure_account
from studio.billing.plans import METRIC_WORDS, Metric, Plan
from studio.context import Context, Permission
from studio.errors import StudioError
from studio.permissions import requires
from studio.settings import Settings
from studio.store.models import WorkspaceMember
from studio.store.session import Store, TenantSession


@dataclass(frozen=True)
class Allowance:
    """How much of a request may go ahead this month."""

    metric: Metric
    requested: int
    allowed: int
    used: int
    limit: int | None  # None: unlimited
    plan: Plan
    period: str

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.used)

    @property
    def partial(self) -> bool:
        return self.allowed < self.requested


class LimitExceeded(StudioError):
    """The plan's monthly allowance does not cover the request; the message carries the numbers."""

    def __init__(self, allowance: Allowance) -> None:
        self.allowance = allowance
        super().__init__(limit_message(allowance))


def limit_message(a: Allowance) -> str:
    would, noun = METRIC_WORDS[a.metric]
    head = (f"{would} {a.requested:,} {noun}; your {a.plan.name} plan has {a.limit or 0:,} a month "
            f"and {a.used:,} are used.")
    if a.remaining:
        verb = "Generate" if a.metric is Metric.VARIATIONS else "Go ahead with"
        return f"{head} {verb} up to the allowance ({a.remaining:,}) or upgrade."
    end = usage.period_end(a.period)
    renews = f"{end.day} {end:%B}"
    return f"{head} Upgrade for more, or wait until the allowance renews on {renews}."


def allowance_in(s: TenantSession, settings: Settings, metric: Metric, amount: int, *,
                 up_to_allowance: bool = False, lock: bool = False) -> Allowance:
    """Check inside an open unit of work; with lock=True, concurrent check-then-record pairs of one
    workspace run one after the other (record the usage in the same transaction)."""
    if amount < 0:
        raise ValueError("A request cannot be negative.")
    if lock:
        ensure_account(s)  # the account row's lock serialises the workspace's allowance checks
    plan = current_plan(s, settings)
    period = usage.period_of()
    limit = plan.limit(metric)
    if limit is None:
        return Allowance(metric, amount, amount, usage.used(s, metric, period), None, plan, period)
    spent = usage.used(s, metric, period)
    allowance = Allowance(metric, amount, min(amount, max(0, limit - spent)), spent, limit, plan, period)
    if allowance.partial and (not up_to_allowance or allowance.allowed == 0):
        raise LimitExceeded(allowance)
    return allowance


@requires(Permission.VIEW)
def check_allowance(store: Store, ctx: Context, metric: Metric, amount: int, *,
                    up_to_allowance: bool = False) -> Allowance:
    """Whether `amount` of `metric` fits this month; raises LimitExceeded unless up_to_allowance (then trims)."""
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        return allowance_in(s, store.settings, metric, amount, up_to_allowance=up_to_allowance)


class MemberLimitReached(StudioError):
    pass


def check_members(s: TenantSession, settings: Settings, adding: int = 1) -> None:
    """Refuse a new member beyond the plan's seats (call it where invitations are accepted)."""
    plan = current_plan(s, settings)
    if plan.members is None:
        return
    count = s.scalar(select(func.count()).select_from(WorkspaceMember)
                     .where(WorkspaceMember.workspace_id == s.workspace_id)) or 0
    if count + adding > plan.members:
        raise MemberLimitReached(
            f"Your {plan.name} plan includes {plan.members} member{'s' if plan.members != 1 else ''} and the "
            f"workspace has {count}. Upgrade the plan on Billing to add more people.")

