"""Team: members and their roles, invitations."""

from __future__ import annotations

import streamlit as st

from studio import invitations, workspaces
from studio.context import Permission, Role, allows
from studio.ui import resources, state, widgets

ctx = state.page_context("Team")
store = resources.store()
members = widgets.attempt(lambda: workspaces.list_members(store, ctx))
if members is None:
    st.stop()
me = next((m for m in members if m.user_id == ctx.user_id), None)
can_manage = me is not None and allows(me.role, Permission.MANAGE_MEMBERS)
ROLES = [r.value for r in Role]

st.subheader(f"Members ({len(members)})")
for m in members:
    name, role_col, action_col = st.columns([3, 2, 1])
    name.markdown(f"**{widgets.as_text(m.name)}**" + (" (you)" if m.user_id == ctx.user_id else ""))
    name.caption(widgets.as_text(m.email))
    if can_manage:
        new_role = role_col.selectbox("Role", ROLES, index=ROLES.index(m.role.value), key=f"role_{m.user_id}",
                                      label_visibility="collapsed")
        if new_role != m.role.value:
            with widgets.user_errors():
                workspaces.change_role(store, ctx, m.user_id, Role(new_role))
                st.rerun()
        if m.user_id != ctx.user_id and action_col.button("Remove", key=f"remove_{m.user_id}"):
            st.session_state["confirm_remove"] = str(m.user_id)
        if st.session_state.get("confirm_remove") == str(m.user_id):
            st.warning(f"Remove {widgets.as_text(m.name)} from this workspace? They lose access at once.")
            yes, no = st.columns(2)
            if yes.button("Yes, remove", key=f"remove_yes_{m.user_id}", type="primary"):
                with widgets.user_errors():
                    workspaces.remove_member(store, ctx, m.user_id)
                    st.session_state.pop("confirm_remove", None)
                    st.rerun()
            if no.button("Cancel", key=f"remove_no_{m.user_id}"):
                st.session_state.pop("confirm_remove", None)
                st.rerun()
    else:
        role_col.write(m.role.value)

if not can_manage:
    st.caption("Only owners and admins can invite people or change roles.")
    st.stop()

st.subheader("Invite someone")
with st.form("invite", clear_on_submit=True):
    email = st.text_input("Email", key="invite_email")
    role = st.selectbox("Role", ["member", "viewer", "admin", "owner"], key="invite_role")
    if st.form_submit_button("Send invitation", type="primary"):
        link = widgets.attempt(lambda: invitations.invite(store, ctx, email, Role(role)))
        if link:
            if link.problem:
                st.warning(widgets.as_message(link.problem))
            else:
                st.success("Invitation emailed." if link.emailed else "No email server is set up: copy this link to the invitee.")
            st.code(link.url, language=None)

pending = invitations.list_invitations(store, ctx)
if pending:
    st.subheader("Invitations")
    for inv in pending:
        info, resend, revoke = st.columns([4, 1, 1])
        info.markdown(f"**{widgets.as_text(inv.email)}** · {inv.role.value} · {inv.status} · expires {widgets.fmt_when(inv.expires_at)}")
        if inv.status in ("pending", "expired") and resend.button("Resend", key=f"resend_{inv.id}"):
            link = widgets.attempt(lambda inv_id=inv.id: invitations.resend(store, ctx, inv_id))
            if link:
                st.code(link.url, language=None)
        if inv.status == "pending" and revoke.button("Revoke", key=f"revoke_{inv.id}"):
            with widgets.user_errors():
                invitations.revoke(store, ctx, inv.id)
                st.rerun()
