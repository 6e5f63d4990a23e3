"""Admin (the studio's operators only): every workspace, plan overrides, queue health."""

from __future__ import annotations

import polars as pl
import streamlit as st

from studio import admin
from studio.billing.plans import PLANS, Metric
from studio.ui import resources, state, widgets

ctx = state.page_context("Admin")
store = resources.store()
if not admin.is_operator(store, ctx.user_id):
    st.info("**Only the studio's operators can open the admin pages.**  \n"
            "Ask whoever runs this studio if you need something changed across workspaces.")
    st.stop()

spaces, queues, log = st.tabs(["Workspaces", "Queues", "Operator log"])

with spaces:
    rows = widgets.attempt(lambda: admin.list_workspaces(store, ctx.user_id)) or []
    st.caption(f"{len(rows):,} workspaces · usage of the current month")
    if rows:
        def used(r: admin.WorkspaceRow, m: Metric) -> str:
            limit = r.limits.get(m)
            return f"{r.usage.get(m, 0):,} / {'∞' if limit is None else f'{limit:,}'}"

        st.dataframe(pl.DataFrame({
            "Workspace": [r.name[:60] for r in rows], "Owners": [", ".join(r.owners) for r in rows],
            "Members": [r.members for r in rows], "Plan": [r.plan for r in rows], "Status": [r.status for r in rows],
            "Variations": [used(r, Metric.VARIATIONS) for r in rows],
            "Posts": [used(r, Metric.PUBLISHES) for r in rows],
            "API calls": [used(r, Metric.API_CALLS) for r in rows],
            "Storage": [widgets.fmt_bytes(r.storage_bytes) for r in rows],
            "Override": [r.override_reason or "" for r in rows],
        }), hide_index=True, width="stretch")
        st.subheader("Override a plan")
        with st.form("override", clear_on_submit=True):
            by_id = {str(r.id): r for r in rows}
            target = st.selectbox("Workspace", list(by_id), key="override_ws",
                                  format_func=lambda i: f"{by_id[i].name} ({', '.join(by_id[i].owners)})")
            choice = st.selectbox("Plan", [*PLANS, "remove the override"], key="override_plan",
                                  format_func=lambda k: PLANS[k].name if k in PLANS else k)
            reason = st.text_input("Reason (kept in the workspace's audit trail)", key="override_reason")
            if st.form_submit_button("Apply override", type="primary"):
                plan_key = choice if choice in PLANS else None
                name = widgets.attempt(lambda: admin.override_plan(store, ctx.user_id, by_id[target].id, plan_key, reason))
                if name:
                    st.success(f"{widgets.as_text(by_id[target].name)} is now on {widgets.as_text(name)}.")

with queues:
    health = widgets.attempt(lambda: admin.queue_health(store, ctx.user_id))
    if health is not None and not health.available:
        st.info(health.message)
    elif health is not None:
        st.dataframe(pl.DataFrame([{"Queue": q.name, "Waiting": q.queued, "Running": q.started, "Failed": q.failed,
                                    "Scheduled": q.scheduled, "Deferred": q.deferred} for q in health.queues]),
                     hide_index=True, width="stretch")
        st.markdown(f"**Workers**: {len(health.workers)}")
        if not health.workers:
            st.warning("No worker is running: queued jobs wait. Start one with `make worker`.")
        for w in health.workers:
            st.caption(f"{w.name} · {w.state} · {', '.join(w.queues)}" + (f" · running {w.current_job}" if w.current_job else ""))
        for title, jobs in (("Failed jobs", health.failed), ("Scheduled jobs", health.scheduled)):
            st.subheader(f"{title} ({len(jobs)})")
            for job in jobs:
                info, retry, remove = st.columns([6, 1, 1])
                when = widgets.fmt_when(job.when) if job.when else ""
                info.markdown(f"{widgets.as_code(job.id[:12])} **{widgets.as_text(job.function)}** · {job.queue} · {when}")
                if job.error:
                    info.caption(widgets.as_text(job.error))
                if job.status == "failed" and retry.button("Retry", key=f"retry_{job.id}"):
                    with widgets.user_errors():
                        admin.retry_job(store, ctx.user_id, job.queue, job.id)
                        st.rerun()
                if remove.button("Delete", key=f"delete_{job.status}_{job.id}"):
                    with widgets.user_errors():
                        admin.delete_job(store, ctx.user_id, job.queue, job.id)
                        st.rerun()
    st.subheader("Reddit accounts that need reconnecting")
    flagged = widgets.attempt(lambda: admin.reconnect_needed(store, ctx.user_id)) or []
    if not flagged:
        st.caption("No account is flagged “reconnect needed”.")
    else:
        st.dataframe(pl.DataFrame({
            "Workspace": [f.workspace_name for f in flagged], "Account": [f"u/{f.username}" for f in flagged],
            "Why": [f.reason for f in flagged],
        }), hide_index=True, width="stretch")

with log:
    actions = widgets.attempt(lambda: admin.recent_actions(store, ctx.user_id)) or []
    if not actions:
        widgets.empty_state("Nothing logged yet", "Operator views and changes are listed here.")
    else:
        st.dataframe(pl.DataFrame({
            "When (UTC)": [widgets.fmt_when(a.at) for a in actions], "Operator": [a.operator_email for a in actions],
            "Action": [a.action for a in actions], "Target": [a.target for a in actions],
            "Reason": [a.reason for a in actions],
        }), hide_index=True, width="stretch")
