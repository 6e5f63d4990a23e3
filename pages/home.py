"""Home: where the workspace stands and what to do next."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from studio import datasets
from studio.ui import resources, state, widgets

DEMO = Path(__file__).resolve().parents[1] / "studio" / "demo" / "reddit_threads_sample.csv"

ctx = state.page_context("Home")
store = resources.store()

items = widgets.attempt(lambda: datasets.list_datasets(store, ctx)) or []
c1, c2 = st.columns(2)
c1.metric("Data sets", widgets.fmt_int(len(items)))
c2.metric("Rows across data sets", widgets.fmt_int(sum(d.row_count for d in items)))

st.subheader("Get started")
st.markdown(
    "1. **Upload a data table** on *Data sources* (CSV, TSV, Excel, JSON or Parquet).\n"
    "2. Write templates with `{{ variables }}` and rules, and watch every variation in the live preview.\n"
    "3. Generate the campaign set in the background and publish it."
)
if not items:
    st.caption("No data yet? Load the demo: 60 products, each with a target subreddit and flair.")
    if st.button("Load the demo data set", type="primary"):
        with widgets.user_errors():
            summary = datasets.upload(store, ctx, DEMO.name, DEMO.read_bytes(), name="Demo products")
            st.success(f"Loaded {summary.name!r}: {widgets.fmt_int(summary.row_count)} rows.")
            st.page_link("pages/data_sources.py", label="Open it in Data sources →")
