"""Audit trail: filter by date, person, action and object; export CSV."""

from __future__ import annotations

import datetime as dt

import polars as pl
import streamlit as st

from studio import audit, workspaces
from studio.ui import resources, state, widgets

ctx = state.page_context("Audit trail")
store = resources.store()
members = widgets.attempt(lambda: workspaces.list_members(store, ctx)) or []

today = dt.date.today()
c1, c2, c3, c4 = st.columns(4)
dates = c1.date_input("Dates", value=(today - dt.timedelta(days=30), today), key="audit_dates")
people = {"Everyone": None} | {f"{m.name} ({m.email})": m.user_id for m in members}
who = c2.selectbox("Person", list(people), key="audit_who")
action = c3.selectbox("Action", ["All", "auth.", "workspace.", "member.", "invitation.", "dataset."], key="audit_action")
obj = c4.selectbox("Object", ["All", "workspace", "user", "invitation", "dataset"], key="audit_object")
start, end = (dates[0], dates[-1]) if isinstance(dates, tuple) and dates else (None, None)

flt = audit.AuditFilter(start=start, end=end, actor_id=people[who],
                        action_prefix=None if action == "All" else action, object_type=None if obj == "All" else obj)
rows = widgets.attempt(lambda: audit.search(store, ctx, flt))
if rows is None:
    st.stop()
if not rows:
    widgets.empty_state("No events match", "Widen the date range or clear a filter.")
    st.stop()
st.caption(f"{len(rows):,} events, newest first" + (" (showing the latest 500)" if len(rows) == flt.limit else ""))
st.dataframe(pl.DataFrame({
    "When (UTC)": [widgets.fmt_when(r.at) for r in rows],
    "Who": [r.actor for r in rows],
    "Action": [r.action for r in rows],
    "What": [r.summary for r in rows],
    "Object": [f"{r.object_type or ''} {r.object_id or ''}".strip() for r in rows],
    "From": [r.client_address or "" for r in rows],
}), hide_index=True, width="stretch")
st.download_button("Export CSV", audit.to_csv(rows), file_name="audit.csv", mime="text/csv")
