"""The embedded mode's port to the background: where a job goes when there is no Redis.

Team mode hands jobs to RQ (`workers.queues.submit`). In the embedded mode the studio server installs
a runner here (`workers.embedded.EmbeddedWorkers`, started with the server's background loop) that runs
the same job functions on its own thread, so a click returns at once and the page can show progress.
With no runner installed (a script, a test, `BACKGROUND_JOBS=off`) a job runs inline, in the caller.
studio/ never imports workers/: the runner is given to this module, not looked up.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from redis import Redis

    from studio.settings import Settings


class InProcessRunner(Protocol):
    def submit(self, fn: Callable[..., Any], args: tuple[Any, ...], job_id: str | None) -> bool:
        """Queue `fn(*args)`; False when a job with `job_id` is already waiting (a double click)."""
        ...


_lock = threading.Lock()
_runner: InProcessRunner | None = None


def install(runner: InProcessRunner) -> None:
    """Make `runner` the process's background for in-process jobs."""
    global _runner
    with _lock:
        _runner = runner


def uninstall(runner: InProcessRunner) -> None:
    """Remove `runner` if it is the installed one (jobs run inline again)."""
    global _runner
    with _lock:
        if _runner is runner:
            _runner = None


def runner() -> InProcessRunner | None:
    return _runner


def run_in_process(fn: Callable[..., Any], args: tuple[Any, ...], job_id: str | None = None) -> bool:
    """On the installed runner's thread, or inline when there is none; True when it ran or was queued."""
    current = _runner
    if current is None:
        fn(*args)
        return True
    return current.submit(fn, args, job_id)


def redis_connection(settings: Settings) -> Redis:
    """Team mode: the Redis that holds the worker pool's queues (pages and routes ping it; workers.queues builds on it)."""
    from redis import Redis

    if not settings.redis_url:
        raise RuntimeError("REDIS_URL is not set: the team mode needs Redis (embedded mode runs jobs in-process).")
    # a dead Redis is noticed in seconds (pages say so; workers wait and reconnect: workers.worker)
    return Redis.from_url(settings.redis_url, socket_connect_timeout=5, socket_keepalive=True, health_check_interval=30)
