"""The 'Data changes' part of a campaign set's page: how it follows its data set, the diff of a new version
(counts and samples of each kind, by field) before anything changes, Apply / Dismiss, and conflicts of hand
edits with keep mine / take new. Sets made paused show their approval here too."""

from __future__ import annotations

import uuid
from typing import Any

import polars as pl
import streamlit as st

from studio import set_follow
from studio.context import Context
from studio.store.session import Store
from studio.ui import widgets

MODES = {"review": "Review each change, then apply", "auto": "Apply changes automatically",
         "off": "Do not follow (only Regenerate)"}
KIND_LABELS = {"added": "Added", "removed": "Removed", "changed": "Changed", "unchanged": "Unchanged"}
EFFECT = {"added": "new variations", "removed": "variations paused, unposted items cancelled",
          "changed": "text re-rendered (hand edits become conflicts)", "unchanged": "left as they are"}
STATUS = {"review": "waits for review", "applying": "is being applied", "applied": "was applied",
          "dismissed": "was dismissed", "superseded": "was replaced by a newer diff", "error": "failed"}
CELL = 80


def _cut(value: Any) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= CELL else text[:CELL - 1] + "…"


def panel(store: Store, ctx: Context, set_id: uuid.UUID, *, can_edit: bool) -> None:
    """Everything about following the data, for one set."""
    status = widgets.attempt(lambda: set_follow.follow_status(store, ctx, set_id))
    if status is None:
        return
    if status.held:
        a, b = st.columns([4, 1])
        a.warning("This set was made **paused**: nothing of it publishes until a member approves it.")
        if b.button("Approve for publishing", key="follow_release", disabled=not can_edit):
            with widgets.user_errors():
                set_follow.release(store, ctx, set_id)
                st.rerun()
    recent = widgets.attempt(lambda: set_follow.diffs(store, ctx, set_id, limit=5)) or []
    pending = next((d for d in recent if d.status in ("review", "applying")), None)
    latest = pending or (recent[0] if recent else None)
    conflicts_open = sum(d.conflicts_open for d in recent)
    opened = f"follow_open_{set_id}"  # stays open after this member applied or dismissed from it
    label = "Data changes" + (f" · version {latest.to_version} {STATUS[latest.status]}" if latest else "") \
        + (f" · {widgets.plural(conflicts_open, 'conflict')}" if conflicts_open else "")
    expanded = pending is not None or conflicts_open > 0 or bool(st.session_state.get(opened)) \
        or (latest is not None and latest.status == "error")
    with st.expander(label, expanded=expanded):
        _mode(store, ctx, set_id, status, can_edit)
        if pending is None and status.behind and status.mode != "auto":
            st.info(f"{widgets.as_text(repr(status.dataset_name))} has version {status.data_version}; this set is on version "
                    f"{status.set_version}.")
            if st.button("Check for changes", key="follow_check", disabled=not can_edit):
                with widgets.user_errors():
                    set_follow.prepare(store, ctx, set_id)
                    st.rerun()
        if latest is None:
            st.caption("No new version of the data since this set was generated.")
        else:
            _diff(store, ctx, latest, can_edit)
        _conflicts(store, ctx, set_id, can_edit)


def _mode(store: Store, ctx: Context, set_id: uuid.UUID, status: set_follow.FollowStatus, can_edit: bool) -> None:
    keys = list(MODES)
    a, b = st.columns([2, 3])
    mode = a.selectbox("When the data set gets a new version", keys, index=keys.index(status.mode),
                       format_func=MODES.__getitem__, key=f"follow_mode_{set_id}", disabled=not can_edit)
    if mode != status.mode:
        with widgets.user_errors():
            set_follow.set_follow_mode(store, ctx, set_id, mode)
            st.rerun()
    b.caption(f"Rows are matched by **{widgets.as_text(status.key_column)}**, so a row moving in the file changes nothing."
              if status.key_column else
              "Rows are matched by position (the data set had no key column when this set was made): a row "
              "inserted in the middle changes every row after it.")


def _diff(store: Store, ctx: Context, d: set_follow.DiffInfo, can_edit: bool) -> None:
    st.markdown(f"**Version {d.from_version} → {d.to_version}** {STATUS[d.status]}"
                + (" (automatically)" if d.automatic and d.status == "applied" else "") + ".")
    count = {k: int(d.counts.get(k, 0)) for k in (*KIND_LABELS, "moved")}
    if not (count["added"] or count["removed"] or count["changed"]):
        moved = f" ({count['moved']:,} at another position)" if count["moved"] else ""
        st.info(f"**Nothing changed** in the columns this set uses: all {widgets.plural(count['unchanged'], 'row')} "
                f"are the same{moved}, so no text needs rewriting.")
    else:
        cols = st.columns(5)
        for col, kind in zip(cols, (*KIND_LABELS, "moved"), strict=True):
            col.metric(KIND_LABELS.get(kind, "Moved"), widgets.fmt_int(count[kind]),
                       help=EFFECT.get(kind, "rows at another position (a key column keeps their variations)"))
        if d.by_field:
            st.caption("Changed rows by field: " + ", ".join(f"**{widgets.as_text(name)}** {n:,}" for name, n in
                                                              sorted(d.by_field.items(), key=lambda kv: -kv[1])))
        tabs = st.tabs([f"{KIND_LABELS[k]} ({count[k]:,})" for k in KIND_LABELS])
        for tab, kind in zip(tabs, KIND_LABELS, strict=True):
            with tab:
                _samples(kind, d.samples.get(kind) or [], count[kind], d.key_column)
    if d.status == "review":
        if d.error:
            st.error(widgets.as_message(d.error))
        a, b, _ = st.columns([1, 1, 3])
        if a.button("Apply", key=f"diff_apply_{d.id}", type="primary", disabled=not can_edit or bool(d.error)):
            st.session_state[f"follow_open_{d.set_id}"] = True
            with widgets.user_errors():
                set_follow.apply(store, ctx, d.id)
                st.rerun()
        if b.button("Dismiss", key=f"diff_dismiss_{d.id}", disabled=not can_edit,
                    help="Keep the set on its version; the next new version brings a new diff."):
            st.session_state[f"follow_open_{d.set_id}"] = True
            with widgets.user_errors():
                set_follow.dismiss(store, ctx, d.id)
                st.rerun()
    elif d.status == "applying":
        _applying(store, ctx, d.id)
    elif d.status == "applied":
        r = d.result
        st.success(f"Written: {r.get('inserted', 0):,} new, {r.get('rewritten', 0):,} re-rendered, "
                   f"{r.get('moved', 0) + r.get('restored', 0):,} moved or restored, {r.get('paused', 0):,} paused, "
                   f"{widgets.plural(r.get('cancelled_items', 0), 'scheduled item')} cancelled, "
                   f"{widgets.plural(r.get('conflicts', 0), 'conflict')}.")
    elif d.status == "error":
        st.error(widgets.as_message(d.error or ""))


@st.fragment(run_every=1.0)
def _applying(store: Store, ctx: Context, diff_id: uuid.UUID) -> None:
    """The apply's progress, read from the store every second; the page reruns once it has ended."""
    d = widgets.attempt(lambda: set_follow.get_diff(store, ctx, diff_id))
    if d is None or d.status != "applying":
        st.rerun()
        return
    st.progress(d.chunks_done / max(1, d.chunks_total), text=f"Applying: {d.chunks_done:,} of {d.chunks_total:,} parts")
    if d.stalled():
        st.warning("Nothing has moved for a few minutes: the worker applying it may have stopped.")
        if st.button("Resume", key=f"diff_resume_{d.id}"):
            with widgets.user_errors():
                set_follow.resume(store, ctx, d.id)


# our own columns of a sample table, named so no column of the data set can take their place (the data's
# compared columns never start with "__", see engine.generation.diff.used_columns); their headers are labels
KEY, ROW, FIELD, BEFORE, AFTER = "__key", "__row", "__field", "__before", "__after"


def _labels(kind: str, key_column: str | None) -> dict[str, Any]:
    matched = (f"This row's {key_column!r}: rows are matched across versions by it" if key_column else
               "This row's position: the data set had no key column when the set was made")
    where = "old" if kind == "removed" else "new"
    return {KEY: st.column_config.TextColumn("Row key", help=matched),
            ROW: st.column_config.NumberColumn("Row", format="%,d", help=f"The row's number in the {where} version"),
            FIELD: st.column_config.TextColumn("Column", help="The column of the data set that differs"),
            BEFORE: st.column_config.TextColumn("Before", help="Its value in the old version"),
            AFTER: st.column_config.TextColumn("After", help="Its value in the new version")}


def _samples(kind: str, rows: list[dict[str, Any]], total: int, key_column: str | None = None) -> None:
    if not rows:
        st.caption(f"No {KIND_LABELS[kind].lower()} rows.")
        return
    if kind == "changed":
        flat = [{KEY: r["key"], ROW: r["row"] + 1, FIELD: name, BEFORE: _cut(old), AFTER: _cut(new)}
                for r in rows for name, (old, new) in r["fields"].items()]
        frame = pl.DataFrame(flat, schema={KEY: pl.String, ROW: pl.Int64, FIELD: pl.String,
                                           BEFORE: pl.String, AFTER: pl.String})
    else:
        names = list(dict.fromkeys(n for r in rows for n in r["values"] if n not in (KEY, ROW)))
        frame = pl.DataFrame([{KEY: r["key"], ROW: r["row"] + 1, **{n: _cut(r["values"].get(n)) for n in names}}
                              for r in rows], schema={KEY: pl.String, ROW: pl.Int64, **dict.fromkeys(names, pl.String)})
    st.dataframe(frame, hide_index=True, width="stretch", column_config=_labels(kind, key_column))
    if total > len(rows):
        st.caption(f"The first {len(rows):,} of {total:,}.")


def _conflicts(store: Store, ctx: Context, set_id: uuid.UUID, can_edit: bool) -> None:
    found = widgets.attempt(lambda: set_follow.conflicts(store, ctx, set_id)) or []
    if not found:
        return
    st.warning(f"{widgets.plural(len(found), 'hand edit')} conflict with the new data: keep yours or take the new text.")
    for c in found[:20]:
        names = [n for n in dict.fromkeys([*c.new, *c.mine]) if str(c.mine.get(n, "")) != str(c.new.get(n, ""))]
        left, right, act = st.columns([3, 3, 1])
        left.markdown(f"**{widgets.as_text(c.row_key or 'row')} · mine**  \n"
                      + "  \n".join(f"{widgets.as_text(n)}: {widgets.as_text(_cut(c.mine.get(n)))}" for n in names))
        right.markdown("**new**  \n" + "  \n".join(f"{widgets.as_text(n)}: {widgets.as_text(_cut(c.new.get(n)))}" for n in names))
        if act.button("Keep mine", key=f"conflict_mine_{c.id}", disabled=not can_edit):
            with widgets.user_errors():
                set_follow.resolve(store, ctx, set_id, [c.id], take_new=False)
                st.rerun()
        if act.button("Take new", key=f"conflict_new_{c.id}", disabled=not can_edit):
            with widgets.user_errors():
                set_follow.resolve(store, ctx, set_id, [c.id], take_new=True)
                st.rerun()
    if len(found) > 1:
        a, b, _ = st.columns([1, 1, 3])
        ids = [c.id for c in found]
        if a.button(f"Keep all mine ({len(ids):,})", key="conflict_all_mine", disabled=not can_edit):
            with widgets.user_errors():
                set_follow.resolve(store, ctx, set_id, ids, take_new=False)
                st.rerun()
        if b.button(f"Take all new ({len(ids):,})", key="conflict_all_new", disabled=not can_edit):
            with widgets.user_errors():
                set_follow.resolve(store, ctx, set_id, ids, take_new=True)
                st.rerun()
