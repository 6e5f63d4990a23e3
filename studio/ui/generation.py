"""Widgets for preview and generation: figures, platform-like cards, the progress of a run."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

import polars as pl
import streamlit as st

from engine.platforms import get_format
from studio import campaigns
from studio.context import Context
from studio.store.base import utcnow
from studio.store.session import Store
from studio.ui import cards as ui_cards
from studio.ui import widgets


def figures(stats: object) -> None:
    """Whole-data-set numbers: rows, skipped, duplicates, violations, kept."""
    if stats is None:
        return
    c = [*st.columns(3), *st.columns(3)]  # two rows: six figures do not fit one row of the preview's column
    c[0].metric("Rows", f"{stats.total_rows:,}")
    c[1].metric("Skipped by rules", f"{stats.skipped_by_rules:,}")
    c[2].metric("Duplicates", f"{stats.duplicates:,}")
    c[3].metric("Over a limit", f"{stats.dropped_by_constraints:,}",
                help="Variations that still break a limit after the strategy: they are not generated.")
    c[4].metric("Repaired", f"{sum(stats.fixed.values()):,}",
                help="Values the strategy cut or replaced: those variations are generated, and valid.")
    c[5].metric("Variations", f"{stats.kept:,}")
    bad = {k: v for k, v in stats.violations.items() if v}
    if bad:  # the same plan columns as the figures: each value over a limit, then what the strategy made of it
        with st.expander(f"Values over a limit in {widgets.plural(len(bad), 'field')}"):
            for name, count in bad.items():
                st.markdown(f"**{name}**: {widgets.plural(count, 'value')} over a limit — "
                            f"{stats.fixed.get(name, 0):,} repaired in generated variations, "
                            f"{stats.over_limit.get(name, 0):,} still over (not generated)")
                sample = stats.violating_rows.get(name, [])[:20]
                if sample:
                    st.dataframe(pl.DataFrame([{"row": v.row + 1, "value": str(v.value)[:120], "why": v.reason,
                                                "outcome": "repaired" if v.repaired else f"not generated: {v.left}"}
                                               for v in sample]), hide_index=True, width="stretch")


def cards(variations: pl.DataFrame | list[dict], fmt: str, rule_names: Mapping[str, str] | None = None, *,
          limit: int = 20) -> None:
    """The first variations as cards that look like the platform's preview (studio/ui/cards.py), each with
    its row, tags and the rules that fired on it (names from `rule_names`, rule id → name). Takes preview
    rows (`__row`, 0-based) or stored ones (`row`, 1-based)."""
    rule_names = rule_names or {}
    rows = variations.head(limit).to_dicts() if isinstance(variations, pl.DataFrame) else list(variations)[:limit]
    if not rows:
        st.info("No variation survives the rules and limits. Loosen a rule or shorten a template.")
        return
    platform, name = fmt.split("/", 1)
    spec = get_format(platform, name)
    st.markdown(ui_cards.CSS, unsafe_allow_html=True)
    for row in rows:
        number = int(row["__row"]) + 1 if row.get("__row") is not None else int(row.get("row") or 0)
        meta = f"row {number}"  # the card itself names the subreddit
        labels = [*(row.get("__tags") or row.get("tags") or []), *(row.get("__groups") or row.get("groups") or [])]
        if labels:  # what the rules' add_tag / add_to_group actions gave this variation
            meta += " · " + " ".join(widgets.as_code(str(label)) for label in labels)
        fired = [rule_names.get(r, r) for r in row.get("__rules_fired") or []]
        if fired:
            meta += " · rules: " + ", ".join(widgets.as_text(str(name)) for name in fired)
        if row.get("status"):
            meta += f" · {row['status']}" + (" · edited" if row.get("edited") else "") + (" · conflict" if row.get("conflict") else "")
        st.caption(meta)
        st.markdown(ui_cards.card_html(spec, row), unsafe_allow_html=True)
        if row.get("__violations"):
            st.warning(widgets.as_message(str(row["__violations"])))
        if row.get("__fixes"):  # what the constraint strategy cut or replaced on this variation
            st.caption(f"Repaired: {widgets.as_message(str(row['__fixes']))}")




def start(store: Store, ctx: Context, set_id: uuid.UUID) -> None:
    campaigns.generate(store, ctx, set_id)


def progress(store: Store, ctx: Context, set_id: uuid.UUID, *, set_status: str | None = None) -> None:
    """A progress bar that survives navigation and reloads (it reads the run from the store); it refreshes
    every second while the run is going and stops polling once it has ended. `set_status`: the status the
    page drew the set with; a run that ended since reruns the page once, so the set's status and count
    are not left saying 'generating'."""
    info = campaigns.latest_run(store, ctx, set_id)
    if info is None or info.finished:
        seen = f"progress_ended_{info.id if info else ''}"
        if info is not None and set_status == "generating" and not st.session_state.get(seen):
            st.session_state[seen] = True
            st.rerun()
        _progress(store, ctx, info)
    else:
        _live_progress(store, ctx, set_id)


@st.fragment(run_every=1.0)
def _live_progress(store: Store, ctx: Context, set_id: uuid.UUID) -> None:
    info = campaigns.latest_run(store, ctx, set_id)
    _progress(store, ctx, info)
    if info is None or info.finished:
        st.rerun()  # the whole page: the set's status and counts changed, and the drawn panel no longer polls


def _progress(store: Store, ctx: Context, info: campaigns.RunInfo | None) -> None:
    if info is None:
        st.caption("Not generated yet.")
        return
    label = {"queued": "Queued…", "running": "Generating…", "done": "Done", "cancelled": "Cancelled", "error": "Failed"}[info.status]
    st.progress(info.fraction, text=f"{label} {info.rows_done:,} / {info.rows_total:,} rows · "
                                     f"{info.chunks_done}/{widgets.plural(info.chunks_total, 'chunk')} · "
                                     f"{widgets.plural(info.variations, 'variation')}")
    if info.status == "error":
        st.error(widgets.as_message(info.error or ""))
    if info.status == "done" and info.diff:
        d = info.diff
        st.caption(f"Changes since the last run: {d.get('added', 0):,} added, {d.get('removed', 0):,} removed, "
                   f"{d.get('changed', 0):,} changed, {d.get('kept_edits', 0):,} hand edits kept. Took {widgets.fmt_duration(info.seconds)}.")
    if info.stalled():
        minutes = int((utcnow() - info.last_activity).total_seconds() // 60) if info.last_activity else 0
        st.warning(f"No progress for {minutes} minutes: the worker running this set may have stopped. "
                   "Resume queues the unfinished chunks again; nothing is generated twice.")
        if st.button("Resume generation", key=f"resume_{info.id}", type="primary"):
            queued = campaigns.resume(store, ctx, info.id)
            st.success(f"Queued {queued} unfinished chunk{'s' if queued != 1 else ''} again.")
    if not info.finished and st.button("Cancel generation", key=f"cancel_{info.id}"):
        campaigns.cancel(store, ctx, info.id)
        st.rerun()
