"""Widgets of the data sources page for URL data sets (issue 19): the "From a URL" form, a feed's status
with Fetch now / Resume / schedule, and the key column picker with its report."""

from __future__ import annotations

import datetime as dt
import uuid

import polars as pl
import streamlit as st

from studio import dataset_keys, feeds
from studio.context import Context
from studio.feed_fetch import FORMATS
from studio.store.session import Store
from studio.ui import widgets
from studio.ui.datasets import done

FORMAT_LABEL = {"auto": "Detect (content type, address, content)", "csv": "CSV", "tsv": "TSV", "json": "JSON",
                "jsonl": "JSON Lines", "xlsx": "Excel (.xlsx)", "parquet": "Parquet",
                "xml": "Product feed XML (Merchant Center RSS/Atom)"}
AUTH_LABEL = {"none": "None", "basic": "User name and password (basic auth)", "header": "A request header (API key)"}
TRIGGER_LABEL = {"create": "Creation", "manual": "Fetch now", "schedule": "Schedule"}  # who started a fetch
OUTCOME_LABEL = {"new_version": "New version", "unchanged": "Unchanged", "not_modified": "Not modified (304)",
                 "failed": "Failed"}


def _schedule_label(minutes: int | None) -> str:
    named = {v: k for k, v in feeds.INTERVALS.items()}
    if minutes in named:
        return named[minutes].capitalize()
    assert minutes is not None
    return f"Every {minutes} minutes" if minutes < 60 else f"Every {minutes / 60:g} hours"


def _key(base: str) -> str:
    """A field's key, renewed after each save so the fields (the secret above all) come back empty."""
    n = st.session_state.get("feed_form_gen", 0)
    return base if n == 0 else f"{base}_{n}"


def _clear_fields() -> None:
    st.session_state["feed_form_gen"] = st.session_state.get("feed_form_gen", 0) + 1


def _credential_inputs(prefix: str) -> tuple[str, str, str]:
    kind = st.radio("Credentials", list(AUTH_LABEL), format_func=AUTH_LABEL.__getitem__, horizontal=True,
                    key=_key(f"{prefix}_auth"))
    username = secret = ""
    if kind != "none":
        left, right = st.columns(2)
        username = left.text_input("User name" if kind == "basic" else "Header name", key=_key(f"{prefix}_user"),
                                   placeholder="" if kind == "basic" else "X-Api-Key", max_chars=200)
        secret = right.text_input("Password" if kind == "basic" else "Header value", type="password",
                                  key=_key(f"{prefix}_secret"), help="Stored encrypted; never shown again.")
    return kind, username, secret


def url_form(store: Store, ctx: Context) -> None:
    """A new data set from what an address serves now, fetched again on a schedule."""
    with st.expander("From a URL (a feed, a Google Sheet, an export)", expanded=False):
        st.caption("CSV, TSV, JSON, Excel, Parquet or a Merchant Center product feed (RSS/Atom XML) at an "
                   "http(s) address. A Google Sheet: File → Share → Anyone with the link, then use "
                   "…/export?format=csv. Up to "
                   f"{store.settings.max_upload_mb} MB; a new version is stored only when the data changed.")
        url = st.text_input("Address", key=_key("feed_url"), placeholder="https://shop.example/feed.xml", max_chars=2000)
        left, mid, right = st.columns([2, 2, 2])
        name = left.text_input("Name (optional)", key=_key("feed_name"), placeholder="defaults to the file name")
        fmt = mid.selectbox("Format", FORMATS, format_func=FORMAT_LABEL.__getitem__, key="feed_format")
        schedule = right.selectbox("Fetch again", list(feeds.INTERVALS), index=2, key="feed_schedule",
                                   format_func=str.capitalize)
        kind, username, secret = _credential_inputs("feed")
        if st.button("Create and fetch now", type="primary", key="feed_go", disabled=not url.strip()):
            with widgets.user_errors(), st.spinner("Fetching…"):
                status = feeds.create_from_url(store, ctx, url, name=name or None, fmt=fmt, auth_kind=kind,
                                               username=username, secret=secret,
                                               interval_minutes=feeds.INTERVALS[schedule])
                _clear_fields()
                done("Fetched the address into a new data set.", status.dataset_id)


def _when(at: dt.datetime | None, empty: str = "—") -> str:
    return widgets.fmt_when(at) if at else empty


def feed_panel(store: Store, ctx: Context, status: feeds.FeedStatus) -> None:
    """Where the data comes from, how the last fetches went, and what a person can do about it."""
    shown = status.url if len(status.url) <= 90 else status.url[:87] + "…"
    st.markdown(f"**Fetched from** {widgets.as_code(shown)}")
    schedule = _schedule_label(status.interval_minutes) if status.interval_minutes else "Only when you fetch it"
    facts = [f"Format: {FORMAT_LABEL.get(status.format, status.format)}", f"Schedule: {schedule}",
             f"Credentials: {widgets.as_text(status.auth_label or 'none')}"]
    st.caption(" · ".join(facts))
    a, b, c = st.columns(3)
    last = _when(status.last_fetch_at)
    if status.last_outcome:
        last += f" · {OUTCOME_LABEL.get(status.last_outcome, status.last_outcome)}"
    _fact(a, "Last fetch", last)
    _fact(b, "Last change", _when(status.last_change_at))
    _fact(c, "Next fetch", "Paused" if status.paused else
          "Queued now" if status.queued_at else _when(status.next_fetch_at, "Not scheduled"))
    if status.paused:
        st.warning(widgets.as_text(status.paused_reason or "The schedule is paused."))
        if st.button("Resume the schedule", key=f"feed_resume_{status.dataset_id}", type="primary"):
            with widgets.user_errors():
                feeds.resume(store, ctx, status.dataset_id)
                done("The schedule runs again; the next sweep fetches it.", status.dataset_id)
    elif status.last_error:
        st.error(f"The last fetch failed ({status.consecutive_failures} in a row; the schedule pauses at "
                 f"{feeds.PAUSE_AFTER}): {widgets.as_text(status.last_error)}")
    if st.button("Fetch now", key=f"feed_now_{status.dataset_id}"):
        with widgets.user_errors(), st.spinner("Fetching…"):
            result = feeds.refresh(store, ctx, status.dataset_id)
            st.session_state["flash_failed"] = result.outcome == "failed"  # the page shows it as an error
            done(widgets.as_text(result.message), status.dataset_id)
    with st.expander("Change the address, format, schedule or credentials"):
        _settings_form(store, ctx, status)
    if status.fetches:
        st.caption("Recent fetches")
        st.dataframe(pl.DataFrame({
            "When": [widgets.fmt_when(f.at) for f in status.fetches],
            "By": [TRIGGER_LABEL.get(f.trigger, f.trigger) for f in status.fetches],
            "Outcome": [OUTCOME_LABEL.get(f.outcome, f.outcome) for f in status.fetches],
            "HTTP": [str(f.http_status or "") for f in status.fetches],
            "Size": [widgets.fmt_bytes(f.size_bytes) if f.size_bytes is not None else "" for f in status.fetches],
            "Version": [str(f.version or "") for f in status.fetches],
            "Reason": [f.error or "" for f in status.fetches],
        }), hide_index=True, width="stretch")


def _fact(column: object, label: str, value: str) -> None:
    column.caption(label)  # type: ignore[attr-defined]
    column.markdown(f"**{value}**")  # type: ignore[attr-defined]


def _settings_form(store: Store, ctx: Context, status: feeds.FeedStatus) -> None:
    prefix = f"feed_edit_{status.dataset_id}"
    url = st.text_input("Address", value=status.url, key=f"{prefix}_url", max_chars=2000)
    left, right = st.columns(2)
    fmt = left.selectbox("Format", FORMATS, index=FORMATS.index(status.format), format_func=FORMAT_LABEL.__getitem__,
                         key=f"{prefix}_format")
    names = list(feeds.INTERVALS)
    current = next((k for k, v in feeds.INTERVALS.items() if v == status.interval_minutes), "daily")
    schedule = right.selectbox("Fetch again", names, index=names.index(current), key=f"{prefix}_schedule",
                               format_func=str.capitalize)
    change_login = st.checkbox(f"Change the credentials (now: {widgets.as_text(status.auth_label or 'none')})", key=f"{prefix}_login")
    kind, username, secret = _credential_inputs(prefix) if change_login else ("none", "", "")
    if st.button("Save", key=f"{prefix}_save"):
        with widgets.user_errors():
            feeds.update_source(store, ctx, status.dataset_id, url=url, fmt=fmt,
                                interval_minutes=feeds.INTERVALS[schedule],
                                auth_kind=kind if change_login else None, username=username, secret=secret)
            _clear_fields()
            done("Saved the feed's settings.", status.dataset_id)


def key_panel(store: Store, ctx: Context, dataset_id: uuid.UUID) -> None:
    """The column that names a row across versions, and how clean it is in the current version."""
    status = widgets.attempt(lambda: dataset_keys.key_status(store, ctx, dataset_id))
    if status is None:
        return
    st.markdown("**Row identity**")
    options = [None, *status.columns]
    index = options.index(status.column) if status.column in options else 0
    picked = st.selectbox(
        "Key column", options, index=index, key=f"key_column_{dataset_id}_{status.version}",
        format_func=lambda c: "(none)" if c is None else c,
        help="The column whose value names a product across versions (id, sku, g:id …): new versions are "
             "compared row by row on it. Detected from the column names until you pick one.")
    if picked != status.column:
        with widgets.user_errors():
            dataset_keys.set_key_column(store, ctx, dataset_id, picked)
            done(f"Key column: {widgets.as_text(picked or 'none')}.", dataset_id)
    if status.column is None:
        st.info("No key column: versions of this data set cannot be compared row by row. Pick the column that "
                "identifies a row.")
    elif status.report is not None:
        r = status.report
        detected = "" if status.chosen else " The key was detected from the column names; pick another if it is not."
        (st.success if r.clean else st.warning)(widgets.as_text(r.summary()) + detected)
