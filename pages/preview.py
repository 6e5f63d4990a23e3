"""Preview: data set × rules × templates → the first variations and the whole-data-set figures; Generate."""

from __future__ import annotations

import json

import streamlit as st

from studio import campaigns, datasets, previews
from studio import rule_sets as rule_sets_service
from studio import templates as templates_service
from studio.ui import datasets as data_ui
from studio.ui import generation as ui_gen
from studio.ui import resources, state, widgets
from studio.ui import template_editor as template_ui

ctx = state.page_context("Preview")
store = resources.store()
items = data_ui.datasets_or_stop(store, ctx, "A preview renders templates over a data set.")

left, right = st.columns([2, 3])
with left:
    ds = st.selectbox("Data set", items, format_func=data_ui.dataset_label, key="pv_dataset")
    formats = previews.format_choices()
    fmt = st.selectbox("Format", list(formats), format_func=formats.__getitem__, key="pv_format",
                       index=list(formats).index("reddit/thread") if "reddit/thread" in formats else 0)
    detail = datasets.get_dataset(store, ctx, ds.id)
    st.caption("Columns: " + ", ".join(f"`{c.name}`" for c in detail.columns))
    saved = templates_service.list_templates(store, ctx, format_key=fmt)
    picked = st.selectbox("Start from a saved template", [None, *saved], key=f"pv_saved_{fmt}",
                          format_func=lambda t: "— write here —" if t is None else f"{t.name} (v{t.version})")
    templates: dict[str, str] = {}
    for spec in previews.format_fields(fmt):
        default = picked.fields.get(spec.name, "") if picked else ui_gen.DEFAULTS.get((fmt, spec.name), "")
        label = spec.label + (" *" if spec.required else "") + (f" (max {spec.max_chars:,})" if spec.max_chars else "")
        key = f"pv_tpl_{fmt}_{spec.name}_{picked.id if picked else 'new'}"
        if template_ui.one_line(spec):
            text = st.text_input(label, value=default, key=key, placeholder="true, false or {{ column }}"
                                 if spec.kind == "bool" else None)
        else:
            text = st.text_area(label, value=default, key=key, height=120 if spec.kind == "markdown" else 68)
        if text.strip():
            templates[spec.name] = text
    rule_sets = rule_sets_service.list_rule_sets(store, ctx)
    rule_set = st.selectbox("Rules", [None, *rule_sets], key="pv_rule_set",
                            format_func=lambda r: "No saved rule set (JSON below)" if r is None else f"{r.name} ({len(r.rules)} rules)")
    if rule_set is not None:
        rules_text = json.dumps(rule_set.rules)
    else:
        with st.expander("Rules (JSON)"):
            rules_text = st.text_area("Rules as JSON", value="[]", key="pv_rules", height=140, label_visibility="collapsed")
    sources_text = st.text_area("Variation sources (optional)", key="pv_sources", height=68,
                                placeholder="cta: Shop now | Learn more\nangle: Value | Quality",
                                help="One per line: a name, a colon, values separated by |. Every row is crossed with "
                                     "every combination; use them in templates as {{ cta }}.")
    dedup = st.multiselect("Remove duplicates on", list(templates), key="pv_dedup")
    strategy = st.radio("When a field breaks a limit", ["skip", "truncate", "fallback"], horizontal=True, key="pv_strategy")

try:
    rules = json.loads(rules_text or "[]")
except json.JSONDecodeError as exc:
    right.error(f"The rules are not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}.")
    st.stop()
platform, format_name = fmt.split("/", 1)
sources = previews.parse_variation_sources(sources_text)
if isinstance(sources, str):
    right.error(sources)
    st.stop()
config = {"platform": platform, "format": format_name, "templates": templates, "rules": rules,
          "dedup_fields": dedup, "constraint_strategy": strategy, "variation_sources": sources}
with right:
    result = widgets.attempt(lambda: previews.run_preview(store, ctx, ds.id, config, limit=20, cache=resources.preview_cache()))
    if result is None:
        st.stop()
    ui_gen.figures(result.preview.stats)
    with st.expander("Show the engine's SQL"):
        st.code(result.sql, language="sql")
    names = {str(r.get("id")): str(r.get("name") or r.get("id")) for r in rules if isinstance(r, dict)}
    ui_gen.cards(result.preview.variations, fmt, names)
    with st.form("generate"):
        name = st.text_input("Campaign set name", value=f"{ds.name} — {formats[fmt]}", key="pv_set_name")
        if st.form_submit_button("Generate", type="primary"):
            with widgets.user_errors():
                set_id = campaigns.create(store, ctx, name, ds.id, config)
                ui_gen.start(store, ctx, set_id)
                st.session_state["selected_set"] = str(set_id)
                st.switch_page("pages/campaigns.py")
