"""Data sources: upload tables, see their typed columns, preview, rename, replace, delete."""

from __future__ import annotations

import uuid

import streamlit as st

from studio import datasets
from studio.ui import authoring, resources, state, widgets
from studio.ui import datasets as ui

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

names = {str(d.id): d.name for d in items}
if (wanted := st.session_state.pop("open_dataset_next", None)) in names:
    st.session_state["open_dataset"] = wanted  # the data set just uploaded, replaced or renamed
authoring.seed("open_dataset", st.session_state.get("selected_dataset"), list(names))
choice = st.selectbox("Open data set", list(names), format_func=names.__getitem__, key="open_dataset")
st.session_state["selected_dataset"] = choice
dataset_id = uuid.UUID(choice)

detail = widgets.attempt(lambda: datasets.get_dataset(store, ctx, dataset_id))
if detail is None:
    st.stop()
s = detail.summary
st.markdown(f"### {s.name}")
st.caption(f"Version {s.version} · {s.filename} · {widgets.plural(s.row_count, 'row')} · "
           f"{widgets.plural(len(detail.columns), 'column')} · {widgets.fmt_bytes(s.size_bytes)}")
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
        st.markdown(f"- **v{v.version}** · {v.filename} · {widgets.plural(v.row_count, 'row')} · {widgets.fmt_when(v.created_at)}")
with manage_tab:
    ui.manage(store, ctx, detail)
