"""Process-wide resources for the studio, held by st.cache_resource (never in session_state)."""

from __future__ import annotations

import streamlit as st

from studio.previews import PreviewCache
from studio.settings import Settings, load_settings
from studio.store import migrate
from studio.store.session import Store


def settings() -> Settings:
    return load_settings()


@st.cache_resource(show_spinner=False)
def _store(database_url: str, home: str) -> Store:
    s = load_settings()
    if not s.team_mode:
        migrate.upgrade(s)  # the embedded store migrates itself; team mode migrates as the owner (make migrate)
    return Store(s)


def store() -> Store:
    s = settings()
    return _store(s.database_url, str(s.home))


@st.cache_resource(show_spinner=False)
def preview_cache() -> PreviewCache:
    """Prepared data sets and DuckDB connections for the live preview (keys carry the workspace)."""
    return PreviewCache()
