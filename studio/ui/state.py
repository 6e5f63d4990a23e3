"""The typed per-browser-session state: ids only, reloaded from the store when needed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import streamlit as st

from studio.auth import Account
from studio.context import Context, UserId, WorkspaceId

_ACCOUNT = "dotoro_account"
_WORKSPACE = "dotoro_workspace_id"
_TOKEN = "dotoro_token"


@dataclass(frozen=True)
class SignedIn:
    user_id: UserId
    email: str
    name: str


def signed_in() -> SignedIn | None:
    raw = st.session_state.get(_ACCOUNT)
    return SignedIn(UserId(uuid.UUID(raw[0])), raw[1], raw[2]) if raw else None


def remember(account: Account, token: str | None) -> None:
    st.session_state[_ACCOUNT] = (str(account.id), account.email, account.name)
    st.session_state[_TOKEN] = token


def token() -> str | None:
    return st.session_state.get(_TOKEN)


def forget() -> None:
    for key in (_ACCOUNT, _WORKSPACE, _TOKEN):
        st.session_state.pop(key, None)


def workspace_id() -> WorkspaceId | None:
    raw = st.session_state.get(_WORKSPACE)
    return WorkspaceId(uuid.UUID(raw)) if raw else None


def set_workspace(ws: WorkspaceId | None) -> None:
    st.session_state[_WORKSPACE] = str(ws) if ws else None


def request_workspace(ws: WorkspaceId) -> None:
    """Switch to `ws` on the next run (the sidebar picker applies it before it renders)."""
    st.session_state["dotoro_switch_to"] = str(ws)
    set_workspace(ws)


def take_workspace_request() -> str | None:
    return st.session_state.pop("dotoro_switch_to", None)


_ADDRESS = "dotoro_client_address"


def client_address() -> str | None:
    """The browser's address, read once per browser session (one connection: it does not change, and
    reading it from Streamlit costs more than the rest of a page's context)."""
    if _ADDRESS in st.session_state:
        return st.session_state[_ADDRESS]
    try:
        ip = st.context.ip_address
    except Exception:
        ip = None
    st.session_state[_ADDRESS] = ip if isinstance(ip, str) else None
    return st.session_state[_ADDRESS]


def context() -> Context:
    """The acting user in the chosen workspace; pages pass it to services."""
    who = signed_in()
    return Context(user_id=who.user_id if who else None, workspace_id=workspace_id(), client_address=client_address())


def page_context(title: str) -> Context:
    """Every page starts here: a title, and a stop unless someone is signed in with a workspace.

    app.py gates navigation; this also covers a page script run on its own (Streamlit's
    legacy pages/ mode on a fresh server, before the first st.navigation call).
    """
    st.title(title)
    ctx = context()
    if ctx.user_id is None:
        st.info("Please sign in to use Dotoro Studio.")
        st.stop()
    if ctx.workspace_id is None:
        st.info("**No workspace selected**  \nChoose a workspace in the sidebar.")
        st.stop()
    return ctx
