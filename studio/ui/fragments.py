"""Parts of a page that rerun on their own (issue 14, item 9: no whole-page rerun where a part will do).

An edit inside a `part` (a template field, a rule's operator, a grid filter) reruns only that part: not
app.py's sign-in check, sidebar and navigation, nor the pickers above it. What a part does must show its
own result: every action in one that changes something the rest of the page shows reruns the whole page
(`st.rerun()`, whose default scope is the app), as before.

A part rerunning alone keeps the guarantees of a full run: the browser's session is checked again (a
password changed elsewhere signs it out through a full run), and the services it calls read the member's
role afresh; reads are remembered only within that one run of the part (studio/store/rerun.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from studio import auth
from studio.store import rerun
from studio.ui import resources, state, timing

F = TypeVar("F", bound=Callable[..., Any])


def _alone() -> bool:
    """True while a fragment reruns without the rest of the script."""
    run = get_script_run_ctx()
    return bool(run is not None and run.fragment_ids_this_run)


def _still_signed_in() -> bool:
    if state.signed_in() is None:
        return False
    token = state.token()
    return not token or auth.session_active(resources.store(), token)


def part(fn: F) -> F:
    """`st.fragment` with the checks of a full run when it reruns alone."""

    @functools.wraps(fn)
    def body(*args: Any, **kwargs: Any) -> Any:
        if not _alone():
            return fn(*args, **kwargs)
        if not _still_signed_in():
            st.rerun(scope="app")  # the full run signs the tab out and says why
        started, marker = timing.start_part(), timing.this_run()
        try:
            with rerun.scope(lambda: timing.this_run() is marker):
                return fn(*args, **kwargs)
        finally:
            timing.log(started, f"part:{fn.__name__}")

    return st.fragment(body)  # type: ignore[return-value]
