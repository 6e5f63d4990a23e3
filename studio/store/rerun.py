"""Reads that hold for one rerun of a page (issue 14, item 9: one round trip per read, not one per call).

A page rerun calls a dozen services, and each used to read the member's role twice (its gate and its unit
of work) and some read the same data-set version again and again. Inside `scope()`, which the studio
opens around every full rerun (studio/ui/timing.py), those reads are remembered:

- the acting member's role per (workspace, user): the first unit of work reads it, later ones reuse it;
- results of read services marked `@per_rerun` (e.g. a data set's detail), keyed by the function,
  the workspace, the user and the arguments.

Everything is forgotten when a unit of work in the rerun writes (a role change or an upload is seen by
the very next call) and when the rerun ends, so a role changed elsewhere takes effect on the next rerun.
Outside a scope (jobs, tests, scripts, other threads) nothing is remembered. `alive` lets the UI end a
scope that was never closed (a rerun stopped early) before a later run (e.g. a fragment) could see it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class _Rerun:
    alive: Callable[[], bool]
    roles: dict[tuple[Any, Any], Any] = field(default_factory=dict)
    reads: dict[Hashable, Any] = field(default_factory=dict)


_current: ContextVar[_Rerun | None] = ContextVar("dotoro_rerun", default=None)


def begin(alive: Callable[[], bool] = lambda: True) -> object:
    """Open a scope (replacing any left open in this thread); returns the token for `end`."""
    return _current.set(_Rerun(alive))


def end(token: object) -> None:
    try:
        _current.reset(token)  # type: ignore[arg-type]
    except ValueError:  # opened in another context: just close whatever is open here
        _current.set(None)


def end_current() -> None:
    """Close whatever scope is open in this context (the rerun that opened it is over)."""
    _current.set(None)


@contextmanager
def scope(alive: Callable[[], bool] = lambda: True) -> Iterator[None]:
    token = begin(alive)
    try:
        yield
    finally:
        end(token)


def _active() -> _Rerun | None:
    run = _current.get()
    if run is None:
        return None
    if not run.alive():
        _current.set(None)
        return None
    return run


def role(workspace_id: Any, user_id: Any) -> Any:
    """The role read earlier in this rerun, or None (read it from the store)."""
    run = _active()
    return run.roles.get((workspace_id, user_id)) if run else None


def remember_role(workspace_id: Any, user_id: Any, value: Any) -> None:
    run = _active()
    if run is not None and value is not None:
        run.roles[(workspace_id, user_id)] = value


def forget() -> None:
    """Something was written: every later read in this rerun goes to the store again."""
    run = _current.get()
    if run is not None:
        run.roles.clear()
        run.reads.clear()


def remembered(key: Hashable, compute: Callable[[], R]) -> R:
    """`compute()`, or what it returned earlier in this rerun (nothing written since); the key must name
    everything the value depends on (whose, which workspace)."""
    run = _active()
    if run is None:
        return compute()
    try:
        return run.reads[key]  # type: ignore[no-any-return]
    except KeyError:
        value = compute()
        run.reads[key] = value
        return value


def per_rerun(fn: Callable[P, R]) -> Callable[P, R]:
    """Remember a read service's result for the rest of the rerun (place it under the permission decorator,
    so the gate still runs on every call). The function takes (store, ctx, *hashable args); its result must
    be immutable (frozen dataclasses, tuples)."""
    name = f"{fn.__module__}.{fn.__qualname__}"

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        run = _active()
        ctx: Any = args[1] if len(args) > 1 else kwargs.get("ctx")
        if run is None or ctx is None or getattr(ctx, "system", False):
            return fn(*args, **kwargs)
        key = (name, ctx.workspace_id, ctx.user_id, args[2:], tuple(sorted(kwargs.items())))
        try:
            return run.reads[key]  # type: ignore[no-any-return]
        except KeyError:
            pass
        except TypeError:  # an unhashable argument: not remembered
            return fn(*args, **kwargs)
        value = fn(*args, **kwargs)
        run.reads[key] = value
        return value

    return wrapper
