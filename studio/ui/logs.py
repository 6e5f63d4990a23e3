"""The studio server's log handler (studio.logging_setup), installed once per process."""

from __future__ import annotations

import streamlit as st

from studio import logging_setup
from studio.ui import resources


@st.cache_resource(show_spinner=False)
def _configured(log_format: str, log_level: str) -> bool:
    logging_setup.configure(resources.settings())
    return True


def configure() -> None:
    """Cheap on every rerun; installs the handler again only when LOG_FORMAT or LOG_LEVEL change."""
    s = resources.settings()
    _configured(s.extra.get("LOG_FORMAT", ""), s.extra.get("LOG_LEVEL", ""))
