"""Campaign sets: progress, the review grid (filter, edit, approve, find & replace), cards, exports, duplicate, archive."""

from __future__ import annotations

import streamlit as st

from studio import campaigns, previews, variations
from studio.ui import diff as ui_diff
from studio.ui import fragments, resources, state, widgets
from studio.ui import generation as ui_gen
from studio.ui import reddit_ads as ui_ads
from studio.ui import review as ui_review

ctx = state.page_context("Campaign sets")
store = resources.store()
sets = widgets.attempt(lambda: campaigns.list_sets(store, ctx)) or []
if not sets:
    widgets.empty_state("No campaign sets yet", "Build one on the Preview page and press Generate.")
    widgets.page_link("pages/preview.py", label="Open the Preview", icon=":material/visibility:")
    st.stop()

ids = [str(s.id) for s in sets]
_kinds = previews.format_choices()  # "reddit/link_ad" → "Reddit link ad", as Preview names it
chosen = st.session_state.get("selected_set")
# The label holds only what does not change while a run goes: the browser keeps a picked option's label as
# it was drawn, so a status in it would read 'generating' after the run ended. The status is the caption.
pick = st.selectbox("Campaign set", range(len(sets)), index=ids.index(chosen) if chosen in ids else 0,
                    format_func=lambda i: f"{sets[i].name} · {_kinds.get(f'{sets[i].platform}/{sets[i].format}', sets[i].format)}",
                    key="cs_pick")
cs = sets[pick]
st.session_state["selected_set"] = ids[pick]
st.caption(f"{cs.status.capitalize()} · {cs.variation_count:,} variation{'s' if cs.variation_count != 1 else ''}")
if cs.status_reason:
    st.info(widgets.as_message(cs.status_reason))
ui_gen.progress(store, ctx, cs.id, set_status=cs.status)

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

ui_diff.panel(store, ctx, cs.id, can_edit=ui_review.permissions(store, ctx)[0])


@fragments.part  # a filter, a page of the grid or an edit reruns the review, not the set picker and progress
def review() -> None:
    st.subheader("Variations")
    ui_review.show_flash()
    flt = ui_review.filters(store, ctx, cs)
    can_edit, can_approve = ui_review.permissions(store, ctx)
    size = ui_review.PAGE_SIZE
    p1, p2, _ = st.columns([1, 2, 3])
    page_no = p1.number_input("Page", min_value=1, value=1, step=1, key="v_page")
    show_empty = p2.toggle("Show empty optional fields", key="v_show_empty")
    result = widgets.attempt(lambda: variations.page(store, ctx, cs.id, flt, offset=(page_no - 1) * size, limit=size))
    if result is None:
        st.stop()
    st.caption(f"{result.total:,} variation{'s match' if result.total != 1 else ' matches'} · page {page_no} of {max(1, -(-result.total // size)):,}")
    ui_review.bulk_actions(store, ctx, cs, flt, result.total, can_approve)
    ui_review.find_replace(store, ctx, cs, flt, can_edit)
    if result.rows:
        ui_review.conflicts(store, ctx, cs, result.rows, can_edit)
        grid_tab, cards_tab = st.tabs(["Grid", "Cards"])
        with grid_tab:
            ui_review.grid(store, ctx, cs, flt, result.rows, can_edit=can_edit, can_approve=can_approve, show_empty=show_empty)
        with cards_tab:
            ui_gen.cards(result.rows, f"{cs.platform}/{cs.format}")
    st.subheader("Export this view")
    bulk = variations.bulk_exports(store, ctx, cs.id)
    kinds = {"csv": "CSV", "json": "JSON", "xlsx": "Excel"} | bulk
    kind = st.radio("Format", list(kinds), format_func=kinds.__getitem__, horizontal=True, key="v_export_kind")
    if st.button("Prepare export"):
        if kind in bulk:
            noted = widgets.attempt(lambda: variations.export_bulk_noted(store, ctx, cs.id, kind, flt))
            data = noted[0] if noted is not None else None
            for note in noted[1] if noted is not None else []:
                st.info(widgets.as_message(note), icon=":material/info:")
            name = f"{cs.name} - {bulk[kind]}.csv"
        else:
            data = widgets.attempt(lambda: variations.export(store, ctx, cs.id, flt, kind))
            name = f"{cs.name}.{kind}"
        if data is not None:
            st.download_button(f"Download {kinds[kind]}", data, file_name=name, on_click="ignore")


review()
if (cs.platform, cs.format) == ("reddit", "link_ad"):
    ui_ads.set_panel(store, ctx, cs)
