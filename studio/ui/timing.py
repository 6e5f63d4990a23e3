"""The bracket app.py puts around every full rerun.

- Reads remembered for one rerun (studio/store/rerun.py: the member's role, a data set's detail) live from
  `start()` to `finish()`. The scope is tied to this script run (Streamlit makes a new coordinator object
  for every run, full or fragment), so a scope left open by a run stopped early is never seen by a later
  run, and a fragment's rerun reads afresh.
- Optional script timing for `bench/bench_ui.py`: with DOTORO_RERUN_LOG set, every signed-in rerun appends
  "<page> <milliseconds>" to that file. Off (one environment lookup) otherwise.
"""

from __future__ import annotations

import os
import time

from streamlit.runtime.scriptrunner import get_script_run_ctx

from studio.store import rerun


def this_run() -> object | None:
    """An object that stands for this script run (full or fragment) and no other."""
    run = get_script_run_ctx()
    return getattr(run, "parallel_coordinator", None) if run is not None else None


def start() -> float:
    marker = this_run()
    if marker is not None:
        rerun.begin(lambda: this_run() is marker)
    return time.perf_counter()


def start_part() -> float:
    return time.perf_counter()


def finish(started: float, page: str) -> None:
    rerun.end_current()
    log(started, page or "home")


def log(started: float, label: str) -> None:
    """Append "<label> <milliseconds>" to DOTORO_RERUN_LOG when it is set (a full rerun, or a part alone)."""
    path = os.environ.get("DOTORO_RERUN_LOG")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as f:
        f.write(f"{label} {(time.perf_counter() - started) * 1000:.1f}\n")
