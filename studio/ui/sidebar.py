"""Sidebar: who is signed in, the workspace switcher, sign out."""

from __future__ import annotations

import uuid

import streamlit as st

from studio import tenancy
from studio.context import WorkspaceId
from studio.ui import auth as ui_auth
from studio.ui import resources, state, widgets


def workspace_switcher() -> tenancy.Membership | None:
    """Pick the active workspace among the user's memberships (re-read every run: removals apply at once)."""
    who = state.signed_in()
    if who is None:
        return None
    members = tenancy.memberships(resources.store(), who.user_id)
    with st.sidebar:
        st.markdown(f"**{widgets.as_text(who.name)}**")
        st.caption(widgets.as_text(who.email))
        if not members:
            st.warning("You are not a member of any workspace.")
            state.set_workspace(None)
        else:
            ids = [str(m.workspace_id) for m in members]
            labels = {str(m.workspace_id): f"{m.workspace_name} · {m.role.value}" for m in members}
            wanted = state.take_workspace_request() or st.session_state.get("workspace_picker")
            if wanted not in ids:
                current = state.workspace_id()
                remembered = st.query_params.get("ws")  # a reload keeps the workspace it showed
                wanted = str(current) if current and str(current) in ids else \
                    remembered if remembered in ids else ids[0]
            st.session_state["workspace_picker"] = wanted
            chosen = st.selectbox("Workspace", ids, format_func=labels.__getitem__, key="workspace_picker")
            state.set_workspace(WorkspaceId(uuid.UUID(chosen)))
            if len(ids) > 1 and st.query_params.get("ws") != chosen:
                st.query_params["ws"] = chosen
        ui_auth.password_popover()
        if st.button("Sign out", key="sign_out", width="stretch"):
            ui_auth.sign_out()
            st.rerun()
    active = state.workspace_id()
    return next((m for m in members if m.workspace_id == active), None)


def current_membership() -> tenancy.Membership | None:
    """The signed-in user's membership of the active workspace, read fresh from the store."""
    who, active = state.signed_in(), state.workspace_id()
    if who is None or active is None:
        return None
    return next((m for m in tenancy.memberships(resources.store(), who.user_id) if m.workspace_id == active), None)
