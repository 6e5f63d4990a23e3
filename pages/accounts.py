"""Reddit accounts: connect (Reddit sign-in or a script app), check, reconnect, disconnect; the OAuth callback lands here."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from studio import setup_status
from studio.publishing import accounts
from studio.ui import reddit_ads as ui_ads
from studio.ui import resources, state, widgets

ctx = state.page_context("Reddit accounts")
store = resources.store()

params = st.query_params
if "state" in params and ("code" in params or "error" in params):
    if ui_ads.finish_callback(store, ctx, params):  # a Reddit Ads connection, not an organic account
        pass
    elif "error" in params:
        st.error(f"Reddit did not grant access ({widgets.as_text(params['error'])}). Nothing was connected.")
    else:
        with widgets.user_errors():
            acc = accounts.finish_oauth(store, ctx, params["state"], params["code"])
            st.success(f"Connected u/{widgets.as_text(acc.username)}.")
    st.query_params.clear()

setup = widgets.attempt(lambda: setup_status.status(store, ctx))
if setup is None:
    st.stop()
rows = widgets.attempt(lambda: accounts.list_accounts(store, ctx)) or []
st.subheader("Reddit accounts for posts")
if not rows and setup.can_configure and setup.reddit_sign_in:  # otherwise the set-up note below says it all
    widgets.empty_state("No Reddit account yet", "Connect one below; posts are spread across every account you connect.")
elif not rows and not setup.can_configure:  # owners and admins read how to connect one below
    st.info("**An admin has not connected Reddit yet.**  \nAsk an owner or admin of this workspace to connect a "
            "Reddit account; campaign sets can be generated and planned meanwhile, and go out once one is connected.")
now = dt.datetime.now(dt.UTC)
for a in rows:
    with st.container(border=True):
        left, mid, right = st.columns([3, 3, 2])
        badge = {"active": ":green[active]", "reconnect_needed": ":red[reconnect needed]"}.get(a.status, f":gray[{a.status}]")
        left.markdown(f"**u/{widgets.as_text(a.username)}** · {badge}  \n{'Reddit sign-in' if a.auth_kind == 'oauth' else 'script app'}")
        age = f"{(now - a.created_at).days:,} days old" if a.created_at else "age unknown"
        mid.markdown(f"{widgets.fmt_int(a.karma)} karma · {age}"
                     + ("  \n:orange[low karma or new: stricter posting limits]" if a.low_karma else ""))
        if a.status_reason:
            mid.caption(widgets.as_message(a.status_reason))
        if right.button("Check now", key=f"acc_check_{a.id}"):
            with widgets.user_errors():
                accounts.validate(store, ctx, a.id)
                st.rerun()
        if right.button("Disconnect", key=f"acc_drop_{a.id}", disabled=a.status == "disabled"):
            with widgets.user_errors():
                accounts.disconnect(store, ctx, a.id)
                st.rerun()


def _connect() -> None:
    """Owners and admins: connect an account through Reddit sign-in or a script app."""
    st.markdown("**Connect an account**")
    if setup.reddit_sign_in:
        if st.button("Connect with Reddit", type="primary", key="acc_oauth"):
            with widgets.user_errors():
                st.session_state["acc_oauth_url"] = accounts.start_oauth(store, ctx)
    else:
        widgets.needs_setup(True, "", ("" if rows else "**No Reddit account yet.** ") + "**Reddit sign-in is not "
                            "enabled on this studio yet.**  \nWhoever runs the studio enables it once with a Reddit web "
                            "app (below). Meanwhile, connect an account through a script app with its own credentials.",
                            setup_status.guide("reddit"))
    if url := st.session_state.get("acc_oauth_url"):
        st.link_button("Continue on Reddit →", url)
        st.caption("Reddit asks you to allow: identity, submit, read, flair and history, permanently (until you revoke it).")
    with st.expander("Use a script app instead (your own Reddit app credentials)"), st.form("acc_script"):
        user = st.text_input("Reddit username", key="acc_user")
        password = st.text_input("Password", type="password", key="acc_pw")
        client_id = st.text_input("App client id", key="acc_cid")
        secret = st.text_input("App secret", type="password", key="acc_secret")
        if st.form_submit_button("Connect"):
            with widgets.user_errors():
                acc = accounts.connect_script(store, ctx, username=user, password=password, client_id=client_id,
                                              client_secret=secret)
                st.success(f"Connected u/{widgets.as_text(acc.username)}.")
    st.caption("Tokens and passwords are encrypted at rest; only background jobs decrypt them to post.")


if setup.can_configure:
    _connect()
elif rows:
    st.caption("Owners and admins connect and disconnect Reddit accounts; ask one of them for another account.")
st.divider()
ui_ads.connections_section(store, ctx, setup.can_configure, sign_in=setup.reddit_sign_in)
