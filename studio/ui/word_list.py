"""Workspace settings → Word list: banned words (refused or replaced) and brand spellings, one a line."""

from __future__ import annotations

import streamlit as st

from studio import word_lists
from studio.context import Context
from studio.store.session import Store
from studio.ui import widgets

MODES = {"refuse": "Refuse the variation (it is not generated; its problem names the word)",
         "replace": "Replace the word with…"}


def section(store: Store, ctx: Context, *, can_edit: bool) -> None:
    """The word list editor (read-only for those who may not edit)."""
    st.subheader("Word list")
    st.caption("Every preview and generated set of this workspace applies it. Words match whole and ignoring case "
               "(\"cheap\" is not in \"cheapest\"); a phrase of several words matches as written.")
    current = widgets.attempt(lambda: word_lists.get_word_list(store, ctx))
    if current is None:
        return
    key = f"wl_{ctx.workspace_id}"  # per workspace: a switch shows that workspace's list
    with st.form(f"{key}_form"):
        left, right = st.columns(2)
        with left:
            banned = st.text_area("Banned words (one a line)", value="\n".join(current.banned), height=150,
                                  key=f"{key}_banned", disabled=not can_edit, placeholder="cheap\nknock-off")
            mode = st.radio("When a field holds a banned word", list(MODES), format_func=MODES.__getitem__,
                            index=list(MODES).index(current.banned_mode), key=f"{key}_mode", disabled=not can_edit)
            replacement = st.text_input("Replacement (when replacing)", value=current.replacement,
                                        key=f"{key}_replacement", disabled=not can_edit, placeholder="affordable")
        with right:
            brands = st.text_area("Brand spellings (one a line, written as they must appear)",
                                  value="\n".join(current.brands), height=150, key=f"{key}_brands",
                                  disabled=not can_edit, placeholder="iPhone\nMacBook Pro\nPlayStation")
            st.caption("\"iphone\", \"IPHONE\" and \"Iphone\" all become \"iPhone\".")
        saved = st.form_submit_button("Save word list", disabled=not can_edit)
    if not can_edit:
        st.caption("Only editors and admins change the word list.")
    if saved:
        with widgets.user_errors():
            result = word_lists.save_word_list(store, ctx, banned=word_lists.parse_lines(banned), banned_mode=mode,
                                               replacement=replacement, brands=word_lists.parse_lines(brands))
            st.success(f"Word list saved: {len(result.banned)} banned word(s), {len(result.brands)} brand "
                       "spelling(s). Previews apply it now; a set applies it when it next generates.")
