"""Settings → Webhooks & Slack: signed outgoing webhooks for other systems, and a Slack channel for people."""

from __future__ import annotations

import streamlit as st

from studio.context import Permission, allows
from studio.ui import resources, sidebar, state
from studio.ui import webhooks as ui

ctx = state.page_context("Webhooks & Slack")
store = resources.store()
current = sidebar.current_membership()
if current is None:
    st.stop()
if not allows(current.role, Permission.MANAGE_INTEGRATIONS):
    st.info("Owners and admins manage webhooks and the Slack channel. Your own notifications are under "
            "Notifications → Preferences.")
    st.stop()

st.subheader("Outgoing webhooks")
st.caption("Each event is POSTed as JSON to the endpoints subscribed to it, signed (`Dotoro-Signature`), "
           "retried with growing waits for 24 hours until your endpoint answers 2xx; redirects are not followed.")
ui.show_secret_once()
ui.add_form(store, ctx)
ui.endpoint_list(store, ctx)

st.subheader("Slack")
ui.slack_section(store, ctx)
