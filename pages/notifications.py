"""Notifications: what happened while you were away (runs, posts, feeds, accounts), and what reaches you."""

from __future__ import annotations

import streamlit as st

from studio import mail
from studio.ui import notifications as ui
from studio.ui import resources, state

ctx = state.page_context("Notifications")
store = resources.store()
inbox, prefs = st.tabs(["Inbox", "Preferences"])
with inbox:
    ui.inbox(store, ctx)
with prefs:
    ui.preferences(store, ctx, mail_on=mail.configured(store.settings))
