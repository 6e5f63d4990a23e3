"""Dotoro Studio — the only entrypoint: page config, sign-in gate, workspace switcher, navigation."""

from __future__ import annotations

import logging

import streamlit as st

from studio import admin, logging_setup
from studio.ui import auth as ui_auth
from studio.ui import invite, logs, resources, sidebar, state, timing
from studio.ui import notifications as ui_notifications
from workers import bindings

_started = timing.start()
bindings.install()  # studio.jobs runs workers/ jobs (studio never imports workers; idempotent per rerun)
_log = logging.getLogger("studio.pages")
logs.configure()

st.set_page_config(page_title="Dotoro Studio", page_icon="✦", layout="wide")

resources.background_work()
invite.capture()
ui_auth.resume_from_cookie()

if state.signed_in() is None:
    def sign_in() -> None:
        invite.banner_for_signed_out()
        ui_auth.sign_in_page()

    st.navigation([st.Page(sign_in, title="Sign in", url_path="sign-in", default=True)]).run()
    st.stop()

ui_auth.write_pending_cookie()
_notes_slot = st.sidebar.container()  # Notifications sits right under the menu, above who is signed in
sidebar.workspace_switcher()
invite.panel_for_signed_in()

PAGES = {
    "Studio": [
        st.Page("pages/home.py", title="Home", url_path="home", icon=":material/home:", default=True),
        st.Page("pages/data_sources.py", title="Data sources", url_path="data", icon=":material/table:"),
        st.Page("pages/explore.py", title="Explore", url_path="explore", icon=":material/query_stats:"),
        st.Page("pages/templates.py", title="Templates", url_path="templates", icon=":material/edit_note:"),
        st.Page("pages/rules.py", title="Rules", url_path="rules", icon=":material/rule:"),
        st.Page("pages/preview.py", title="Preview", url_path="preview", icon=":material/visibility:"),
        st.Page("pages/campaigns.py", title="Campaign sets", url_path="campaigns", icon=":material/campaign:"),
        st.Page("pages/schedule.py", title="Publish", url_path="publish", icon=":material/calendar_month:"),
        st.Page("pages/accounts.py", title="Reddit accounts", url_path="accounts", icon=":material/manage_accounts:"),
    ],
    "Workspace": [
        st.Page("pages/notifications.py", title="Notifications", url_path="notifications",  # linked with its
                icon=":material/notifications:", visibility="hidden"),  # unread count under the menu instead
        st.Page("pages/team.py", title="Team", url_path="team", icon=":material/group:"),
        st.Page("pages/audit.py", title="Audit trail", url_path="audit", icon=":material/history:"),
        st.Page("pages/workspace.py", title="Workspace settings", url_path="workspace", icon=":material/settings:"),
        st.Page("pages/webhooks.py", title="Webhooks & Slack", url_path="webhooks", icon=":material/webhook:"),
        st.Page("pages/api_keys.py", title="API keys", url_path="api-keys", icon=":material/key:"),
        st.Page("pages/billing.py", title="Billing", url_path="billing", icon=":material/credit_card:"),
        st.Page("pages/usage.py", title="Usage", url_path="usage", icon=":material/monitoring:"),
    ],
}
# The Admin page is in the menu for operators only; for anyone else /admin says who may open it (never "Page not found").
operator = admin.is_operator(resources.store(), state.signed_in().user_id)  # type: ignore[union-attr]
admin_page = st.Page("pages/admin.py", title="Admin", url_path="admin", icon=":material/admin_panel_settings:",
                     visibility="visible" if operator else "hidden")
if operator:
    PAGES["Operators"] = [admin_page]
else:
    PAGES["Workspace"].append(admin_page)
_page = st.navigation(PAGES)
ui_notifications.sidebar_link(resources.store(), state.context(), _notes_slot)  # with the unread count
logging_setup.bind(page=_page.title, url_path=_page.url_path, workspace_id=state.workspace_id(), user_id=state.signed_in().user_id)  # type: ignore[union-attr]
try:
    _page.run()
except Exception as exc:  # st.stop / st.rerun are not Exceptions: only real page errors get here
    logging_setup.event(_log, "page.error", level=logging.ERROR, exc_info=exc, error=type(exc).__name__)
    logs.mark_logged(exc)  # st.App's on_script_error (server.py) sees it next: logged once
    raise
finally:
    timing.finish(_started, _page.url_path)
    resources.freeze_startup_heap()
