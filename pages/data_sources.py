"""Data sources: upload tables, see their typed columns, preview, rename, replace, delete."""

from __future__ import annotations

import uuid

import streamlit as st

from studio import datasets, feeds
from studio.ui import authoring, resources, state, widgets
from studio.ui import datasets as ui
from studio.ui import feeds as feeds_ui

ctx = state.page_context("Data sources")
store = resources.store()
if flash := st.session_state.pop("flash", None):
    (st.error if st.session_state.pop("flash_failed", False) else st.success)(flash)

ui.upload_form(store, ctx)
feeds_ui.url_form(store, ctx)

items = widgets.attempt(lambda: datasets.list_datasets(store, ctx))
if items is None:
    st.stop()
if not items:
    widgets.empty_state("No data sets yet", "Upload a CSV, TSV, Excel, JSON or Parquet file above, or fetch one "
                                            "from a URL, to get started.")
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
st.markdown(f"### {widgets.as_text(s.name)}")
st.caption(f"Version {s.version} · {widgets.as_text(s.filename)} · {widgets.plural(s.row_count, 'row')} · "
           f"{widgets.plural(len(detail.columns), 'column')} · {widgets.fmt_bytes(s.size_bytes)}")
for warning in detail.info.get("warnings", []):
    st.warning(widgets.as_message(warning))

feed = widgets.attempt(lambda: feeds.feed_status(store, ctx, dataset_id))
tab_names = ["Columns", "Rows", "Versions", "Manage", *(["Feed"] if feed is not None else [])]
columns_tab, rows_tab, versions_tab, manage_tab, *feed_tab = st.tabs(tab_names)
with columns_tab:
    feeds_ui.key_panel(store, ctx, dataset_id)
    ui.column_profile(detail)
with rows_tab:
    table = widgets.attempt(lambda: datasets.load_table(store, ctx, dataset_id, limit=100))
    if table is not None:
        ui.preview(table, s.row_count)
with versions_tab:
    for v in detail.versions:
        st.markdown(f"- **v{v.version}** · {widgets.as_text(v.filename)} · {widgets.plural(v.row_count, 'row')} · {widgets.fmt_when(v.created_at)}")
with manage_tab:
    ui.manage(store, ctx, detail)
if feed is not None:
    with feed_tab[0]:
        feeds_ui.feed_panel(store, ctx, feed)
