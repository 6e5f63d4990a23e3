"""Password change (account menu) and reset (sign-in page) through AppTest, on the embedded store."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from studio import passwords
from studio.settings import load_settings
from studio.store.session import Store
from tests.pages.conftest import ROOT, sign_in, sign_up, texts


def _click(at: AppTest, label: str) -> None:
    next(b for b in at.button if b.label == label).click()
    at.run()


def _sign_out(at: AppTest) -> None:
    next(b for b in at.sidebar.button if b.label == "Sign out").click()
    at.run()


def test_change_password_signs_out_the_other_browser(new_app):
    here = new_app()
    email = sign_up(here)
    there = new_app()
    sign_in(there, email, "s3cret-pass")
    assert "Home" in texts(there)

    here.text_input(key="pw_current").input("wrong-pass")
    here.text_input(key="pw_new").input("n3w-secret-pass")
    here.text_input(key="pw_repeat").input("n3w-secret-pass")
    _click(here, "Change password")
    assert "The current password is not right." in texts(here)

    here.text_input(key="pw_current").input("s3cret-pass")
    here.text_input(key="pw_new").input("n3w-secret-pass")
    here.text_input(key="pw_repeat").input("n3w-secret-pass")
    _click(here, "Change password")
    assert "Password changed; 1 other browser signed out." in texts(here)

    there.run()
    assert "You were signed out: this account's password was changed." in texts(there)
    assert [t.label for t in there.tabs][0] == "Sign in"
    here.run()
    assert "Home" in texts(here)  # the browser that changed it stays signed in
    _sign_out(here)
    sign_in(here, email, "n3w-secret-pass")
    assert "Home" in texts(here)


def test_reset_link_sets_a_new_password_once(new_app):
    at = new_app()
    email = sign_up(at)
    _sign_out(at)
    store = Store(load_settings())
    try:
        link = passwords.reset_link(store, email)
    finally:
        store.dispose()
    assert link is not None
    token = link.split("reset=", 1)[1]

    visitor = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    visitor.query_params["reset"] = token
    visitor.run()
    assert "Set a new password" in texts(visitor) and email in texts(visitor)
    visitor.text_input(key="reset_new").input("after-reset-pass")
    visitor.text_input(key="reset_repeat").input("after-reset-pass")
    _click(visitor, "Set password and sign in")
    assert not visitor.exception, visitor.exception
    assert "Home" in texts(visitor)

    again = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    again.query_params["reset"] = token
    again.run()
    assert "expired or was already used" in texts(again)
    _click(again, "Back to sign in")
    sign_in(again, email, "after-reset-pass")
    assert "Home" in texts(again)


def test_forgot_password_without_mail_points_to_the_operator(new_app):
    at = new_app()
    at.text_input(key="forgot_email").input("someone@example.com")
    _click(at, "Send me a link")
    assert "python -m studio.passwords reset-link" in texts(at)
