"""Sidebar: who is signed in, the workspace switcher, sign out."""

from __future__ import annotations

import streamlit as st

from studio import tenancy
from studio.ui import auth as ui_auth
from studio.ui import resources, state


def workspace_switcher() -> tenancy.Membership | None:
    """Pick the active workspace among the user's memberships (re-read every run: removals apply at once)."""
    who = state.signed_in()
    if who is None:
        return None
    members = tenancy.memberships(resources.store(), who.user_id)
    with st.sidebar:
        st.markdown(f"**{who.name}**")
        st.caption(who.email)
        if not members:
            st.warning("You are not a member of any workspace.")
            state.set_workspace(None)
        else:
            ids = [m.workspace_id for m in members]
            current = state.workspace_id()
            index = ids.index(current) if current in ids else 0
            chosen = st.selectbox(
                "Workspace", options=range(len(members)), index=index,
                format_func=lambda i: f"{members[i].workspace_name} · {members[i].role.value}", key="workspace_picker",
            )
            state.set_workspace(ids[chosen])
        if st.button("Sign out", key="sign_out", use_container_width=True):
            ui_auth.sign_out()
            st.rerun()
    active = state.workspace_id()
    return next((m for m in members if m.workspace_id == active), None)
