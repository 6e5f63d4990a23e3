"""Data sources: upload tables, see their typed columns, preview, rename, replace, delete."""

from __future__ import annotations

import uuid

import streamlit as st

from studio import datasets
from studio.ui import datasets as ui
from studio.ui import resources, state, widgets

ctx = state.page_context("Data sources")
store = resources.store()
if flash := st.session_state.pop("flash", None):
    st.success(flash)

ui.upload_form(store, ctx)

items = widgets.attempt(lambda: datasets.list_datasets(store, ctx))
if items is None:
    st.stop()
if not items:
    widgets.empty_state("No data sets yet", "Upload a CSV, TSV, Excel, JSON or Parquet file above to get started.")
    st.stop()

st.subheader(f"Data sets ({len(items)})")
ui.dataset_table(items)

ids = [str(d.id) for d in items]
selected = st.session_state.get("selected_dataset")
index = ids.index(selected) if selected in ids else 0
choice = st.selectbox("Open data set", range(len(items)), index=index, format_func=lambda i: items[i].name, key="open_dataset")
st.session_state["selected_dataset"] = ids[choice]
dataset_id = uuid.UUID(ids[choice])

detail = widgets.attempt(lambda: datasets.get_dataset(store, ctx, dataset_id))
if detail is None:
    st.stop()
s = detail.summary
st.markdown(f"### {s.name}")
st.caption(f"Version {s.version} · {s.filename} · {widgets.fmt_int(s.row_count)} rows · "
           f"{len(detail.columns)} columns · {widgets.fmt_bytes(s.size_bytes)}")
for warning in detail.info.get("warnings", []):
    st.warning(warning)

columns_tab, rows_tab, versions_tab, manage_tab = st.tabs(["Columns", "Rows", "Versions", "Manage"])
with columns_tab:
    ui.column_profile(detail)
with rows_tab:
    table = widgets.attempt(lambda: datasets.load_table(store, ctx, dataset_id, limit=100))
    if table is not None:
        ui.preview(table, s.row_count)
with versions_tab:
    for v in detail.versions:
        st.markdown(f"- **v{v.version}** · {v.filename} · {widgets.fmt_int(v.row_count)} rows · {widgets.fmt_when(v.created_at)}")
with manage_tab:
    ui.manage(store, ctx, detail)
