"""Sign-in gate: the forms, the cookie (streamlit-authenticator's signed cookie) and its server-side session."""

from __future__ import annotations

import datetime as dt

import jwt
import streamlit as st
from streamlit_authenticator.controllers import CookieController

from studio import auth, passwords
from studio.errors import StudioError
from studio.ui import resources, state, widgets

COOKIE = "dotoro_session"


def _cookies() -> CookieController:
    """streamlit-authenticator's cookie controller (renders a hidden component; one per run)."""
    st.session_state.setdefault("logout", None)
    settings = resources.settings()
    return CookieController(COOKIE, settings.secret_key, settings.cookie_expiry_days)


_RESET = "dotoro_reset_token"
_NOTICE = "dotoro_signed_out_notice"


def resume_from_cookie() -> None:
    """A browser that signed in before comes back signed in, unless that session was signed out.

    An open tab re-checks its session on every run: a password change or reset elsewhere ends it here too.
    """
    _capture_reset_link()
    if state.signed_in() is not None:
        token = state.token()
        if token and not auth.session_active(resources.store(), token):
            state.forget()
            st.session_state[_NOTICE] = "You were signed out: this account's password was changed. Sign in again."
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
    # a cookie to write (write_pending_cookie); the token is what CookieModel will sign: same payload, same key
    st.session_state[_PENDING_EXP] = expires.timestamp()
    token = jwt.encode({"username": account.email, "exp_date": expires.timestamp()}, settings.secret_key, algorithm="HS256")
    auth.open_session(resources.store(), account, token, expires, client_address=state.client_address())
    state.remember(account, token)


_PENDING_EXP = "_dotoro_exp"
"""The expiry of the cookie a sign-in has still to write to the browser (absent: none to write)."""
_SET_COOKIE = "dotoro_set_cookie"
"""The key of the component that writes the cookie; its value turns true once the browser has stored it."""


def write_pending_cookie() -> None:
    """Set the browser cookie after sign-in (a component must render to set it).

    The component renders on every run until it answers that the browser stored the cookie: a rerun that
    comes before its frame has loaded removes it, and rendering it only once then lost the cookie (the
    next reload signed the user out)."""
    if _PENDING_EXP not in st.session_state:
        return
    if st.session_state.get(_SET_COOKIE) is True:  # stored: the component's last render was the run before
        del st.session_state[_PENDING_EXP]
        return
    controller = _cookies()
    model = controller.cookie_model
    model.exp_date = st.session_state[_PENDING_EXP]
    token = model._token_encode()
    expires = dt.datetime.fromtimestamp(model.exp_date)
    model.cookie_manager.set(COOKIE, token, expires_at=expires, key=_SET_COOKIE)


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


def _capture_reset_link() -> None:
    """A reset link (?reset=TOKEN) opens the 'set a new password' form, signed out, without the token in the URL."""
    token = st.query_params.get("reset")
    if token:
        st.session_state[_RESET] = token
        del st.query_params["reset"]
        state.forget()


def sign_in_page() -> None:
    """The only page a signed-out visitor sees."""
    _, middle, _ = st.columns([1, 2, 1])
    with middle:
        if st.session_state.get(_RESET):
            _reset_form(st.session_state[_RESET])
        else:
            _sign_in_forms()


def _reset_form(token: str) -> None:
    st.title("Set a new password")
    try:
        account = passwords.reset_account(resources.store(), token)
    except StudioError as exc:
        st.warning(widgets.as_message(str(exc)))
        if st.button("Back to sign in", key="reset_back"):
            st.session_state.pop(_RESET, None)
            st.rerun()
        return
    st.caption(f"For **{widgets.as_text(account.email)}**. Setting it signs this account out of every other browser.")
    with st.form("reset_password"):
        new = st.text_input("New password", type="password", key="reset_new", help=f"At least {auth.MIN_PASSWORD} characters.")
        repeat = st.text_input("Repeat it", type="password", key="reset_repeat")
        if st.form_submit_button("Set password and sign in", type="primary"):
            if new != repeat:
                st.error("The two passwords differ.")
                return
            try:
                account = passwords.reset_password(resources.store(), token, new, client_address=state.client_address())
            except StudioError as exc:
                st.error(widgets.as_message(str(exc)))
                return
            st.session_state.pop(_RESET, None)
            _start_session(account)
            st.rerun()


def password_popover() -> None:
    """The account menu's 'Change password' (current password required; other browsers are signed out)."""
    who = state.signed_in()
    if who is None:
        return
    with st.popover("Change password", width="stretch"), st.form("change_password", clear_on_submit=True):
        current = st.text_input("Current password", type="password", key="pw_current")
        new = st.text_input("New password", type="password", key="pw_new", help=f"At least {auth.MIN_PASSWORD} characters.")
        repeat = st.text_input("Repeat it", type="password", key="pw_repeat")
        if st.form_submit_button("Change password", type="primary"):
            if new != repeat:
                st.error("The two new passwords differ.")
                return
            try:
                ended = passwords.change_password(resources.store(), who.user_id, current, new, keep_token=state.token(),
                                                  client_address=state.client_address())
            except StudioError as exc:
                st.error(widgets.as_message(str(exc)))
            else:
                others = f"; {ended} other browser{'s' if ended != 1 else ''} signed out" if ended else ""
                st.success(f"Password changed{others}.")


def _sign_in_forms() -> None:
    st.title("Dotoro Studio")
    st.caption("Turn a data table into thousands of on-brand posts and ads — previewed live, generated in the background.")
    notice = st.session_state.pop(_NOTICE, None)
    if notice:
        st.info(widgets.as_message(notice))
    sign_in, sign_up, forgot = st.tabs(["Sign in", "Create account", "Forgot password?"])
    with forgot, st.form("forgot_password"):
        email = st.text_input("Email of your account", key="forgot_email")
        if st.form_submit_button("Send me a link"):
            try:
                st.info(widgets.as_message(passwords.request_reset(resources.store(), email,
                                                                   client_address=state.client_address())))
            except StudioError as exc:
                st.error(widgets.as_message(str(exc)))
    with sign_in, st.form("sign_in"):
        email = st.text_input("Email", key="signin_email")
        password = st.text_input("Password", type="password", key="signin_password")
        if st.form_submit_button("Sign in", type="primary"):
            try:
                account = auth.authenticate(resources.store(), email, password, client_address=state.client_address())
            except StudioError as exc:
                st.error(widgets.as_message(str(exc)))
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
                    st.error(widgets.as_message(str(exc)))
                else:
                    _start_session(account)
                    st.rerun()
