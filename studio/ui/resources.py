"""Process-wide resources for the studio, held by st.cache_resource (never in session_state)."""

from __future__ import annotations

import gc

import streamlit as st

from studio.previews import PreviewCache
from studio.settings import Settings, load_settings
from studio.store import migrate
from studio.store.session import Store
from workers.embedded import EmbeddedLoop


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
def _background(database_url: str, home: str) -> EmbeddedLoop | None:
    s = load_settings()
    if s.redis_url or not s.background_jobs:
        return None
    loop = EmbeddedLoop(store())
    loop.start()
    return loop


def background_work() -> EmbeddedLoop | None:
    """Embedded mode: the server's one thread that sends due posts and runs the periodic jobs
    (workers.embedded); None in team mode (the worker pool does it) or with BACKGROUND_JOBS=off."""
    s = settings()
    return _background(s.database_url, str(s.home))


@st.cache_resource(show_spinner=False)
def preview_cache() -> PreviewCache:
    """Prepared data sets and DuckDB connections for the live preview (keys carry the workspace)."""
    return PreviewCache()


@st.cache_resource(show_spinner=False)
def _frozen_heap() -> int:
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def freeze_startup_heap() -> None:
    """Once per server: move what start-up and the first rerun built (modules, caches) out of the collector's
    reach, so the automatic full collections that replace Streamlit's per-rerun one walk only newer objects."""
    _frozen_heap()
