"""The template editor: pickers, one editor per field with counter and inline errors, columns to insert, live card."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import streamlit as st

from engine.ingest import ColumnProfile
from engine.platforms import FieldSpec, Format
from studio import templates
from studio.context import Context
from studio.store.session import Store
from studio.templates import FieldCheck, TemplateInfo
from studio.ui import widgets

NEW = "new"
DRAFTS = "te_drafts"  # editor text by widget key: survives navigation, unlike widget state
_SHORTCODE = re.compile(r":(?=[A-Za-z0-9_+/-]+(?:\[|:))")  # Streamlit's :red[..], :material/x:, :emoji:
_REDDIT_LINK = re.compile(r"(?<![\w/\]\[(])(/?)\b([ru])/([A-Za-z0-9_-]{2,21})\b")
_CODE = re.compile(r"(```.*?```|`[^`\n]*`)", re.DOTALL)
_MD_SPECIAL = set("\\`*_{}[]()#+-.!<>|~$:")


def plain(text: str) -> str:
    """Text shown verbatim by st.markdown (every Markdown and directive character escaped)."""
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in widgets.unlinked(text)).replace("\n", "  \n")


def _reddit_prose(text: str) -> str:
    text = text.replace("<", "&lt;").replace("$", "\\$").replace("![", "!\\[")  # Reddit shows no inline images:
    # a row's ![…](address) must not load someone's image (a tracking pixel) into the studio
    text = _SHORTCODE.sub(r"\\:", text)
    return _REDDIT_LINK.sub(lambda m: f"[{m.group(0)}](https://www.reddit.com/{m.group(2)}/{m.group(3)})", text)


def reddit_markdown(text: str) -> str:
    """Reddit Markdown for st.markdown: raw HTML shown as text, no LaTeX or colour directives, r/ and u/ linked."""
    parts = _CODE.split(text)  # code spans and fences stay as written (odd indexes)
    return "".join(part if i % 2 else _reddit_prose(part) for i, part in enumerate(parts))


def field_key(scope: str, field: str) -> str:
    return f"te_f_{scope}_{field}"


def _init(key: str, value: str) -> None:
    if key not in st.session_state:
        st.session_state[key] = st.session_state.setdefault(DRAFTS, {}).get(key, value)


def forget_drafts(scope: str) -> None:
    """Drop unsaved text and widget state of one editor scope (after save, restore or delete)."""
    drafts = st.session_state.setdefault(DRAFTS, {})
    for key in [k for k in (*drafts, *st.session_state) if str(k).startswith(f"te_f_{scope}_")]:
        drafts.pop(key, None)
        st.session_state.pop(key, None)


def request_pick(value: str) -> None:
    """Select another template on the next run (the picker is already drawn in this one)."""
    st.session_state["te_pick_request"] = value


def _opening_pick(saved: Sequence[TemplateInfo], chosen_format: str | None) -> str:
    """What the page opens on: the newest saved template of the chosen format (any format when none is chosen
    or it has none), unless the user has an unsaved new template of that format; "+ New" when nothing is saved."""
    drafts = st.session_state.get(DRAFTS, {})
    if chosen_format and any(str(k).startswith(field_key(f"{NEW}_{chosen_format}", "")) and str(v).strip()
                             for k, v in drafts.items()):
        return NEW
    of_format = [t for t in saved if t.format_key == chosen_format] or list(saved)
    newest = max(of_format, key=lambda t: t.updated_at, default=None)
    return str(newest.id) if newest else NEW


def template_picker(saved: Sequence[TemplateInfo], formats: Mapping[str, str],
                    chosen_format: str | None = None) -> TemplateInfo | None:
    """The saved template to edit, or None for a new one; on a first visit, what `_opening_pick` says."""
    by_id = {str(t.id): t for t in saved}
    wanted = st.session_state.pop("te_pick_request", None)
    if wanted is None and "te_pick" not in st.session_state:  # a first visit, or back from another page
        last = st.session_state.get("te_last_pick")
        wanted = last if last in (NEW, *by_id) else _opening_pick(saved, chosen_format)
    if wanted is not None:
        st.session_state["te_pick"] = wanted
    if st.session_state.get("te_pick") not in (NEW, *by_id):
        st.session_state["te_pick"] = NEW
    label = {NEW: "+ New template"} | {k: f"{t.name} · {formats.get(t.format_key, t.format_key)} · v{t.version}"
                                       for k, t in by_id.items()}
    pick = st.selectbox("Template", [NEW, *by_id], format_func=label.__getitem__, key="te_pick")
    st.session_state["te_last_pick"] = pick  # widget state is dropped on other pages; this is not
    return by_id.get(pick)


def format_picker(formats: Mapping[str, str]) -> str:
    """Platform, then format; returns `platform/format`."""
    platforms: dict[str, list[str]] = {}
    for key in formats:
        platforms.setdefault(key.split("/", 1)[0], []).append(key)
    names = {p.name: p.label for p in templates.platforms()}
    a, b = st.columns(2)
    platform = a.selectbox("Platform", list(platforms), format_func=lambda p: names.get(p, p), key="te_platform")
    return b.selectbox("Format", platforms[platform], format_func=formats.__getitem__, key=f"te_format_{platform}")


def _insert(key: str, text: str) -> None:
    current = st.session_state.get(key, "")
    glue = "" if not current or current.endswith((" ", "\n")) else " "
    st.session_state[key] = current + glue + text
    st.session_state.setdefault(DRAFTS, {})[key] = st.session_state[key]


def columns_panel(columns: Sequence[ColumnProfile], row: Mapping[str, Any] | None, fmt: Format, scope: str,
                  editable: bool) -> None:
    """The data set's columns with kind and this row's value; a click inserts `{{ column }}`."""
    st.markdown("**Columns**")
    if editable:
        names = list(fmt.field_names)
        target = st.selectbox("Insert into", names, format_func=lambda f: fmt.field(f).label,
                              index=names.index("title") if "title" in names else 0, key=f"te_target_{fmt.key}")
        st.caption("Click a column to add it to the end of that field.")
    for i, c in enumerate(columns):
        value = row.get(c.name) if row is not None else (c.examples[0] if c.examples else None)
        shown = "empty" if value in (None, "") else str(value)
        name_col, info_col = st.columns([2, 3], vertical_alignment="center")
        if editable:
            name_col.button(widgets.as_text(c.name), key=f"te_ins_{i}", width="stretch", on_click=_insert,
                            args=(field_key(scope, target), templates.snippet(c.name)),
                            help=f"Insert {widgets.as_code(templates.snippet(c.name))}")
        else:
            name_col.markdown(widgets.as_code(c.name))
        info_col.caption(f"{c.kind} · {plain(shown[:60] + ('…' if len(shown) > 60 else ''))}")


def _fix(key: str, wrong: str, right: str) -> None:
    st.session_state[key] = re.sub(rf"\b{re.escape(wrong)}\b", right, st.session_state.get(key, ""))
    st.session_state.setdefault(DRAFTS, {})[key] = st.session_state[key]


def _counter(spec: FieldSpec, check: FieldCheck) -> None:
    if check.length is None or spec.max_chars is None:
        limit = f" · at most {spec.max_chars:,} {check.unit}" if spec.max_chars else ""
        st.caption(f"{check.length:,} {check.unit}{limit}" if check.length is not None else f"no rendering{limit}")
        return
    text = f"{check.length:,} / {spec.max_chars:,} {check.unit}"
    if check.over:
        st.markdown(f":red[**{text} — {check.over:,} over the limit**]")
    elif spec.recommended_chars and check.length > spec.recommended_chars:
        st.caption(f"{text} · over the recommended {spec.recommended_chars:,}")
    else:
        st.caption(text)


def one_line(spec: FieldSpec) -> bool:
    """A flag, a choice, a URL or a short field: one line is enough to write its template."""
    return spec.kind in ("bool", "enum", "url") or ((spec.max_chars or 0) <= 100 and spec.kind != "markdown")


_COLUMN_REF = re.compile(r"^\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$")
_BOOL_MODES = {"off": "Off", "on": "On", "column": "From a column", "template": "Template"}


def _bool_editor(spec: FieldSpec, key: str, label: str, columns: Sequence[ColumnProfile], editable: bool) -> str:
    """A flag (NSFW, Spoiler…): off, on, or from a column (`{{ column }}`); any other template stays editable."""
    text = st.session_state.get(key, "").strip()
    names = [c.name for c in columns]
    ref = _COLUMN_REF.match(text)
    mode = ("off" if text.lower() in ("", "false", "no", "0") else "on" if text.lower() in ("true", "yes", "1")
            else "column" if ref and ref.group(1) in names else "template")
    mode_key = f"{key}_mode"
    if st.session_state.get(mode_key) not in _BOOL_MODES:
        st.session_state[mode_key] = mode
    a = b = st.container()  # one under the other: side by side, the four choices were cut off ("From a colum")
    picked = a.segmented_control(label, list(_BOOL_MODES), format_func=_BOOL_MODES.__getitem__, key=mode_key,
                                 disabled=not editable, help=spec.help or "A yes/no flag for every variation, "
                                 "or one read from a column of the data set.")
    if picked == "column":
        flags = [c.name for c in columns if c.kind == "boolean"] or names
        col_key = f"{key}_column"
        if st.session_state.get(col_key) not in flags:
            st.session_state[col_key] = ref.group(1) if ref and ref.group(1) in flags else flags[0]
        column = b.selectbox("Column", flags, key=col_key, disabled=not editable, label_visibility="collapsed")
        source = templates.snippet(column)
    elif picked == "template":
        source = b.text_input("Template", value=text, key=f"{key}_template", disabled=not editable,
                              placeholder="e.g. {{ price > 100 }}", label_visibility="collapsed")
    else:
        source = "true" if picked == "on" else ""
    st.session_state[key] = source
    return source


def field_editor(spec: FieldSpec, scope: str, initial: str, columns: Sequence[ColumnProfile],
                 row: Mapping[str, Any] | None, row_count: int, editable: bool) -> tuple[str, FieldCheck]:
    """One field: its editor, the character counter for the chosen row, errors with line/column."""
    key = field_key(scope, spec.name)
    _init(key, initial)
    label = spec.label + (" *" if spec.required else "")
    hint = f"One of: {', '.join(spec.allowed)}" if spec.allowed else (spec.pattern_hint or spec.help or None)
    if spec.kind == "bool":
        source = _bool_editor(spec, key, label, columns, editable)
    elif one_line(spec):
        source = st.text_input(label, key=key, disabled=not editable, help=hint)
    else:
        source = st.text_area(label, key=key, height=200 if spec.kind == "markdown" else 80, disabled=not editable,
                              help=hint)
    st.session_state.setdefault(DRAFTS, {})[key] = source
    check = templates.check_field(spec, source, columns, row, row_count=row_count)
    if source and spec.kind != "bool":
        _counter(spec, check)
    elif spec.required:
        st.caption("Required: every variation needs this field.")
    for issue in check.report.errors:
        st.error(widgets.as_message(issue.message))
        if editable and issue.variable and issue.suggestion and issue.suggestion.isidentifier():
            st.button(f"Use `{issue.suggestion}`", key=f"{key}_fix_{issue.variable}", on_click=_fix,
                      args=(key, issue.variable, issue.suggestion))
    for issue in check.report.warnings:
        message = widgets.as_message(issue.message)
        st.caption(f"⚠ {message} — guard it with {widgets.as_code(issue.suggestion)}" if issue.suggestion else message)
    if check.render_error:
        st.error(f"This row does not render: {widgets.as_message(check.render_error)}")
    return source, check


def live_card(fmt: Format, checks: Mapping[str, FieldCheck], row_number: int) -> None:
    """The chosen row rendered the way the platform shows it (Reddit: Markdown body, plain title)."""
    out = {name: c.rendered for name, c in checks.items() if c.rendered}
    with st.container(border=True):
        sub = out.pop("subreddit", None) if fmt.platform == "reddit" else None
        st.caption((f"r/{plain(sub)} · " if sub else "") + f"row {row_number:,}")
        title = out.pop("title", None) or out.pop("headline", None)
        if title:
            st.markdown(f"#### {plain(title)}")
        body = out.pop("body", None)
        if body and fmt.field("body").kind == "markdown":
            st.markdown(reddit_markdown(body))
        elif body:
            st.markdown(plain(body))
        for name, value in out.items():
            if fmt.field(name).kind == "bool":  # a flag reads yes/no, whatever the column's spelling
                value = "yes" if value.strip().lower() in ("true", "1", "yes", "y", "on") else "no"
            st.caption(f"{plain(fmt.field(name).label)}: {plain(value[:300])}")
        if not title and not body and not out:
            st.caption("Write a field to see it rendered here.")


def versions_panel(store: Store, ctx: Context, t: TemplateInfo, editable: bool) -> None:
    """Every kept version, newest first; restore saves an older one as a new version."""
    history = widgets.attempt(lambda: templates.versions(store, ctx, t.id)) or []
    with st.expander(f"Version history ({len(history):,})"):
        for v in history:
            a, b = st.columns([4, 1], vertical_alignment="center")
            when = widgets.fmt_when(v.saved_at) if v.saved_at else "—"
            note = f" · {v.note}" if v.note else ""
            a.markdown(f"**v{v.version}**{' (current)' if v.version == t.version else ''} · {when} · "
                       f"{plain(v.saved_by)}{plain(note)}")
            a.caption(plain(" · ".join(f"{k}: {s[:80]}" for k, s in v.fields.items())))
            if editable and v.version != t.version and b.button("Restore", key=f"te_restore_{v.version}"):
                with widgets.user_errors():
                    templates.restore_version(store, ctx, t.id, v.version)
                    forget_drafts(str(t.id))
                    st.session_state["te_flash"] = f"Restored version {v.version} as version {t.version + 1}."
                    st.rerun()


def save_bar(store: Store, ctx: Context, t: TemplateInfo | None, fmt: Format, values: dict[str, str]) -> None:
    """Save (a new version), Duplicate and Delete with confirmation; for a new template, a name and Save."""
    if t is None:
        with st.form("te_new", border=False):
            a, b = st.columns([3, 1], vertical_alignment="bottom")
            name = a.text_input("Name", key="te_name", placeholder="e.g. Launch threads")
            if b.form_submit_button("Save template", type="primary", width="stretch"):
                with widgets.user_errors():
                    created = templates.create_template(store, ctx, name, fmt.key, values)
                    forget_drafts(f"{NEW}_{fmt.key}")
                    st.session_state["te_flash"] = f"Saved {widgets.as_text(repr(created.name))} as version 1."
                    request_pick(str(created.id))
                    st.rerun()
        return
    dirty = {k: v for k, v in values.items() if v.strip()} != t.fields
    a, b, c, d = st.columns([2, 1, 1, 2], vertical_alignment="center")
    if a.button(f"Save as version {t.version + 1}", type="primary", disabled=not dirty, key="te_save",
                width="stretch"):
        with widgets.user_errors():
            saved = templates.save_template(store, ctx, t.id, values, expected_version=t.version)
            forget_drafts(str(t.id))
            st.session_state["te_flash"] = f"Saved {widgets.as_text(repr(saved.name))} as version {saved.version}."
            st.rerun()
    if b.button("Duplicate", key="te_duplicate", width="stretch"):
        with widgets.user_errors():
            copy = templates.duplicate_template(store, ctx, t.id)
            st.session_state["te_flash"] = f"Duplicated as {widgets.as_text(repr(copy.name))}."
            request_pick(str(copy.id))
            st.rerun()
    if c.button("Delete", key="te_delete", width="stretch"):
        st.session_state["te_confirm_delete"] = str(t.id)
    d.caption("Unsaved changes" if dirty else f"Saved · version {t.version:,}")
    if st.session_state.get("te_confirm_delete") == str(t.id):
        st.warning(f"Delete {widgets.as_text(repr(t.name))} and all {t.version:,} of its versions? This cannot be undone.")
        yes, no, _ = st.columns([1, 1, 4])
        if yes.button("Yes, delete", type="primary", key="te_delete_yes"):
            with widgets.user_errors():
                name = templates.delete_template(store, ctx, t.id)
                forget_drafts(str(t.id))
                st.session_state.pop("te_confirm_delete", None)
                st.session_state["te_flash"] = f"Deleted {widgets.as_text(repr(name))}."
                request_pick(NEW)
                st.rerun()
        if no.button("Cancel", key="te_delete_no"):
            st.session_state.pop("te_confirm_delete", None)
            st.rerun()


def summary(fmt: Format, fields: Mapping[str, str], *, expanded: bool = False) -> None:
    """A template's fields, read-only (the preview shows what it renders; writing happens on Templates)."""
    with st.expander(f"Template fields ({widgets.plural(len(fields), 'field')})", expanded=expanded):
        if not fields:
            st.caption("No field written yet.")
        for name, text in fields.items():
            spec = fmt.field(name) if name in fmt.field_names else None
            st.caption(plain(spec.label if spec else name))
            st.code(text, language="django", wrap_lines=True)


def open_in_editor(fmt_key: str, template_id: str | None, fields: Mapping[str, str] | None = None) -> None:
    """Go to Templates with a saved template picked, or a new one of `fmt_key` pre-filled with `fields`
    (the preview's starter). Call it from a button callback or before the Templates page renders."""
    request_pick(template_id or NEW)
    if template_id is None:
        platform = fmt_key.split("/", 1)[0]
        st.session_state["te_platform"] = platform
        st.session_state[f"te_format_{platform}"] = fmt_key
        drafts = st.session_state.setdefault(DRAFTS, {})
        for name, text in (fields or {}).items():
            key = field_key(f"{NEW}_{fmt_key}", name)
            drafts[key] = text
            st.session_state.pop(key, None)


def resume_drafts(stored: Mapping[str, str], workspace: str) -> None:
    """Bring back the user's unsaved editor text from the store (once per browser session and workspace);
    text typed in this session wins."""
    if st.session_state.get("te_drafts_for") == workspace:
        return
    mine = st.session_state.get(DRAFTS, {}) if st.session_state.get("te_drafts_for") in (None, workspace) else {}
    st.session_state[DRAFTS] = {**stored, **mine}
    st.session_state["te_drafts_for"] = workspace


def unsaved(saved: Sequence[TemplateInfo], current: TemplateInfo | None, scope: str,
            values: Mapping[str, str]) -> dict[str, str]:
    """The editor text worth keeping as a draft: what differs from the saved template, for scopes that still
    exist (a new template of some format, or the current version of a saved one)."""
    live = {f"{t.id}_v{t.version}" for t in saved}
    prefixes = (field_key(NEW, ""), *(field_key(sc, "") for sc in live))
    drafts = {k: v for k, v in st.session_state.get(DRAFTS, {}).items()
              if isinstance(v, str) and k.startswith(prefixes)}
    base = current.fields if current else {}
    for name, text in values.items():
        key = field_key(scope, name)
        if text == base.get(name, "") or (not text and name not in base):
            drafts.pop(key, None)
    return drafts
