"""The studio through AppTest: sign-up, sign-in, the gate, navigation, uploads."""

from __future__ import annotations

import ast

import pytest

from tests.pages.conftest import ROOT, sign_in, sign_up, texts

PAGE_FILES = sorted({
    node.args[0].value
    for node in ast.walk(ast.parse((ROOT / "app.py").read_text()))
    if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "Page"
    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
})

CSV = b"Product Name,Price,In Stock,Launch\nTrail Shoe,129.90,yes,2024-03-01\nCity Boot,89.00,no,2024-05-12\n"


def test_signed_out_visitor_sees_only_sign_in(new_app):
    at = new_app()
    assert not at.exception
    assert "Dotoro Studio" in texts(at)
    assert [t.label for t in at.tabs] == ["Sign in", "Create account", "Forgot password?"]
    assert not at.sidebar.selectbox  # no workspace switcher, no data


def test_sign_up_creates_personal_workspace_and_lands_on_home(new_app):
    at = new_app()
    sign_up(at, name="Ada Analyst")
    assert not at.exception, at.exception
    assert "Home" in texts(at)
    picker = at.sidebar.selectbox(key="workspace_picker")
    assert picker.options == ["Ada's workspace · owner"]


def test_wrong_password_then_lockout(new_app):
    at = new_app()
    email = sign_up(at)
    next(b for b in at.sidebar.button if b.label == "Sign out").click()
    at.run()
    refused = "Email or password is incorrect. After 5 failed attempts an account is locked for 15 minutes"
    for _ in range(5):
        sign_in(at, email, "wrong-password")
        assert refused in texts(at)
    sign_in(at, email, "s3cret-pass")  # even the right password waits out the lock, told the same words
    assert refused in texts(at) and "Home" not in texts(at)


@pytest.mark.parametrize("page", PAGE_FILES)
def test_every_page_exists_and_renders(new_app, page, monkeypatch):
    assert (ROOT / page).is_file(), page
    monkeypatch.setenv("OPERATOR_EMAILS", "op@example.com")  # the admin page is registered for operators only
    at = new_app()
    sign_up(at, email="op@example.com")
    at.switch_page(page).run()
    assert not at.exception, at.exception


def test_upload_a_csv_and_see_typed_columns(new_app):
    at = new_app()
    sign_up(at)
    at.switch_page("pages/data_sources.py").run()
    assert "No data sets yet" in texts(at)
    at.file_uploader(key="upload_file").set_value(("products.csv", CSV, "text/csv"))
    at.run()
    at.button(key="upload_go").click()
    at.run()
    assert not at.exception, at.exception
    assert "Uploaded 'products': 2 rows × 4 columns." in texts(at)
    profile = at.dataframe[1].value  # [0] the list of data sets, [1] the column profile
    assert list(profile["Column"]) == ["product_name", "price", "in_stock", "launch"]
    assert list(profile["Type"]) == ["Text", "Decimal", "Boolean", "Date"]


def test_a_bad_file_shows_a_clear_error_and_stores_nothing(new_app):
    at = new_app()
    sign_up(at)
    at.switch_page("pages/data_sources.py").run()
    at.file_uploader(key="upload_file").set_value(("empty.csv", b"", "text/csv"))
    at.run()
    at.button(key="upload_go").click()
    at.run()
    assert not at.exception
    assert at.error and "empty" in at.error[0].value.lower()
    assert "No data sets yet" in texts(at)


def test_html_in_cells_is_shown_as_text(new_app):
    at = new_app()
    sign_up(at)
    at.switch_page("pages/data_sources.py").run()
    at.file_uploader(key="upload_file").set_value(("x.csv", b"name,note\n<script>alert(1)</script>,<b>bold</b>\n", "text/csv"))
    at.run()
    at.button(key="upload_go").click()
    at.run()
    assert not at.exception
    rows = at.dataframe[-1].value
    assert rows["name"][0] == "<script>alert(1)</script>"
    assert all("<script>" not in m.value for m in at.markdown)


def test_a_page_run_on_its_own_still_requires_sign_in(studio_env):
    """Streamlit's legacy pages/ mode can run a page without app.py; the page guards itself."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "pages" / "data_sources.py"), default_timeout=30)
    at.run()
    assert not at.exception
    assert "Please sign in" in texts(at)
    assert not at.file_uploader
