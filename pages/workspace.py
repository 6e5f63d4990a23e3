"""Workspace settings: rename, create another, export everything, delete for good."""

from __future__ import annotations

import streamlit as st

from studio import review, tenancy, workspace_export, workspaces
from studio.context import Permission, allows
from studio.ui import resources, sidebar, state, widgets
from studio.ui import word_list as ui_word_list
from studio.ui import workspace_transfer as transfer

ctx = state.page_context("Workspace settings")
store = resources.store()
current = sidebar.current_membership()
if current is None:
    st.stop()

with st.form("rename_ws"):
    name = st.text_input("Name", value=current.workspace_name, key=f"ws_name_{current.workspace_id}")  # per workspace: a switch shows its name
    if st.form_submit_button("Rename", disabled=not allows(current.role, Permission.MANAGE_MEMBERS)):
        with widgets.user_errors():
            workspaces.rename(store, ctx, name)
            st.rerun()

st.subheader("Approval")
policy = widgets.attempt(lambda: review.approval_policy(store, ctx)) or "editors"
approval = st.radio("Who may approve or reject variations", list(review.APPROVAL_POLICIES), horizontal=True,
                    index=list(review.APPROVAL_POLICIES).index(policy), format_func=review.APPROVAL_POLICIES.__getitem__,
                    key="ws_approval", disabled=not allows(current.role, Permission.MANAGE_MEMBERS),
                    help="Admins only: the person who wrote a variation is not the one who lets it go live.")
if approval != policy:
    with widgets.user_errors():
        review.set_approval_policy(store, ctx, approval)
        st.success(f"Approval: {review.APPROVAL_POLICIES[approval].lower()}.")

ui_word_list.section(store, ctx, can_edit=allows(current.role, Permission.EDIT))

with st.form("new_ws", clear_on_submit=True):
    new_name = st.text_input("New workspace (e.g. one per client)", key="ws_new")
    if st.form_submit_button("Create workspace"):
        with widgets.user_errors():
            ws = tenancy.create_workspace(store, ctx.user_id, new_name, client_address=ctx.client_address)  # type: ignore[arg-type]
            state.request_workspace(ws)
            st.rerun()

if allows(current.role, Permission.MANAGE_MEMBERS):
    transfer.import_section(store, ctx)

if not allows(current.role, Permission.DELETE_WORKSPACE):
    st.caption("Only an owner can export or delete this workspace.")
    st.stop()

st.subheader("Export everything")
st.caption("Everything this workspace owns in one zip with a manifest: data sets (every version, as Parquet), "
           "templates and rule sets with their versions, campaign sets with their variations, edits and approvals, "
           "notebooks, publishing plans and history, URL data sets' addresses and schedules, webhook endpoints, "
           "notification choices, the word list, members, invitations and the audit trail. Secrets (Reddit "
           "accounts, feed credentials, webhook signing secrets, the Slack URL, API keys, Reddit Ads connections) "
           "and billing are left out. Import it below, here or in another studio.")
if st.button("Prepare export", key="ws_export"):
    data = widgets.attempt(lambda: workspace_export.export_zip(store, ctx))
    if data:
        st.download_button("Download zip", data, file_name=f"{current.workspace_name}.zip", mime="application/zip",
                           on_click="ignore")

st.subheader("Delete this workspace")
st.error("Deleting removes every data set, version, member and event of this workspace. This cannot be undone.")
typed = st.text_input(f"Type {widgets.as_text(current.workspace_name)} to confirm", key="ws_delete_confirm")
if st.button("Delete workspace for good", key="ws_delete", disabled=typed.strip() != current.workspace_name):
    with widgets.user_errors():
        workspaces.delete_workspace(store, ctx, typed)
        state.set_workspace(None)
        st.rerun()
