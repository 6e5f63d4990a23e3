"""Periodic system jobs: the audit trail's retention by plan (90 days Starter, 1 year Pro, forever Enterprise)."""

from __future__ import annotations

from studio import admin, audit
from studio.billing.accounts import current_plan
from studio.context import Context
from workers.generation import job_store


def apply_audit_retention() -> dict[str, int]:
    """Delete audit events older than each workspace's plan keeps; returns deleted rows per workspace."""
    store = job_store()
    deleted: dict[str, int] = {}
    for ws in admin.all_workspaces(store):
        ctx = Context.job(ws)
        with store.session_scope(ctx) as s:
            days = current_plan(s, store.settings).audit_days
        n = audit.apply_retention(store, ctx, days)
        if n:
            deleted[str(ws)] = n
    return deleted


def main() -> None:
    """`python -m workers.maintenance` (daily, from cron or a scheduler): apply retention once."""
    deleted = apply_audit_retention()
    print(f"audit retention: deleted {sum(deleted.values()):,} event(s) in {len(deleted)} workspace(s)")


if __name__ == "__main__":
    main()
