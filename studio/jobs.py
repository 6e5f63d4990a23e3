"""studio/'s one port to the background: named job operations, and where a job goes when there is no Redis.

studio/ never imports workers/ (ARCHITECTURE.md): services call the operations declared below — a job name
and the ids it takes, e.g. `jobs.enqueue_run(settings, ws, run_id, chunks)` — and workers/ binds the functions
that do them, all in one place (`workers.bindings.install()`, called by every entry point: app.py, server.py,
`python -m workers.worker`, `python -m workers.maintenance`, the embedded loop, tests/conftest.py, bench/).
Calling an operation nothing bound raises JobsNotBound, which says which entry point forgot.

Team mode hands jobs to RQ (`workers.queues.submit`). In the embedded mode the studio server installs
a runner here (`workers.embedded.EmbeddedWorkers`, started with the server's background loop) that runs
the same job functions on its own thread, so a click returns at once and the page can show progress.
With no runner installed (a script, a test, `BACKGROUND_JOBS=off`) a job runs inline, in the caller.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, ParamSpec, Protocol, TypeVar

if TYPE_CHECKING:
    from redis import Redis

    from studio.context import WorkspaceId
    from studio.settings import Settings
    from studio.store.session import Store

P = ParamSpec("P")
R = TypeVar("R")


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


# --- the named operations: studio/ calls them, workers.bindings binds them ------------------------------------

class JobsNotBound(RuntimeError):
    """studio/ asked for a background job in a process whose entry point never bound workers/ to this port."""


class Operation(Generic[P, R]):
    """One job operation by name; calling it runs what workers/ bound (typed: the bound function must take the
    same arguments, checked by mypy at the `bind` call)."""

    def __init__(self, name: str, declared: Callable[P, R]) -> None:
        self.name = name
        self.declared = declared  # the stub: its signature is what a binding must take
        self.__doc__ = declared.__doc__
        self._impl: Callable[P, R] | None = None

    def bind(self, impl: Callable[P, R]) -> None:
        self._impl = impl

    @property
    def bound(self) -> bool:
        return self._impl is not None

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        impl = self._impl
        if impl is None:
            raise JobsNotBound(
                f"Background job {self.name!r} has no implementation in this process: its entry point must call "
                "workers.bindings.install() before studio code queues jobs (app.py, server.py, workers/worker.py, "
                "workers/maintenance.py and tests/conftest.py do; a new script or entry point must too).")
        return impl(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<job operation {self.name} ({'bound' if self.bound else 'unbound'})>"


OPERATIONS: dict[str, Operation[..., Any]] = {}
"""Every operation by name (workers.bindings must bind them all; tests/test_boundaries.py checks it)."""


def _operation(name: str) -> Callable[[Callable[P, R]], Operation[P, R]]:
    """Declare an operation with the signature (and docstring) of the decorated stub."""
    def declare(stub: Callable[P, R]) -> Operation[P, R]:
        if name in OPERATIONS:
            raise ValueError(f"job operation {name!r} is declared twice")
        op: Operation[P, R] = Operation(name, stub)
        OPERATIONS[name] = op
        return op
    return declare


def unbound() -> list[str]:
    """Names of the operations nothing bound yet (empty after workers.bindings.install())."""
    return sorted(name for name, op in OPERATIONS.items() if not op.bound)


@_operation("generation.enqueue_run")
def enqueue_run(settings: Settings, workspace_id: WorkspaceId, run_id: uuid.UUID, chunks: int) -> None:
    """One job per chunk of a started run (team: RQ; embedded: the server's job thread; off: inline)."""
    raise NotImplementedError


@_operation("generation.recover_run")
def recover_run(settings: Settings, workspace_id: WorkspaceId, run_id: uuid.UUID) -> int:
    """Queue a stalled run's unfinished chunks again; returns how many."""
    raise NotImplementedError


@_operation("publishing.enqueue_item")
def enqueue_publish_item(settings: Settings, ws: WorkspaceId | uuid.UUID, item_id: uuid.UUID, gen: int,
                         at: dt.datetime) -> None:
    """Team mode: the publish job of an outbox item (generation `gen`) at `at` (now if past)."""
    raise NotImplementedError


@_operation("ads.enqueue_sync")
def enqueue_ads_sync(settings: Settings, ws: WorkspaceId | uuid.UUID, sync_id: uuid.UUID, delay: float = 0.0) -> None:
    """A Reddit Ads sync job, now or after `delay` seconds."""
    raise NotImplementedError


@_operation("events.enqueue_dispatch")
def enqueue_dispatch(store: Store, workspace_id: uuid.UUID) -> None:
    """Fan the workspace's new events out soon (after a commit that emitted one)."""
    raise NotImplementedError


@_operation("feeds.enqueue_prepare")
def enqueue_feed_prepare(settings: Settings, workspace_id: WorkspaceId, dataset_id: uuid.UUID, version: int) -> None:
    """Diff every set following the data set against its new `version`."""
    raise NotImplementedError


@_operation("feeds.enqueue_apply")
def enqueue_feed_apply(store: Store, workspace_id: WorkspaceId, diff_id: uuid.UUID) -> None:
    """One job per unfinished chunk of an accepted diff."""
    raise NotImplementedError


@_operation("feeds.recover")
def recover_feed_apply(store: Store, workspace_id: WorkspaceId, diff_id: uuid.UUID) -> int:
    """Queue a stalled apply's unfinished chunks again; returns how many."""
    raise NotImplementedError


@dataclass(frozen=True)
class QueueInfo:
    name: str
    queued: int
    started: int
    failed: int
    scheduled: int
    deferred: int


@dataclass(frozen=True)
class WorkerInfo:
    name: str
    state: str
    queues: tuple[str, ...]
    current_job: str | None
    last_heartbeat: dt.datetime | None


@dataclass(frozen=True)
class JobInfo:
    id: str
    queue: str
    function: str
    status: str
    when: dt.datetime | None
    error: str


class QueueAdmin(Protocol):
    """Team mode: the worker pool's queues as the operator page sees and mends them (no queue objects leak)."""

    def names(self) -> tuple[str, ...]:
        """Every queue the workers listen on."""
        ...

    def queues(self) -> tuple[QueueInfo, ...]: ...

    def workers(self) -> tuple[WorkerInfo, ...]: ...

    def jobs(self, status: Literal["failed", "scheduled"], limit: int) -> tuple[JobInfo, ...]:
        """Up to `limit` failed (newest first) or scheduled (soonest first) jobs of each queue."""
        ...

    def retry(self, queue: str, job_id: str) -> bool:
        """Put a failed job back on its queue; False when it is not in the failed list."""
        ...

    def delete(self, queue: str, job_id: str) -> bool:
        """Delete a job for good (from the failed and scheduled lists too); False when it does not exist."""
        ...


@_operation("queues.admin")
def queue_admin(settings: Settings) -> QueueAdmin:
    """The team mode's queues (needs REDIS_URL)."""
    raise NotImplementedError


class BackgroundLoop(Protocol):
    """The embedded server's background thread (periodic jobs and the in-process worker)."""

    def is_alive(self) -> bool: ...

    def stop(self) -> None: ...

    def join(self, timeout: float | None = None) -> None: ...


@_operation("embedded.start_loop")
def start_embedded_loop(store: Store) -> BackgroundLoop:
    """Embedded mode: start the server's background loop on `store` (once per server process)."""
    raise NotImplementedError
