"""The invitation link (?invite=TOKEN): remembered through sign-in, then accept or decline."""

from __future__ import annotations

import streamlit as st

from studio import invitations
from studio.auth import Account
from studio.errors import StudioError
from studio.ui import resources, state, widgets

_KEY = "dotoro_invite"


def capture() -> None:
    """Keep the token from the URL for after sign-in, and drop it from the address bar."""
    token = st.query_params.get("invite")
    if token:
        st.session_state[_KEY] = token
        del st.query_params["invite"]


def banner_for_signed_out() -> None:
    token = st.session_state.get(_KEY)
    if not token:
        return
    try:
        info = invitations.preview(resources.store(), token)
    except StudioError as exc:
        st.warning(widgets.as_message(str(exc)))
        return
    st.info(f"You are invited to **{widgets.as_text(info.workspace_name)}** as {info.role.value}. "
            f"Sign in, or create an account, with **{widgets.as_text(info.email)}** to accept.")


def panel_for_signed_in() -> None:
    token = st.session_state.get(_KEY)
    who = state.signed_in()
    if not token or who is None:
        return
    store = resources.store()
    try:
        info = invitations.preview(store, token)
    except StudioError as exc:
        st.warning(widgets.as_message(str(exc)))
        st.session_state.pop(_KEY, None)
        return
    if info.status != "pending":
        st.warning(f"This invitation to {widgets.as_text(info.workspace_name)} was {info.status}.")
        st.session_state.pop(_KEY, None)
        return
    with st.container(border=True):
        st.markdown(f"**You are invited to {widgets.as_text(info.workspace_name)}** as {info.role.value}.")
        accept, decline, _ = st.columns([1, 1, 4])
        account = Account(who.user_id, who.email, who.name)
        if accept.button("Accept", type="primary", key="invite_accept"):
            try:
                ws = invitations.accept(store, token, account)
            except StudioError as exc:
                st.error(widgets.as_message(str(exc)))
            else:
                st.session_state.pop(_KEY, None)
                state.request_workspace(ws)
                st.rerun()
        if decline.button("Decline", key="invite_decline"):
            try:
                invitations.decline(store, token, account)
            except StudioError as exc:
                st.error(widgets.as_message(str(exc)))
            st.session_state.pop(_KEY, None)
            st.rerun()
