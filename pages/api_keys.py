"""Workspace → API keys: owners and admins create keys for the public API (/api/v1), see their use, revoke them."""

from __future__ import annotations

import streamlit as st

from studio.api import keys
from studio.context import Permission, allows
from studio.ui import api_keys as ui
from studio.ui import resources, sidebar, state, widgets

ctx = state.page_context("API keys")
store = resources.store()
current = sidebar.current_membership()
if current is None:
    st.stop()
st.caption("Keys let n8n, Zapier or your scripts use this workspace through the HTTP API: "
           "[API reference](/api/v1/docs). Each call is recorded in the audit trail and counts toward usage.")
if not allows(current.role, Permission.MANAGE_INTEGRATIONS):
    st.info("Owners and admins manage API keys. Ask one of them for a key.")
    st.stop()

ui.create_form(current.role, lambda name, scopes, role, expires: keys.create_key(store, ctx, name, scopes, role,
                                                                                 expires_at=expires))
ui.show_created()
st.subheader("Keys of this workspace")
ui.key_list(widgets.attempt(lambda: keys.list_keys(store, ctx)) or [], lambda k: keys.revoke_key(store, ctx, k.id))
