"""Rule sets on the Rules page: pick one, save / duplicate / delete it, its versions, import and export its JSON."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from studio import rule_sets
from studio.context import Context
from studio.rule_sets import RuleSetInfo
from studio.store.session import Store
from studio.ui import widgets
from studio.ui.rule_builder import DRAFT, load, normalise


def rule_set_picker(where: DeltaGenerator, saved: list[RuleSetInfo]) -> RuleSetInfo | None:
    """The saved rule set to edit, or None for a new one."""
    by_id = {str(r.id): r for r in saved}
    wanted = st.session_state.pop("rp_pick_request", None)
    if wanted is not None:
        st.session_state["rp_pick"] = wanted
    if st.session_state.get("rp_pick") not in ("new", *by_id):
        st.session_state["rp_pick"] = "new"
    label = {"new": "+ New rule set"} | {k: f"{r.name} · {widgets.plural(r.rule_count, 'rule')}" for k, r in by_id.items()}
    return by_id.get(where.selectbox("Rule set", ["new", *by_id], format_func=label.__getitem__, key="rp_pick"))


def _done(message: str, pick: str | None = None) -> None:
    st.session_state["rp_flash"] = message
    if pick is not None:
        st.session_state["rp_pick_request"] = pick
    st.session_state.pop(DRAFT, None)
    st.rerun()


def save_bar(store: Store, ctx: Context, current: RuleSetInfo | None, rules: list[dict[str, Any]]) -> None:
    """Save (new: with a name), Duplicate, Delete with confirmation."""
    if current is None:
        with st.form("rp_new", border=False):
            a, b = st.columns([3, 1], vertical_alignment="bottom")
            name = a.text_input("Name", key="rp_name", placeholder="e.g. Launch rules")
            if b.form_submit_button("Save rule set", type="primary", width="stretch"):
                with widgets.user_errors():
                    created = rule_sets.create_rule_set(store, ctx, name, rules)
                    _done(f"Saved {widgets.as_text(repr(created.name))} ({widgets.plural(created.rule_count, 'rule')}).", str(created.id))
        return
    dirty = rules != normalise(current.rules)
    a, b, c, d = st.columns([2, 1, 1, 2], vertical_alignment="center")
    if a.button("Save", type="primary", disabled=not dirty, key="rp_save", width="stretch"):
        with widgets.user_errors():
            saved = rule_sets.save_rule_set(store, ctx, current.id, rules)
            _done(f"Saved {widgets.as_text(repr(saved.name))} as version {saved.version} ({widgets.plural(saved.rule_count, 'rule')}).")
    if b.button("Duplicate", key="rp_duplicate", width="stretch"):
        with widgets.user_errors():
            copy = rule_sets.duplicate_rule_set(store, ctx, current.id)
            _done(f"Duplicated as {widgets.as_text(repr(copy.name))}.", str(copy.id))
    if c.button("Delete", key="rp_delete", width="stretch"):
        st.session_state["rp_confirm_delete"] = str(current.id)
    d.caption("Unsaved changes" if dirty else "Saved")
    if st.session_state.get("rp_confirm_delete") == str(current.id):
        st.warning(f"Delete the rule set {widgets.as_text(repr(current.name))} ({widgets.plural(current.rule_count, 'rule')})? This cannot be undone.")
        yes, no, _ = st.columns([1, 1, 4])
        if yes.button("Yes, delete", type="primary", key="rp_delete_yes"):
            with widgets.user_errors():
                name = rule_sets.delete_rule_set(store, ctx, current.id)
                st.session_state.pop("rp_confirm_delete", None)
                _done(f"Deleted {widgets.as_text(repr(name))}.", "new")
        if no.button("Cancel", key="rp_delete_no"):
            st.session_state.pop("rp_confirm_delete", None)
            st.rerun()


def import_export(rules: list[dict[str, Any]], schema: Mapping[str, str], editable: bool, name: str) -> None:
    """Export the rules as JSON; import (replacing the rules in the builder) with errors naming rule and field."""
    with st.expander("Import / export JSON"):
        text = rule_sets.export_rules(rules, name=name)
        st.download_button("Export JSON", text, file_name=f"{name.strip() or 'rules'}.rules.json",
                           mime="application/json", key="rp_export")
        st.code(text, language="json")
        if not editable:
            return
        pasted = st.text_area("Paste rules JSON to import", key="rp_import_text", height=140,
                              placeholder='[{"id": "r1", "name": "…", "conditions": {…}, "actions": […]}]')
        if st.button("Import", key="rp_import"):
            with widgets.user_errors():
                imported = rule_sets.import_rules(pasted, schema)
                load(st.session_state[DRAFT]["for"], imported)
                st.session_state["rp_flash"] = (f"Imported {len(imported):,} rule{'s' * (len(imported) != 1)} "
                                                "into the builder; save to keep them.")
                st.rerun()


def versions(store: Store, ctx: Context, current: RuleSetInfo | None, editable: bool) -> None:
    """The saved versions of the rule set (newest first), each restorable as the newest version."""
    if current is None:
        return
    kept = widgets.attempt(lambda: rule_sets.versions(store, ctx, current.id)) or []
    with st.expander(f"Versions ({len(kept)})"):
        for v in kept[:30]:
            left, right = st.columns([4, 1], vertical_alignment="center")
            when = widgets.fmt_when(v.saved_at) if v.saved_at else "earlier"
            left.markdown(f"**Version {v.version}** · {widgets.plural(len(v.rules), 'rule')} · {widgets.as_text(v.saved_by)} · {when}"
                          + (f"  \n{widgets.as_text(v.note)}" if v.note else ""))
            if editable and v.version != current.version and right.button("Restore", key=f"rp_restore_{v.version}"):
                with widgets.user_errors():
                    back = rule_sets.restore_version(store, ctx, current.id, v.version)
                    _done(f"Restored version {v.version} as version {back.version}.")
