"""Home: where the workspace stands and what to do next."""

from __future__ import annotations

import streamlit as st

from studio import datasets, demo
from studio.ui import resources, state, widgets

ctx = state.page_context("Home")
store = resources.store()
if flash := st.session_state.pop("home_flash", None):
    st.success(flash)

items = widgets.attempt(lambda: datasets.list_datasets(store, ctx)) or []
c1, c2 = st.columns(2)
c1.metric("Data sets", widgets.fmt_int(len(items)))
c2.metric("Rows across data sets", widgets.fmt_int(sum(d.row_count for d in items)))

st.subheader("Get started")
st.markdown(
    "1. **Upload a data table** on *Data sources* (CSV, TSV, Excel, JSON or Parquet), or fetch one from a URL "
    "(a Merchant Center feed, a Google Sheet) that refreshes on a schedule.\n"
    "2. Write templates with `{{ variables }}` on *Templates* and rules on *Rules*; *Preview* shows every "
    "variation they make.\n"
    "3. Generate the campaign set in the background, then publish it to Reddit (posts or Reddit Ads) or export it "
    "for the other platforms."
)
if items:
    st.page_link("pages/data_sources.py", label="Open Data sources →")
    st.page_link("pages/preview.py", label="Open the Preview →")
else:
    st.caption("No data yet? Load the demo: 60 products, each with a target subreddit and flair, and a template "
               "written for them.")
    if st.button("Load the demo data set", type="primary", key="home_demo"):
        with widgets.user_errors():
            summary = demo.load(store, ctx)
            st.session_state["selected_dataset"] = str(summary.id)
            st.session_state["home_flash"] = (f"Loaded {summary.name!r}: {widgets.plural(summary.row_count, 'row')} "
                                              f"and the template {demo.TEMPLATE!r}.")
            st.rerun()
