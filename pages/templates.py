"""Templates: one editor per field of a platform format, columns to insert, a live rendering, versions."""

from __future__ import annotations

import dataclasses

import streamlit as st

from studio import aggregates, datasets, templates
from studio.ui import authoring, fragments, resources, state, widgets
from studio.ui import datasets as data_ui
from studio.ui import inline as ui_inline
from studio.ui import template_editor as ui

ctx = state.page_context("Templates")
store = resources.store()
data = data_ui.datasets_or_stop(store, ctx, "Templates are written against a data set's columns.")
if flash := st.session_state.pop("te_flash", None):
    st.success(flash)

editable = templates.can_edit(store, ctx)
saved = widgets.attempt(lambda: templates.list_templates(store, ctx)) or []
ui.resume_drafts(authoring.load(store, ctx, "templates"), str(ctx.workspace_id))
formats = templates.format_choices()
top_left, top_right = st.columns(2)
with top_left:
    platform = st.session_state.get("te_platform")  # the format picked here before, else the one previewed
    chosen = st.session_state.get(f"te_format_{platform}") or st.session_state.get("pv_format") \
        or authoring.load(store, ctx, "preview").get("format")
    current = ui.template_picker(saved, formats, chosen)
    if not saved:
        st.caption("No saved templates yet: pick a platform and format, write the fields, then save.")
with top_right:
    if current is None:
        fmt_key = ui.format_picker(formats)
    else:
        fmt_key = current.format_key
        st.markdown(f"**Format**  \n{formats.get(fmt_key, fmt_key)}",
                    help="A saved template keeps its format; duplicate it to start another.")
fmt = templates.format_of(fmt_key)
scope = f"{current.id}_v{current.version}" if current else f"{ui.NEW}_{fmt_key}"  # a newer version starts afresh

pick_data, pick_row = st.columns([3, 1])
by_id = {str(d.id): d for d in data}
authoring.follow_dataset("te_dataset", list(by_id))
authoring.seed("te_dataset", None, list(by_id))
ds = by_id[pick_data.selectbox("Data set for the live rendering", list(by_id), key="te_dataset",
                               format_func=lambda i: data_ui.dataset_label(by_id[i]))]
if st.session_state.get("te_row", 1) > max(ds.row_count, 1):
    st.session_state["te_row"] = 1  # another data set with fewer rows was picked
row_number = pick_row.number_input("Row", min_value=1, max_value=max(ds.row_count, 1), value=1, step=1,
                                   key="te_row")
detail = widgets.attempt(lambda: datasets.get_dataset(store, ctx, ds.id))
if detail is None:
    st.stop()
row = widgets.attempt(lambda: templates.sample_row(store, ctx, ds.id, int(row_number) - 1)) if ds.row_count else None
# aggregates over the whole data set set on Preview: templates may read them like columns
derived = widgets.attempt(lambda: aggregates.for_row(store, ctx, ds.id, int(row_number) - 1,
                                                     authoring.load(store, ctx, "preview").get("aggregates"))) or ([], {})
if derived[0]:
    detail = dataclasses.replace(detail, columns=[*detail.columns, *derived[0]])
    row = {**row, **derived[1]} if row is not None else None
if not editable:
    st.info("You are a viewer in this workspace: you can read templates and see them rendered, "
            "but not save, duplicate or delete them.")



@fragments.part  # a field edit reruns the editors, the live card, the draft and the save bar, not the page
def fields_and_card() -> None:
    editors, side = st.columns([3, 2], gap="large")
    with side:
        st.markdown(f"**Live rendering** · {fmt.label}")
        card = st.container()
        ui.columns_panel(detail.columns, row, fmt, scope, editable)
    values: dict[str, str] = {}
    checks: dict[str, templates.FieldCheck] = {}
    with editors:
        for spec in fmt.fields:
            initial = current.fields.get(spec.name, "") if current else ""
            values[spec.name], checks[spec.name] = ui.field_editor(spec, scope, initial, detail.columns, row,
                                                                   ds.row_count, editable)
    with card:
        ui.live_card(fmt, checks, int(row_number))
    with editors:
        ui_inline.hint(values, note="The live rendering shows the row before its blocks expand; Preview shows "
                                    "each variation.")  # [[a|b]] blocks: how many variations each row makes
    authoring.save(store, ctx, "templates", ui.unsaved(saved, current, scope, values))

    st.divider()
    if editable:
        ui.save_bar(store, ctx, current, fmt, values)


fields_and_card()
if current is not None:
    ui.versions_panel(store, ctx, current, editable)
