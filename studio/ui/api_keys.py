"""Workspace → API keys: the form that creates a key, the once-shown secret, the list with revoke buttons."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import streamlit as st

from studio.api.keys import SCOPES, CreatedKey, KeyInfo
from studio.context import RANKS, Role
from studio.ui import widgets

EXPIRY = {"Never": None, "30 days": 30, "90 days": 90, "1 year": 365}
_SHOWN = "api_key_created"


def create_form(role: Role, create: Callable[[str, list[str], Role, dt.datetime | None], CreatedKey]) -> None:
    """A new key acts for you with at most your role; its secret is kept in the session only until shown."""
    allowed = list(RANKS[:RANKS.index(role) + 1])
    with st.form("api_key_new", clear_on_submit=True):
        name = st.text_input("Name", placeholder="n8n production", max_chars=100,
                             help="Where the key is used, so you know which one to revoke.")
        c1, c2, c3 = st.columns([2, 1, 1])
        scopes = c1.multiselect("Scopes", list(SCOPES), default=["read"],
                                help="  \n".join(f"**{name}**: {what}" for name, what in SCOPES.items()))
        key_role = c2.selectbox("Acts as", allowed, index=min(1, len(allowed) - 1), format_func=lambda r: r.value,
                                help="The role the key acts with; never above yours.")
        expiry = c3.selectbox("Expires", list(EXPIRY), index=2)
        if st.form_submit_button("Create key", type="primary"):
            days = EXPIRY[expiry]
            expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=days) if days else None
            with widgets.user_errors():
                st.session_state[_SHOWN] = create(name, scopes, key_role, expires)


def show_created() -> None:
    """The secret of the key just created, once: a rerun after this forgets it."""
    created: CreatedKey | None = st.session_state.pop(_SHOWN, None)
    if created is None:
        return
    st.success(f"Created **{widgets.as_text(created.info.name)}**. Copy the key now: it is not shown again.")
    st.code(created.secret, language=None)
    st.caption("Send it as `Authorization: Bearer <key>` to /api/v1 (see the API docs).")


def _state(k: KeyInfo) -> str:
    return {"active": ":green[active]", "revoked": ":red[revoked]", "expired": ":gray[expired]"}[k.state()]


def key_list(keys: list[KeyInfo], revoke: Callable[[KeyInfo], object]) -> None:
    if not keys:
        widgets.empty_state("No API keys yet", "Create one above to connect n8n, Zapier or your own scripts.")
        return
    widths = [3, 2.4, 1.2, 2, 2, 2.4, 1.3]
    head = st.columns(widths)
    for col, label in zip(head, ("Name", "Key", "Acts as", "Scopes", "State", "Last used", ""), strict=True):
        col.caption(label)
    for k in keys:
        row = st.columns(widths, vertical_alignment="center")
        row[0].write(widgets.as_text(k.name if len(k.name) <= 40 else k.name[:39] + "…"))
        row[1].markdown(f"`{k.prefix}…`")
        row[2].write(k.role.value)
        row[3].write(", ".join(k.scopes))
        row[4].write(_state(k) + (f"  \nuntil {k.expires_at:%Y-%m-%d}" if k.expires_at and k.state() == "active" else ""))
        row[5].write(f"{widgets.fmt_when(k.last_used_at)} UTC  \nfrom {widgets.as_text(k.last_used_address or '?')}" if k.last_used_at
                     else "never")
        if k.state() == "active" and row[6].button("Revoke", key=f"api_key_revoke_{k.id}"):
            with widgets.user_errors():
                revoke(k)
                st.rerun()
