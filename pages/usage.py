"""Usage: this month's variations, posts and calls against the plan's limits (owners and admins)."""

from __future__ import annotations

import streamlit as st

from studio.billing import subscriptions
from studio.ui import billing as ui
from studio.ui import resources, state, widgets

ctx = state.page_context("Usage")
store = resources.store()
view = ui.load_overview(lambda: subscriptions.overview(store, ctx))

st.caption(f"{view.period} (UTC) · {view.plan.name} plan" + ("" if view.enabled else " · billing is off, no limits"))
for line in view.usage:
    ui.usage_meter(line)

c1, c2 = st.columns(2)
c1.metric("Members", f"{view.members} of {ui.limit_text(view.plan.members)}")
c2.metric("Data stored", widgets.fmt_bytes(view.storage_bytes))

st.subheader("This month, day by day")
daily = widgets.attempt(lambda: subscriptions.daily_usage(store, ctx)) or []
ui.usage_chart(daily, view.usage, view.period)
