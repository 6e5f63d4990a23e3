"""Campaign sets: progress, variations (filter, approve, edit), exports, duplicate and archive."""

from __future__ import annotations

import uuid

import streamlit as st

from studio import campaigns, variations
from studio.ui import generation as ui_gen
from studio.ui import resources, state, widgets

ctx = state.page_context("Campaign sets")
store = resources.store()
sets = widgets.attempt(lambda: campaigns.list_sets(store, ctx)) or []
if not sets:
    widgets.empty_state("No campaign sets yet", "Build one on the Preview page and press Generate.")
    st.stop()

ids = [str(s.id) for s in sets]
chosen = st.session_state.get("selected_set")
pick = st.selectbox("Campaign set", range(len(sets)), index=ids.index(chosen) if chosen in ids else 0,
                    format_func=lambda i: f"{sets[i].name} · {sets[i].status} · {sets[i].variation_count:,} variations", key="cs_pick")
cs = sets[pick]
st.session_state["selected_set"] = ids[pick]
if cs.status_reason:
    st.info(cs.status_reason)
ui_gen.progress(store, ctx, cs.id)

a, b, c, _ = st.columns([1, 1, 1, 3])
if a.button("Regenerate", disabled=cs.status in ("generating", "archived")):
    with widgets.user_errors():
        campaigns.generate(store, ctx, cs.id)
        st.rerun()
if b.button("Duplicate"):
    with widgets.user_errors():
        st.session_state["selected_set"] = str(campaigns.duplicate(store, ctx, cs.id))
        st.rerun()
if c.button("Archive", disabled=cs.status == "archived"):
    with widgets.user_errors():
        campaigns.archive(store, ctx, cs.id)
        st.rerun()

st.subheader("Variations")
f1, f2, f3, f4, f5, f6 = st.columns(6)
status = f1.selectbox("Status", ["any", "pending", "approved", "rejected"], key="v_status")
valid = f2.selectbox("Validation", ["any", "valid", "invalid"], key="v_valid")
subreddit = f3.text_input("Subreddit", key="v_sub")
search = f4.text_input("Search titles", key="v_search")
tag_options = ["any", *(widgets.attempt(lambda: variations.labels(store, ctx, cs.id)) or [])]
tag = f5.selectbox("Tag or group", tag_options, key="v_tag", help="Labels given by the rules' add_tag and add_to_group actions")
sort = f6.selectbox("Sort by", list(variations.SORTS), format_func=str.capitalize, key="v_sort")
flt = variations.VariationFilter(status=None if status == "any" else status,
                                 valid=None if valid == "any" else valid == "valid", subreddit=subreddit or None, search=search or None,
                                 tag=None if tag == "any" else tag, sort=sort)
size = 100
page_no = st.number_input("Page", min_value=1, value=1, step=1, key="v_page")
result = widgets.attempt(lambda: variations.page(store, ctx, cs.id, flt, offset=(page_no - 1) * size, limit=size))
if result is None:
    st.stop()
st.caption(f"{result.total:,} variation{'s match' if result.total != 1 else ' matches'} · page {page_no} of {max(1, -(-result.total // size)):,}")
if result.rows:
    last = ("tags", "groups")  # after the content, joined for reading
    shown = [{**{k: v for k, v in r.items() if k != "id" and k not in last}, **{k: ", ".join(r[k]) for k in last}}
             for r in result.rows]
    st.dataframe(shown, hide_index=True, width="stretch")
    x, y, _ = st.columns([1, 1, 4])
    if x.button(f"Approve all {result.total:,}"):
        with widgets.user_errors():
            st.success(f"Approved {variations.set_status(store, ctx, cs.id, 'approved', f=flt):,}.")
    if y.button(f"Reject all {result.total:,}"):
        with widgets.user_errors():
            st.success(f"Rejected {variations.set_status(store, ctx, cs.id, 'rejected', f=flt):,}.")
    with st.expander("Edit one variation"):
        which = st.selectbox("Row", range(len(result.rows)), format_func=lambda i: f"row {result.rows[i]['row']}: {str(result.rows[i].get('title', ''))[:80]}", key="v_edit_pick")
        row = result.rows[which]
        new_title = st.text_input("Title", value=str(row.get("title", "")), key=f"v_edit_title_{row['id']}")
        if st.button("Save edit", key="v_edit_save"):
            with widgets.user_errors():
                variations.edit(store, ctx, uuid.UUID(str(row["id"])), {"title": new_title})
                st.rerun()
st.subheader("Export this view")
bulk = variations.bulk_exports(store, ctx, cs.id)
kinds = {"csv": "CSV", "json": "JSON", "xlsx": "Excel"} | bulk
kind = st.radio("Format", list(kinds), format_func=kinds.__getitem__, horizontal=True, key="v_export_kind")
if st.button("Prepare export"):
    if kind in bulk:
        data = widgets.attempt(lambda: variations.export_bulk(store, ctx, cs.id, kind, flt))
        name = f"{cs.name} - {bulk[kind]}.csv"
    else:
        data = widgets.attempt(lambda: variations.export(store, ctx, cs.id, flt, kind))
        name = f"{cs.name}.{kind}"
    if data is not None:
        st.download_button(f"Download {kinds[kind]}", data, file_name=name)
