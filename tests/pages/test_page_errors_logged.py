"""A page that breaks leaves a log line naming the page and the workspace (secrets masked)."""

from __future__ import annotations

import io
import json
import logging

from studio import datasets, logging_setup
from studio.settings import load_settings
from tests.pages.conftest import sign_up


def test_a_page_error_is_logged_with_page_and_workspace(new_app, monkeypatch):
    at = new_app()
    sign_up(at)
    buffer = io.StringIO()
    handler = logging_setup.configure(load_settings({"LOG_FORMAT": "json"}, dotenv=None), stream=buffer)
    # the studio installs its own handler once per process; point it at the buffer for this test
    monkeypatch.setattr("studio.ui.logs.configure", lambda: None)

    # Streamlit logs the traceback through its own handler too: the studio's redactor guards that one as well
    streamlit_err = io.StringIO()
    streamlit_handler = logging.getLogger("streamlit.error_util").streamlit_console_handler
    monkeypatch.setattr(streamlit_handler, "stream", streamlit_err)

    def broken(*args, **kwargs):
        raise RuntimeError("database said no; password=hunter2hunter2")

    monkeypatch.setattr(datasets, "list_datasets", broken)
    try:
        at.run()
    finally:
        logging.getLogger().removeHandler(handler)
    lines = [json.loads(line) for line in buffer.getvalue().splitlines() if line.startswith("{")]
    (error,) = [line for line in lines if line["event"] == "page.error"]
    assert error["page"] == "Home" and error["workspace_id"] and error["user_id"]
    assert error["error"] == "RuntimeError" and "database said no" in error["exc"]
    assert "hunter2hunter2" not in buffer.getvalue()
    assert "hunter2hunter2" not in streamlit_err.getvalue() and "Uncaught app execution" in streamlit_err.getvalue()
    assert at.exception  # Streamlit still shows the error on the page


def test_st_apps_hook_logs_errors_outside_a_page_once():
    from studio.ui import logs

    buffer = io.StringIO()
    handler = logging_setup.configure(load_settings({"LOG_FORMAT": "json"}, dotenv=None), stream=buffer)
    try:
        inside, outside = RuntimeError("already logged by app.py"), ValueError("in a widget callback")
        logs.mark_logged(inside)
        for exc in (inside, outside):
            try:
                raise exc
            except Exception as caught:
                assert logs.on_script_error(caught) is None  # Streamlit still shows its error box
    finally:
        logging.getLogger().removeHandler(handler)
    errors = [json.loads(line) for line in buffer.getvalue().splitlines() if '"page.error"' in line]
    assert [e["error"] for e in errors] == ["ValueError"] and "in a widget callback" in errors[0]["exc"]
