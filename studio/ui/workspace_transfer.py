"""Settings: import a workspace export as a new workspace (owners and admins), with a confirmation step."""

from __future__ import annotations

from typing import Any

import streamlit as st

from studio import workspace_import
from studio.ui import state, widgets

DONE = "ws_import_done"
UPLOADER = "ws_import_file_n"
SHOWN = {  # what the confirmation lists, in this order
    "datasets": ("data set", "data sets"), "dataset_versions": ("version", "versions"),
    "templates": ("template", "templates"), "rule_sets": ("rule set", "rule sets"),
    "campaign_sets": ("campaign set", "campaign sets"), "variations": ("variation", "variations"),
    "notebooks": ("notebook", "notebooks"), "publish_items": ("planned or sent post", "planned or sent posts"),
    "feed_sources": ("data set fed from a URL", "data sets fed from a URL"),
    "webhook_endpoints": ("webhook endpoint", "webhook endpoints"), "word_lists": ("word list", "word lists"),
    "notification_preferences": ("notification choice", "notification choices"),
    "workspace_members": ("member", "members"), "invitations": ("invitation", "invitations"),
    "audit_events": ("audit event", "audit events"),
}


def _count(n: int, words: tuple[str, str]) -> str:
    return f"{n:,} {words[0] if n == 1 else words[1]}"


def summary(counts: dict[str, int]) -> str:
    """'2 data sets, 3 versions, 1 template, …' (only what the archive holds)."""
    return ", ".join(_count(counts[k], words) for k, words in SHOWN.items() if counts.get(k))


def import_section(store: Any, ctx: Any) -> None:
    st.subheader("Import a workspace")
    if message := st.session_state.pop(DONE, None):
        st.success(message)
    st.caption("Restore a zip made by *Export everything* as a **new** workspace (this one is not changed). "
               "Members of this workspace found in the archive join with their role; everyone else gets a pending "
               "invitation to resend. Secrets stay out of an export: Reddit accounts arrive to reconnect, webhook "
               "endpoints disabled and feeds that used credentials paused, each saying what to do.")
    n = st.session_state.get(UPLOADER, 0)
    upload = st.file_uploader("Workspace export (.zip)", type=["zip"], key=f"ws_import_file_{n}")
    if upload is None:
        return
    data = upload.getvalue()
    found = widgets.attempt(lambda: workspace_import.preview(store, ctx, data))
    if found is None:
        return
    made = found.created_at[:16].replace("T", " ")
    st.markdown(f"**{widgets.as_text(found.source_name)}**, exported {made} UTC: {summary(found.counts) or 'an empty workspace'}.")
    name = st.text_input("Name of the new workspace", value=f"{found.source_name} (imported)", key=f"ws_import_name_{n}")
    sure = st.checkbox("Create a new workspace from this archive", key=f"ws_import_ok_{n}")
    if st.button("Import as a new workspace", key="ws_import_go", type="primary", disabled=not sure):
        with st.spinner("Importing…"):
            done = widgets.attempt(lambda: workspace_import.import_zip(store, ctx, data, name=name))
        if done is not None:
            people = f" {_count(len(done.invited), ('pending invitation', 'pending invitations'))} to resend." \
                if done.invited else ""
            st.session_state[DONE] = f"Imported {widgets.as_text(repr(done.name))}: {summary(done.counts)}. You are in it now.{people}"
            st.session_state[UPLOADER] = n + 1  # a fresh uploader: the archive is not offered twice
            if done.todo:  # secrets that stayed behind: what to do about them, as a list under the message
                st.session_state[DONE] += "\n\n" + "\n".join(f"- {widgets.as_text(t)}" for t in done.todo)
            state.request_workspace(done.workspace_id)
            st.rerun()
