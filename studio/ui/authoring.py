"""Drafts in the UI: seed widgets from the user's stored draft, autosave what changed; the preview's
template source (a saved version, the Templates page's unsaved draft, or a starter from the data set's columns).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st

from engine.ingest import ColumnProfile
from engine.platforms import Format
from studio import drafts, starters, templates
from studio.context import Context
from studio.errors import StudioError
from studio.rule_sets import RuleSetInfo
from studio.store.session import Store
from studio.templates import TemplateInfo
from studio.ui import widgets

_CACHE = "dr_cache"  # (workspace, kind) → the draft as last read from / written to the store
STARTER = "starter"
TEMPLATE_EDITOR_PREFIX = "te_f_"  # the Templates page's editor keys: te_f_{scope}_{field}


def _key(ctx: Context, kind: str) -> str:
    return f"{ctx.workspace_id}:{kind}"


def load(store: Store, ctx: Context, kind: str) -> dict[str, Any]:
    """The user's draft of `kind` (read from the store once per browser session, then kept current here)."""
    cache = st.session_state.setdefault(_CACHE, {})
    key = _key(ctx, kind)
    if key not in cache:
        try:
            cache[key] = drafts.load(store, ctx, kind)
        except StudioError:
            cache[key] = {}
    return copy.deepcopy(cache[key])


def save(store: Store, ctx: Context, kind: str, data: dict[str, Any]) -> None:
    """Autosave: write the draft when it changed since the last read or write."""
    cache = st.session_state.setdefault(_CACHE, {})
    key = _key(ctx, kind)
    if cache.get(key) == data:
        return
    try:
        drafts.save(store, ctx, kind, data)
    except StudioError as exc:
        st.warning(f"Your draft was not saved: {widgets.as_message(str(exc))}")
        return
    cache[key] = copy.deepcopy(data)


def seed(key: str, value: Any, options: Sequence[Any] | None = None) -> None:
    """Give a widget its drafted value when it has none (a reload, or back from another page); a value that
    is no longer an option (a deleted data set or template) falls back to the first option."""
    if key not in st.session_state and value is not None:
        st.session_state[key] = value
    if options is not None and st.session_state.get(key) not in options:
        if options:
            st.session_state[key] = options[0]
        else:
            st.session_state.pop(key, None)


def follow_dataset(key: str, options: Sequence[str]) -> None:
    """Open the data set last uploaded, replaced or opened on Data sources in picker `key`, once per change
    (afterwards the picker is the user's again)."""
    chosen = st.session_state.get("selected_dataset")
    seen = f"{key}_followed"
    if chosen in options and st.session_state.get(seen) != chosen:
        st.session_state[key] = chosen
        st.session_state[seen] = chosen


# --- the preview's template source ---------------------------------------------------------------

@dataclass(frozen=True)
class Source:
    """Where the preview's template fields come from."""

    choice: str  # "saved:<id>", "draft:<scope>" or "starter"
    label: str
    fields: dict[str, str]
    template: TemplateInfo | None = None


def editor_fields(template_drafts: Mapping[str, str], scope: str, fmt: Format) -> dict[str, str]:
    """The Templates page's unsaved text of one editor scope, by field."""
    out = {}
    for spec in fmt.fields:
        text = template_drafts.get(f"{TEMPLATE_EDITOR_PREFIX}{scope}_{spec.name}")
        if text and text.strip():
            out[spec.name] = text
    return out


def sources(fmt: Format, saved: Sequence[TemplateInfo], template_drafts: Mapping[str, str],
            dataset_name: str) -> list[Source]:
    """Every template the preview can show for `fmt`: unsaved drafts first, then saved ones, the starter last."""
    out: list[Source] = []
    new = editor_fields(template_drafts, f"new_{fmt.key}", fmt)
    if new:
        out.append(Source(f"draft:new_{fmt.key}", "Unsaved new template (Templates page)", new))
    for t in sorted(saved, key=lambda t: t.updated_at, reverse=True):
        edited = editor_fields(template_drafts, f"{t.id}_v{t.version}", fmt)
        if edited and edited != t.fields:
            out.append(Source(f"draft:{t.id}_v{t.version}", f"{t.name} · unsaved edits (Templates page)", edited, t))
        out.append(Source(f"saved:{t.id}", f"{t.name} · version {t.version}", dict(t.fields), t))
    out.append(Source(STARTER, f"Starter from the columns of {dataset_name}", {}))
    return out


def default_source(options: Sequence[Source], columns: Sequence[ColumnProfile], extra: Sequence[str]) -> str:
    """The first template that renders on these columns; the starter when none does."""
    for s in options:
        if s.choice != STARTER and starters.fits(s.fields, columns, extra):
            return s.choice
    return STARTER


ROLE_QUESTION = {"title": "Which column holds the title?", "subreddit": "Which column holds the subreddit?",
                 "link": "Which column holds the link?", "parent": "Which column holds the parent post?"}
_NONE, _ONE = "", starters.LITERAL
_LABELS = {_NONE: "— none —", _ONE: "one value for every row…"}


def starter_questions(fmt: Format, columns: Sequence[ColumnProfile], answers: dict[str, str],
                      key: str) -> starters.Starter:
    """Ask for the title / subreddit / link columns (pre-set to the guesses); returns the starter they give."""
    first = starters.build(fmt, columns, answers)
    asked = [r for r in starters.ROLE_LABEL if r in first.roles and r in ROLE_QUESTION]
    note = st.empty()
    for role in asked:
        col = st.container()
        options = [_NONE, *first.candidates[role], _ONE]
        current = answers.get(role)
        value = current if current in options else (_ONE if current and current.startswith(_ONE) else None)
        if value is None:
            value = first.guessed.get(role) or _NONE
        widget = f"{key}_{role}"
        seed(widget, value, options)
        picked = col.selectbox(ROLE_QUESTION[role], options, key=widget, format_func=lambda o: _LABELS.get(o, o))
        if picked == _ONE:
            seed(f"{widget}_text", (current or "=")[1:] if (current or "").startswith(_ONE) else "")
            text = col.text_input(f"The {starters.ROLE_LABEL[role]} for every row", key=f"{widget}_text",
                                  placeholder="e.g. deals" if role == "subreddit" else None)
            answers[role] = _ONE + text.strip() if text.strip() else _NONE
        else:
            answers[role] = picked
    final = starters.build(fmt, columns, answers)
    if final.unsure:
        note.info("**Which columns hold what?** The column names of this data set do not say which holds the "
                  f"{' or the '.join(starters.ROLE_LABEL[r] for r in final.unsure)}. Pick it below (or type one "
                  "value for every row); the preview starts as soon as it is set.")
    return final


def version_picker(store: Store, ctx: Context, source: Source, remembered: int | None, key: str) -> tuple[dict[str, str], int | None]:
    """For a saved template with history: which version to preview (the current one unless another is picked).
    Returns the fields and the picked version when it is not the current one."""
    t = source.template
    if t is None or not source.choice.startswith("saved:") or t.version <= 1:
        return source.fields, None
    try:
        history = {v.version: v for v in templates.versions(store, ctx, t.id)}
    except StudioError:
        return source.fields, None
    if len(history) <= 1:
        return source.fields, None
    numbers = sorted(history, reverse=True)
    seed(key, remembered if remembered in history else t.version, numbers)
    picked = st.selectbox("Version", numbers, key=key, format_func=lambda n: f"version {n}" + (
        " (current)" if n == t.version else f" · {history[n].note}" if history[n].note else ""),
        help="Preview an earlier version of this template; generating uses the version shown.")
    return (dict(history[picked].fields), picked) if picked != t.version else (source.fields, None)


def rules_picker(rule_sets: Sequence[RuleSetInfo], draft: Mapping[str, Any]) -> tuple[str, str, str]:
    """Which rules the preview applies: none, a saved rule set (the one saved last unless the user picked
    another), or pasted JSON. Returns (the choice, the default choice, the rules as JSON text)."""
    by_id = {str(r.id): r for r in rule_sets}
    newest = max(rule_sets, key=lambda r: r.updated_at, default=None)
    labels = {"none": "No rules", "json": "Rules as JSON (paste)"} | {
        k: f"{r.name} ({widgets.plural(r.rule_count, 'rule')})" for k, r in by_id.items()}
    default = str(newest.id) if newest else "none"
    seed("pv_rule_set", draft.get("rule_set") if draft.get("rule_set") in labels else default, list(labels))
    choice = st.selectbox("Rules", list(labels), format_func=labels.__getitem__, key="pv_rule_set",
                          help="Rule sets are written and tested on the Rules page.")
    seed("pv_rules", draft.get("rules_json", "[]"))
    if choice == "json":
        st.text_area("Rules as JSON", key="pv_rules", height=140)
        return choice, default, st.session_state["pv_rules"]
    return choice, default, json.dumps(by_id[choice].rules) if choice in by_id else "[]"
