"""The explore page's notebook bar: pick one of the workspace's notebooks; create, rename, delete (confirmed)."""

from __future__ import annotations

import uuid
from typing import Any

import streamlit as st

from studio import notebooks
from studio.notebooks import Notebook, NotebookInfo
from studio.store.session import Store
from studio.ui import widgets

PICK = "nb_notebook"
NEXT = "nb_notebook_next"  # a notebook to select on the next run (set after the picker is drawn)


def _cells(n: int) -> str:
    return f"{n:,} cell" + ("" if n == 1 else "s")


def choose(store: Store, ctx: Any) -> tuple[uuid.UUID | None, list[NotebookInfo], Any]:
    """The picker; returns the chosen notebook's id, the notebooks, and the container for `tools`."""
    books = widgets.attempt(lambda: notebooks.list_notebooks(store, ctx)) or []
    if not books:
        return None, [], st.container()
    ids = [str(b.id) for b in books]
    if (wanted := st.session_state.pop(NEXT, None)) in ids:
        st.session_state[PICK] = wanted
    if st.session_state.get(PICK) not in ids:  # first visit, or the picked one was deleted
        st.session_state[PICK] = str(max(books, key=lambda b: (b.updated_at, b.name)).id)
    left, right = st.columns([1, 1], vertical_alignment="bottom")
    names = {str(b.id): f"{b.name} · {_cells(b.cells)}" for b in books}
    chosen = left.selectbox("Notebook", ids, key=PICK, format_func=names.__getitem__)
    return uuid.UUID(chosen), books, right.container(horizontal=True, horizontal_alignment="right", gap="small")


def tools(store: Store, ctx: Any, book: Notebook, where: Any) -> None:
    """New, Rename and Delete (editors only); each applies at once and shows the notebook it leaves you in."""
    if not book.can_edit or book.id is None:
        return
    with where.popover("New notebook", icon=":material/add:"):
        name = st.text_input("Name", key="nb_new_name", placeholder="e.g. Prices by category")
        if st.button("Create notebook", key="nb_new_go", type="primary"):
            made = widgets.attempt(lambda: notebooks.create_notebook(store, ctx, name))
            if made is not None:
                st.session_state[NEXT] = str(made.id)
                st.session_state.pop("nb_new_name", None)
                st.rerun()
    with where.popover("Rename", icon=":material/edit:"):
        new = st.text_input("New name", value=book.name, key=f"nb_rename_{book.id}")
        if (st.button("Rename notebook", key="nb_rename_go", type="primary")
                and widgets.attempt(lambda: notebooks.rename_notebook(store, ctx, book.id, new)) is not None):  # type: ignore[arg-type]
            st.rerun()
    with where.popover("Delete", icon=":material/delete:"):
        st.markdown(f"Delete **{widgets.as_text(book.name)}** and its {_cells(len(book.cells))} with their results? "
                    "This cannot be undone.")
        if st.button(f"Delete {widgets.as_text(book.name)}", key="nb_delete_go", type="primary"):
            gone = widgets.attempt(lambda: notebooks.delete_notebook(store, ctx, book.id))  # type: ignore[arg-type]
            if gone is not None:  # the picker falls back to the notebook changed last
                st.toast(f"Deleted notebook {widgets.as_text(repr(gone))}.")
                st.rerun()
