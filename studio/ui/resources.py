"""Process-wide resources for the studio, held by st.cache_resource (never in session_state)."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import streamlit as st

from studio import jobs
from studio.previews import PreviewCache
from studio.settings import EXTRA_PREFIXES, Settings, StudioEnv, load_settings
from studio.store import migrate
from studio.store.session import Store


@st.cache_resource(show_spinner=False, max_entries=8)
def _settings(environment: tuple[tuple[str, str], ...], dotenv: tuple[str, int]) -> Settings:
    return load_settings()


def settings() -> Settings:
    """The validated settings, read again only when a variable they use or the `.env` file changes (reading
    and validating them costs milliseconds, and a rerun asks for them a dozen times)."""
    env = tuple(sorted((k, v) for k, v in os.environ.items() if k in StudioEnv.model_fields or k.startswith(EXTRA_PREFIXES)))
    dotenv = Path(".env").resolve()
    try:
        stamp = dotenv.stat().st_mtime_ns
    except OSError:
        stamp = 0
    return _settings(env, (str(dotenv), stamp))


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
def _background(database_url: str, home: str) -> jobs.BackgroundLoop | None:
    s = load_settings()
    if s.redis_url or not s.background_jobs:
        return None
    return jobs.start_embedded_loop(store())  # bound by the entry point (workers.bindings), as every job


def background_work() -> jobs.BackgroundLoop | None:
    """Embedded mode: the server's one thread that sends due posts and runs the periodic jobs
    (workers.embedded, through studio.jobs); None in team mode (the worker pool does it) or with BACKGROUND_JOBS=off."""
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
