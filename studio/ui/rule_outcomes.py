"""What the rules do to the chosen data set: matches per rule, errors under their rule, one row's trace."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from engine.rules import ACTIONS
from studio.ui import widgets
from studio.ui.template_editor import plain


def annotate(slots: Mapping[str, DeltaGenerator], counts: Mapping[str, int], row_count: int,
             enabled: Mapping[str, bool]) -> None:
    """Under each rule: how many rows of the chosen data set its conditions match."""
    for rule_id, slot in slots.items():
        if rule_id not in counts:
            continue
        n = counts[rule_id]
        share = f" ({n / row_count:.0%})" if row_count else ""
        off = " · disabled: it never fires" if not enabled.get(rule_id, True) else ""
        slot.caption(f"Matches {n:,} of {row_count:,} {'row' if row_count == 1 else 'rows'}{share}{off}")


def show_error(slots: Mapping[str, DeltaGenerator], exc: Exception, fallback: DeltaGenerator) -> None:
    """A rule error under the rule it names (or in `fallback` when it names none)."""
    (slots.get(str(getattr(exc, "rule_id", None))) or fallback).error(widgets.as_message(str(exc)))


def _cell(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        value = ", ".join(str(v) for v in value)
    elif isinstance(value, dict):
        value = ", ".join(f"{k}={v}" for k, v in value.items())
    text = "empty" if value is None or value == "" else str(value)
    return text if len(text) <= 80 else text[:79] + "…"


def match_table(rules: list[dict[str, Any]], counts: Mapping[str, int], row_count: int) -> None:
    """Rows matched per rule, in firing order."""
    st.dataframe(
        [{"#": n, "Rule": r["name"], "On": "yes" if r.get("enabled", True) else "no",
          "Rows matched": counts.get(r["id"], 0), "Share": counts.get(r["id"], 0) / row_count if row_count else 0.0}
         for n, r in enumerate(rules, start=1)],
        hide_index=True, width="stretch",
        column_config={"Rows matched": st.column_config.NumberColumn(format="localized"),
                       "Share": st.column_config.ProgressColumn(format="percent", min_value=0.0, max_value=1.0)})
    st.caption("Counts are each rule's conditions on the original rows; a row an earlier rule skips is still counted.")


def trace(t: Any) -> None:
    """Which rules fired on one row, why the others did not, and what changed."""
    for step in t.steps:
        if step.matched:
            st.markdown(f":green[:material/check_circle:] **{plain(step.rule_name)}** fired")
            for change in step.changes:
                what = ACTIONS[change.action].label if change.action in ACTIONS else change.action
                st.markdown(f"&emsp;{plain(what)} · **{plain(change.field.removeprefix('__'))}**: "
                            f"{plain(_cell(change.before))} → {plain(_cell(change.after))}")
            if not step.changes:
                st.caption("No field changed.")
        else:
            st.markdown(f":gray[:material/radio_button_unchecked:] **{plain(step.rule_name)}** did not fire: "
                        f"{plain(step.reason or '')}")
    if not t.steps:
        st.caption("No rules to run.")
    outcome = ["**Skipped**: this row makes no variation"] if t.skipped else []
    outcome += [f"tags: {plain(', '.join(t.tags))}"] if t.tags else []
    outcome += [f"groups: {plain(', '.join(t.groups))}"] if t.groups else []
    outcome += [f"targeting: {plain(', '.join(f'{k}={v}' for k, v in t.targeting.items()))}"] if t.targeting else []
    if outcome:
        st.markdown("**Result:** " + " · ".join(outcome))
