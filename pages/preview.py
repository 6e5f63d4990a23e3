"""Preview: a data set × rules × a template from Templates (a saved version, its unsaved draft, or a starter
from the data set's own columns) → the figures of the whole data set and the first variations; Generate.
Every choice autosaves as the user's draft and comes back after a reload or on another machine."""

from __future__ import annotations

import json
import math

import streamlit as st

from studio import campaigns, datasets, previews
from studio import rule_sets as rule_sets_service
from studio import templates as templates_service
from studio.ui import aggregates as ui_aggregates
from studio.ui import authoring, fragments, resources, state, widgets
from studio.ui import datasets as data_ui
from studio.ui import generation as ui_gen
from studio.ui import hygiene as ui_hygiene
from studio.ui import inline as ui_inline
from studio.ui import structure as ui_structure
from studio.ui import template_editor as template_ui
from studio.ui import truncation as ui_truncation

ctx = state.page_context("Preview")
store = resources.store()
items = data_ui.datasets_or_stop(store, ctx, "A preview renders templates over a data set.")
STRATEGIES = ["skip", "truncate", "fallback"]


@fragments.part  # an edit here reruns the preview (its draft, figures and cards), not app.py and the sidebar
def preview() -> None:
    draft = authoring.load(store, ctx, "preview")
    by_id = {str(d.id): d for d in items}
    formats = previews.format_choices()

    left, right = st.columns([2, 3], gap="large")
    with left:
        authoring.follow_dataset("pv_dataset", list(by_id))
        authoring.seed("pv_dataset", draft.get("dataset_id"), list(by_id))
        ds_key = st.selectbox("Data set", list(by_id), key="pv_dataset",
                              format_func=lambda i: data_ui.dataset_label(by_id[i]))
        ds = by_id[ds_key]
        authoring.seed("pv_format", draft.get("format") or "reddit/thread", list(formats))
        fmt_key = st.selectbox("Format", list(formats), format_func=formats.__getitem__, key="pv_format")
        fmt = templates_service.format_of(fmt_key)
        detail = widgets.attempt(lambda: datasets.get_dataset(store, ctx, ds.id))
        if detail is None:
            st.stop()
        st.caption("Columns: " + ", ".join(widgets.as_code(c.name) for c in detail.columns))

        sources_now = previews.parse_variation_sources(st.session_state.get("pv_sources", draft.get("sources", "")))
        extra = list(sources_now) if isinstance(sources_now, dict) else []
        extra += ui_aggregates.names(draft.get("aggregates"))  # templates may read them like columns
        saved = widgets.attempt(lambda: templates_service.list_templates(store, ctx, format_key=fmt_key)) or []
        options = authoring.sources(fmt, saved, authoring.load(store, ctx, "templates"), ds.name)
        by_choice = {o.choice: o for o in options}
        choice_key = f"pv_tpl_{ds_key}_{fmt_key}"
        default = authoring.default_source(options, detail.columns, extra)  # a template just saved wins…
        remembered = draft.get("templates", {}).get(f"{ds_key}|{fmt_key}")  # …unless the user picked another
        authoring.seed(choice_key, remembered if remembered in by_choice else default, list(by_choice))
        choice = st.selectbox("Template", list(by_choice), key=choice_key, format_func=lambda c: by_choice[c].label,
                              help="Templates are written on the Templates page; the preview shows a saved version, "
                                   "your unsaved draft there, or a starter built from this data set's columns.")
        source = by_choice[choice]
        answers = dict(draft.get("answers", {}).get(ds_key, {}))
        unsure: tuple[str, ...] = ()
        version: int | None = None
        if choice == authoring.STARTER:
            starter = authoring.starter_questions(fmt, detail.columns, answers, f"pv_role_{ds_key}_{fmt_key}")
            fields, unsure = starter.fields, starter.unsure
        else:
            version_key = f"pv_ver_{choice}"
            fields, version = authoring.version_picker(store, ctx, source, draft.get("versions", {}).get(choice), version_key)
        template_ui.summary(fmt, fields, expanded=choice == authoring.STARTER)
        if st.button("Edit on Templates" if source.template else "Open this starter on Templates",
                     icon=":material/edit_note:", key="pv_edit"):
            template_ui.open_in_editor(fmt_key, str(source.template.id) if source.template else None,
                                       None if source.template or choice != authoring.STARTER else fields)
            st.switch_page("pages/templates.py")

        rule_sets = widgets.attempt(lambda: rule_sets_service.list_rule_sets(store, ctx)) or []
        rule_choice, rs_default, rules_text = authoring.rules_picker(rule_sets, draft)
        aggregates = ui_aggregates.editor(draft.get("aggregates"), [(c.name, c.kind) for c in detail.columns], "pv_aggs")
        authoring.seed("pv_sources", draft.get("sources", ""))
        sources_text = st.text_area("Variation sources (optional)", key="pv_sources", height=68,
                                    placeholder="cta: Shop now | Learn more\nangle: Value | Quality",
                                    help="One per line: a name, a colon, values separated by |. Every row is crossed with "
                                         "every combination; use them in templates as {{ cta }}.")
        st.session_state["pv_dedup"] = [f for f in st.session_state.get("pv_dedup", draft.get("dedup", [])) if f in fields]
        dedup = st.multiselect("Remove duplicates on", list(fields), key="pv_dedup")
        authoring.seed("pv_strategy", draft.get("strategy", "skip"), STRATEGIES)
        strategy = st.radio("When a field breaks a limit", STRATEGIES, horizontal=True, key="pv_strategy")
        truncate_style = ui_truncation.style_picker(strategy, draft.get("truncate_style"), "pv_truncate_style")
        combos = math.prod(len(v) for v in sources_now.values()) if isinstance(sources_now, dict) else 1
        inline_max = ui_inline.maximum(fields, draft.get("inline_max"), "pv_inline_max", sources=combos)
        structure = ui_structure.inputs(fmt_key, [(c.name, c.kind) for c in detail.columns], f"pv_st_{ds_key}")
        hygiene = ui_hygiene.options(draft, keywords=structure is not None)

    authoring.save(store, ctx, "preview", {
        "dataset_id": ds_key, "format": fmt_key, "rule_set": None if rule_choice == rs_default else rule_choice,
        "rules_json": st.session_state["pv_rules"], "aggregates": aggregates,
        "sources": sources_text, "dedup": dedup, "strategy": strategy, "inline_max": inline_max,
        "truncate_style": truncate_style or draft.get("truncate_style"), **hygiene,
        "templates": {k: v for k, v in {**draft.get("templates", {}), f"{ds_key}|{fmt_key}": choice}.items()
                      if k.split("|", 1)[0] in by_id and (k != f"{ds_key}|{fmt_key}" or v != default)},
        "answers": {k: v for k, v in {**draft.get("answers", {}), ds_key: answers}.items() if k in by_id},
        "versions": {k: v for k, v in {**draft.get("versions", {}), choice: version}.items() if v is not None},
    })

    missing = [spec.label for spec in fmt.fields if spec.required and not fields.get(spec.name)]
    if unsure:
        right.info("The preview starts once the questions on the left are answered.")
        st.stop()
    if missing:
        right.info(f"**{fmt.label}** needs {', '.join(missing)}. Write {'it' if len(missing) == 1 else 'them'} on "
                   "*Templates* (the button under the template fields on the left takes you there), or pick another "
                   "template.")
        st.stop()
    try:
        rules = json.loads(rules_text or "[]")
    except json.JSONDecodeError as exc:
        right.error(f"The rules are not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}.")
        st.stop()
    platform, format_name = fmt_key.split("/", 1)
    sources = previews.parse_variation_sources(sources_text)
    if isinstance(sources, str):
        right.error(widgets.as_message(sources))
        st.stop()
    config = {"platform": platform, "format": format_name, "templates": fields, "rules": rules,
              "dedup_fields": dedup, "constraint_strategy": strategy, "variation_sources": sources}
    if truncate_style is not None:  # with "truncate": cut, ellipsis or word
        config["truncate_style"] = truncate_style
    if inline_max is not None:  # [[a|b]] blocks: combinations kept per row
        config["max_inline_variations"] = inline_max
    if structure is not None:  # paid formats: campaigns → ad groups → ads, keywords, settings
        config["structure"] = structure
    config.update({k: True for k, on in hygiene.items() if on})  # text hygiene (the workspace word list: previews.py)
    if aggregates:  # derived columns over every row (engine/generation/aggregates.py)
        if ui_aggregates.check(aggregates, {c.name: c.kind for c in detail.columns}):
            right.info("The preview starts once the aggregates on the left are fixed (the message under them says how).")
            st.stop()
        config["aggregates"] = aggregates
    with right:
        result = widgets.attempt(lambda: previews.run_preview(store, ctx, ds.id, config, limit=20, cache=resources.preview_cache()))
        if result is None:
            st.stop()
        ui_gen.figures(result.preview.stats)
        ui_inline.figures(result.preview.stats)
        with st.form("generate", border=False):  # above the tree and the cards: reachable without scrolling
            name_col, go_col = st.columns([3, 1], vertical_alignment="bottom")
            auto = f"{ds.name} — {formats[fmt_key]}"  # follows the data set and format until the user types a name
            if st.session_state.get("pv_set_name") == st.session_state.get("pv_set_name_auto"):
                st.session_state["pv_set_name"] = auto
            st.session_state["pv_set_name_auto"] = auto
            name = name_col.text_input("Campaign set name", key="pv_set_name")
            held = st.checkbox("Start paused", key="pv_start_paused",
                               help="Nothing of the set publishes until a member approves it on its page.")
            if go_col.form_submit_button("Generate", type="primary", width="stretch"):
                with widgets.user_errors():
                    set_id = campaigns.create(store, ctx, name, ds.id, config, start_paused=held)
                    ui_gen.start(store, ctx, set_id)
                    st.session_state["selected_set"] = str(set_id)
                    st.switch_page("pages/campaigns.py")
        ui_structure.tree(result.structure, fmt_key)
        with st.expander("Show the engine's SQL"):
            st.code(result.sql, language="sql")
        names = {str(r.get("id")): str(r.get("name") or r.get("id")) for r in rules if isinstance(r, dict)}
        shown = result.preview.variations
        st.caption(f"The first {widgets.plural(min(shown.height, 20), 'variation')} of "
                   f"{widgets.plural(result.preview.stats.kept, 'variation')}" if result.preview.stats else "")
        with st.container(height=900, border=False):
            ui_gen.cards(shown, fmt_key, names)


preview()
