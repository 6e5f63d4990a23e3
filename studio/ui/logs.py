"""The studio server's log handler (studio.logging_setup), installed once per process."""

from __future__ import annotations

import contextlib
import logging

import streamlit as st

from studio import logging_setup
from studio.ui import resources

_log = logging.getLogger("studio.pages")


@st.cache_resource(show_spinner=False)
def _configured(log_format: str, log_level: str) -> bool:
    logging_setup.configure(resources.settings())
    return True


def configure() -> None:
    """Cheap on every rerun; installs the handler again only when LOG_FORMAT or LOG_LEVEL change."""
    s = resources.settings()
    _configured(s.extra.get("LOG_FORMAT", ""), s.extra.get("LOG_LEVEL", ""))


def on_script_error(exc: Exception) -> None:
    """st.App's hook: an error that escaped the page (a widget callback, the sign-in gate) is logged once;
    app.py logs those raised inside a page itself, with the page and workspace bound. None: Streamlit
    still shows its error box."""
    if getattr(exc, "_dotoro_logged", False):
        return
    logging_setup.event(_log, "page.error", level=logging.ERROR, exc_info=exc, error=type(exc).__name__)


def mark_logged(exc: BaseException) -> None:
    with contextlib.suppress(AttributeError, TypeError):
        exc._dotoro_logged = True  # type: ignore[attr-defined]
