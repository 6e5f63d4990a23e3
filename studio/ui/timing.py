"""Optional per-rerun script timing for `bench/bench_ui.py`: with DOTORO_RERUN_LOG set, every signed-in
rerun appends "<page> <milliseconds>" to that file. Off (one environment lookup) otherwise."""

from __future__ import annotations

import os
import time


def start() -> float:
    return time.perf_counter()


def finish(started: float, page: str) -> None:
    path = os.environ.get("DOTORO_RERUN_LOG")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as f:
        f.write(f"{page or 'home'} {(time.perf_counter() - started) * 1000:.1f}\n")
