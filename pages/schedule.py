"""Publish: plan a set (preview on a calendar, then commit), follow the queue in every state, read engagement."""

from __future__ import annotations

import dataclasses
import datetime as dt

import streamlit as st

from studio import campaigns
from studio.publishing import accounts, metrics, queue, schedule
from studio.ui import publishing as ui
from studio.ui import reddit_ads as ui_ads
from studio.ui import resources, state, widgets

ctx = state.page_context("Publish")
store = resources.store()
sets = [s for s in (widgets.attempt(lambda: campaigns.list_sets(store, ctx)) or []) if s.platform == "reddit"]
accs = widgets.attempt(lambda: accounts.list_accounts(store, ctx)) or []
usable = [a for a in accs if a.usable]
tab_plan, tab_queue, tab_eng = st.tabs(["Plan", "Calendar & queue", "Engagement"])

with tab_plan:
    if not sets:
        widgets.empty_state("No Reddit campaign set yet", "Generate one, approve its variations, then plan it here.")
        widgets.page_link("pages/preview.py", label="Open the Preview", icon=":material/visibility:")
    elif not usable:
        widgets.empty_state("No usable Reddit account", "Connect or reconnect an account on the Reddit accounts page.")
        widgets.page_link("pages/accounts.py", label="Open Reddit accounts", icon=":material/manage_accounts:")
    else:
        pick = st.selectbox("Campaign set", range(len(sets)), key="pp_set",
                            format_func=lambda i: f"{sets[i].name} · {sets[i].format} · {sets[i].variation_count:,}")
        cs = sets[pick]
        saved = schedule.load_options(store, ctx, cs.id)
        opts = ui.options_form(saved, usable, schedule.columns(store, ctx, cs.id), key=f"pp_{cs.id}", fmt=cs.format)
        signature = (str(cs.id), repr(dataclasses.asdict(opts)))
        if st.button("Preview the plan", key="pp_preview"):
            plan = widgets.attempt(lambda: schedule.preview(store, ctx, cs.id, opts))
            st.session_state["pp_plan"] = (signature, plan)
        shown = st.session_state.get("pp_plan")
        if shown and shown[0] == signature and shown[1] is not None:
            plan = shown[1]
            st.markdown(f"**{len(plan.items):,}** {'item' if len(plan.items) == 1 else 'items'} planned · "
                        f"**{len(plan.refused):,}** refused")
            if plan.items:
                first = min(p.at for p in plan.items)
                view = st.radio("View", ["Week", "Month"], horizontal=True, key="pp_view")
                ui.calendar(plan.items, opts.timezone, view, ui.local(first, opts.timezone).date())
                ui.plan_table(plan.items, opts.timezone)
            if plan.refused:
                st.dataframe([{"Title": ui.short(t), "Subreddit": f"r/{s}" if s else "", "Why not": r}
                              for t, s, r in plan.refused], hide_index=True, width="stretch")
            if plan.items and st.button(f"Schedule {widgets.plural(len(plan.items), 'item')}", type="primary", key="pp_commit"):
                with widgets.user_errors():
                    done = schedule.commit(store, ctx, cs.id, opts)
                    st.session_state.pop("pp_plan", None)
                    st.success(f"Scheduled {widgets.plural(len(done.items), 'item')}. Follow them under 'Calendar & queue'.")

with tab_queue:
    if not store.settings.redis_url:
        ran = queue.run_due(store, ctx)  # embedded mode: no worker pool; the server's loop sends the rest
        every = "every 30 seconds while the studio runs" if store.settings.background_jobs else "while this page is open"
        st.caption(f"Embedded mode: due posts are sent {every}." + (f" Sent {ran} now." if ran else ""))
    elif not schedule.keep_running(store, ctx):
        st.warning("The job queue (Redis) cannot be reached: scheduled posts wait until it is back; nothing is lost.")
    tz = st.selectbox("Show times in", ui.ZONES, index=ui.ZONES.index("Europe/London"), key="pq_tz")
    a, b, c = st.columns([1, 1, 2])
    view = a.radio("View", ["Week", "Month"], horizontal=True, key="pq_view")
    anchor = b.date_input("Around", value=dt.datetime.now(dt.UTC).date(), key="pq_anchor")
    states = c.multiselect("States", list(ui.LABELS), format_func=ui.LABELS.__getitem__, key="pq_states")
    rows = widgets.attempt(lambda: queue.list_queue(store, ctx, states=states)) or []
    ui.calendar(rows, tz, view, anchor)
    if rows:
        ui.queue_table(rows, tz)
        ui.item_actions(store, ctx, rows, tz)

with tab_eng:
    organic = widgets.attempt(lambda: metrics.history(store, ctx)) or []
    if organic:
        ui.engagement(organic)
    if not ui_ads.engagement(store, ctx) and not organic:  # paid results alone need no "nothing yet" above them
        ui.engagement([])
