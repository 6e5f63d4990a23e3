"""Rules: a visual builder (nested AND/OR conditions, actions), "Test on data" with a per-row trace, JSON in/out."""

from __future__ import annotations

from functools import partial

import streamlit as st

from engine.errors import EngineError
from studio import rule_sets
from studio.errors import StudioError
from studio.ui import aggregates as ui_aggregates
from studio.ui import authoring, fragments, resources, state, widgets
from studio.ui import datasets as data_ui
from studio.ui import rule_builder as ui
from studio.ui import rule_outcomes as outcomes
from studio.ui import rule_set_bar as bar

ctx = state.page_context("Rules")
store = resources.store()
data = data_ui.datasets_or_stop(store, ctx, "Rules work on a data set's columns.")
if flash := st.session_state.pop("rp_flash", None):
    st.success(flash)

editable = rule_sets.can_edit(store, ctx)
saved = widgets.attempt(lambda: rule_sets.list_rule_sets(store, ctx)) or []
left, right = st.columns(2)
current = bar.rule_set_picker(left, saved)
by_id = {str(d.id): d for d in data}
authoring.follow_dataset("rp_dataset", list(by_id))
authoring.seed("rp_dataset", None, list(by_id))
ds = by_id[right.selectbox("Data set (columns and testing)", list(by_id), key="rp_dataset",
                           format_func=lambda i: data_ui.dataset_label(by_id[i]))]
schema = widgets.attempt(lambda: rule_sets.schema_of(store, ctx, ds.id))
if schema is None:
    st.stop()
if not editable:
    st.info("You are a viewer in this workspace: you can read rules and test them on data, but not change or save them.")
elif not saved:
    st.caption("No saved rule sets yet: add rules below, test them on the data, then save them under a name.")
aggregates = authoring.load(store, ctx, "preview").get("aggregates") or []
derived = ui_aggregates.rule_columns(aggregates, schema)  # the builder offers them like columns
aggregates = aggregates if derived else []
schema = {**schema, **derived}


@fragments.part  # an operator or value change reruns the builder and its outcomes, not the page
def builder_and_outcomes() -> None:
    scope = f"{current.id}@{current.updated_at.isoformat()}" if current else "new"  # someone else's save reloads
    d = ui.draft(scope, current.rules if current else [])
    st.caption("Rules fire top to bottom; conditions always look at the original row, actions chain.")
    top = st.container()
    slots = ui.builder(d, schema, editable)
    rules = ui.to_rules(d)

    result = None
    try:
        result = rule_sets.test_on_data(store, ctx, ds.id, rules, aggregates) if rules else None
    except (EngineError, StudioError) as exc:
        outcomes.show_error(slots, exc, top)
    if result is not None:
        outcomes.annotate(slots, result.counts, result.row_count, {r["id"]: r.get("enabled", True) for r in rules})

    st.divider()
    if editable:
        bar.save_bar(store, ctx, current, rules)

    st.subheader("Test on data")
    if not rules:
        st.caption("Add a rule to see how many rows it matches.")
    elif result is None:
        st.caption("Fix the rule marked above to test the rules on the data.")
    else:
        counts_col, trace_col = st.columns([3, 2], gap="large")
        with counts_col:
            st.markdown(f"**Rows matched** in {widgets.as_text(ds.name)} ({widgets.plural(result.row_count, 'row')})")
            outcomes.match_table(rules, result.counts, result.row_count)
            for note in result.not_numbers:
                st.caption(widgets.as_message(note.message()))
        with trace_col:
            if st.session_state.get("rp_trace_row", 1) > max(result.row_count, 1):
                st.session_state["rp_trace_row"] = 1
            number = st.number_input("Why does row … look like this?", min_value=1, max_value=max(result.row_count, 1),
                                     value=1, step=1, key="rp_trace_row")
            row_trace = widgets.attempt(partial(result.trace, int(number) - 1))
            if row_trace is not None:
                outcomes.trace(row_trace)

    bar.versions(store, ctx, current, editable)
    bar.import_export(rules, schema, editable, current.name if current else "rules")


builder_and_outcomes()
