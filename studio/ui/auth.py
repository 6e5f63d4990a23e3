"""Sign-in gate: the forms, the cookie (streamlit-authenticator's signed cookie) and its server-side session."""

from __future__ import annotations

import datetime as dt

import jwt
import streamlit as st
from streamlit_authenticator.controllers import CookieController

from studio import auth
from studio.errors import StudioError
from studio.ui import resources, state

COOKIE = "dotoro_session"


def _cookies() -> CookieController:
    """streamlit-authenticator's cookie controller (renders a hidden component; one per run)."""
    st.session_state.setdefault("logout", None)
    settings = resources.settings()
    return CookieController(COOKIE, settings.secret_key, settings.cookie_expiry_days)


def resume_from_cookie() -> None:
    """A browser that signed in before comes back signed in, unless that session was signed out."""
    if state.signed_in() is not None:
        return
    raw = st.context.cookies.get(COOKIE) if hasattr(st.context, "cookies") else None
    if not raw:
        return
    try:
        jwt.decode(raw, resources.settings().secret_key, algorithms=["HS256"])
    except jwt.PyJWTError:
        return
    account = auth.resume_session(resources.store(), raw)
    if account is not None:
        state.remember(account, raw)


def _start_session(account: auth.Account) -> None:
    settings = resources.settings()
    st.session_state["username"] = account.email
    st.session_state["logout"] = None
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=settings.cookie_expiry_days)
    st.session_state["_dotoro_set_cookie"] = True
    # the token is what CookieModel will sign: same payload, same key → same string
    st.session_state["_dotoro_exp"] = expires.timestamp()
    token = jwt.encode({"username": account.email, "exp_date": expires.timestamp()}, settings.secret_key, algorithm="HS256")
    auth.open_session(resources.store(), account, token, expires, client_address=state.client_address())
    state.remember(account, token)


def write_pending_cookie() -> None:
    """Set the browser cookie on the first run after sign-in (a component must render to set it)."""
    if not st.session_state.pop("_dotoro_set_cookie", False):
        return
    controller = _cookies()
    model = controller.cookie_model
    model.exp_date = st.session_state.pop("_dotoro_exp")
    token = model._token_encode()
    expires = dt.datetime.fromtimestamp(model.exp_date)
    model.cookie_manager.set(COOKIE, token, expires_at=expires, key="dotoro_set_cookie")


def sign_out() -> None:
    who = state.signed_in()
    account = auth.Account(who.user_id, who.email, who.name) if who else None
    auth.close_session(resources.store(), state.token(), account, client_address=state.client_address())
    state.forget()
    st.session_state["logout"] = True
    try:
        _cookies().delete_cookie()
    except Exception:
        pass


def sign_in_page() -> None:
    """The only page a signed-out visitor sees."""
    _, middle, _ = st.columns([1, 2, 1])
    with middle:
        _sign_in_forms()


def _sign_in_forms() -> None:
    st.title("Dotoro Studio")
    st.caption("Turn a data table into thousands of on-brand posts and ads — previewed live, generated in the background.")
    sign_in, sign_up = st.tabs(["Sign in", "Create account"])
    with sign_in, st.form("sign_in"):
        email = st.text_input("Email", key="signin_email")
        password = st.text_input("Password", type="password", key="signin_password")
        if st.form_submit_button("Sign in", type="primary"):
            try:
                account = auth.authenticate(resources.store(), email, password, client_address=state.client_address())
            except StudioError as exc:
                st.error(str(exc))
            else:
                _start_session(account)
                st.rerun()
    with sign_up, st.form("sign_up"):
        name = st.text_input("Your name", key="signup_name")
        email = st.text_input("Work email", key="signup_email")
        password = st.text_input("Password", type="password", key="signup_password", help="At least 8 characters.")
        confirm = st.text_input("Repeat password", type="password", key="signup_confirm")
        if st.form_submit_button("Create account", type="primary"):
            if password != confirm:
                st.error("The two passwords differ.")
            else:
                try:
                    account, _ = auth.sign_up(resources.store(), email, name, password, client_address=state.client_address())
                except StudioError as exc:
                    st.error(str(exc))
                else:
                    _start_session(account)
                    st.rerun()
