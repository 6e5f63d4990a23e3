"""Dotoro Studio — the only entrypoint: page config, sign-in gate, workspace switcher, navigation."""

from __future__ import annotations

import streamlit as st

from studio.ui import auth as ui_auth
from studio.ui import sidebar, state

st.set_page_config(page_title="Dotoro Studio", page_icon="✦", layout="wide")

ui_auth.resume_from_cookie()

if state.signed_in() is None:
    nav = st.navigation([st.Page(ui_auth.sign_in_page, title="Sign in", url_path="sign-in", default=True)])
    nav.run()
    st.stop()

ui_auth.write_pending_cookie()
membership = sidebar.workspace_switcher()

PAGES = {
    "Studio": [
        st.Page("pages/home.py", title="Home", url_path="home", icon=":material/home:", default=True),
        st.Page("pages/data_sources.py", title="Data sources", url_path="data", icon=":material/table:"),
    ],
}
st.navigation(PAGES).run()
