"""Explore: a notebook over the workspace's data sets — SQL, Markdown and group-by cells, charts, derived data."""

from __future__ import annotations

import streamlit as st

from studio import datasets, notebooks
from studio.ui import notebook as ui
from studio.ui import notebook_bar as bar
from studio.ui import resources, state, widgets

ctx = state.page_context("Explore")
store = resources.store()
tables = widgets.attempt(lambda: datasets.sql_tables(store, ctx))
if tables is None:
    st.stop()
if not tables:
    widgets.empty_state("No data sets yet",
                        "Upload a table on Data sources (or load the demo on Home), then query it here with SQL: "
                        "every data set becomes a table.")
    st.stop()

chosen, books, tools_slot = bar.choose(store, ctx)
book = widgets.attempt(lambda: notebooks.open_notebook(store, ctx, chosen))
if book is None:
    st.stop()
bar.tools(store, ctx, book, tools_slot)
ui.style()
left, right = st.columns([5, 1], vertical_alignment="center")
left.caption("Every data set is a table named below. Queries run in a sandbox and see only this workspace's data.")
run_all = right.button("Run all", key="nb_run_all", icon=":material/fast_forward:", width="stretch",
                       disabled=not any(c.kind != "markdown" for c in book.cells))
ui.tables_panel(store, ctx, book)
ui.undo_banner(store, ctx)

if run_all:
    ui.run_all(store, ctx, book)

for cell in book.cells:
    ui.cell(store, ctx, book, cell)

if book.can_edit:
    if not book.cells:
        widgets.empty_state("This notebook is empty",
                            "Add a SQL cell to query your data, a group-by cell to summarise it without SQL, "
                            "or a Markdown cell for notes.")
    st.caption("Add a cell")
    ui.add_buttons(store, ctx, book)
elif not book.cells:
    widgets.empty_state("This notebook is empty", "Members of this workspace can add cells; viewers can run them.")
else:
    st.caption("You are a viewer: you can edit and run cells here, but your changes are not saved.")
