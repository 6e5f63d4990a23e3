"""Every public service declares what its caller needs, and the declaration is the check (issue #15).

A service function is one of:

- ``@requires(Permission.X)``: the acting member's role must allow X in ``ctx``'s workspace (jobs,
  ``ctx.system``, pass). Checked before the body runs, so the public API cannot skip it.
- ``@system_only(why)``: only background jobs (``ctx.system``) may call it; with no ``ctx`` the
  function takes a workspace id that no person can choose, and the declaration documents that.
- ``@operator_only``: the studio's operators (``OPERATOR_EMAILS``), for the admin pages.
- ``@public(why)``: needs no role: signing up or in, a secret token that is itself the proof
  (invitations, password reset), or the caller's own account.
- ``@internal(why)``: a building block that services call after their own gate (e.g. the
  credential store under studio.auth); pages, the UI and workers never import its module.

``tests/studio/test_permissions.py`` walks the ``studio`` package and fails for any public function
taking ``store`` or ``ctx`` without one of these; it then calls every declared function as a viewer,
a member and a non-member and checks the refusals.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from studio.context import Context, Permission, Role, allows, capped
from studio.errors import PermissionDenied
from studio.store import rerun

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class Declaration:
    kind: str  # "permission" | "system" | "operator" | "public" | "internal"
    permission: Permission | None = None
    reason: str = ""


# "module.function" -> its declaration; filled at import time by the decorators below.
REGISTRY: dict[str, Declaration] = {}

# Set only by the meta-test (gates_only()): run the gate and return GATE_PASSED instead of the body,
# so every function can be called with placeholder arguments and nothing else happens.
_gates_only: ContextVar[bool] = ContextVar("gates_only", default=False)
GATE_PASSED = object()


@contextmanager
def gates_only() -> Iterator[None]:
    """Tests: decorated functions check their caller and return GATE_PASSED without running."""
    token = _gates_only.set(True)
    try:
        yield
    finally:
        _gates_only.reset(token)


def declaration(fn: Callable[..., Any]) -> Declaration | None:
    return getattr(fn, "__declaration__", None)


def _argument(sig: inspect.Signature, name: str) -> Callable[[tuple[Any, ...], dict[str, Any]], Any] | None:
    """A fast reader of argument `name` from a call's (args, kwargs); None when fn has no such parameter."""
    names = list(sig.parameters)
    if name not in names:
        return None
    index = names.index(name)
    default = sig.parameters[name].default

    def read(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if index < len(args):
            return args[index]
        return kwargs.get(name, None if default is inspect.Parameter.empty else default)

    return read


def _declare(fn: Callable[P, R], decl: Declaration, gate: Callable[[tuple[Any, ...], dict[str, Any]], None]
             ) -> Callable[P, R]:
    key = f"{fn.__module__}.{fn.__qualname__}"

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        outermost = _roles.get() is None
        token = _roles.set({}) if outermost else None
        try:
            gate(args, kwargs)
            if _gates_only.get():
                return GATE_PASSED  # type: ignore[return-value]
            return fn(*args, **kwargs)
        finally:
            if token is not None:
                _roles.reset(token)

    wrapper.__declaration__ = decl  # type: ignore[attr-defined]
    REGISTRY[key] = decl
    return wrapper


# The roles read during one outermost service call, so the services it calls (generate → start_run →
# load_table …) do not read them again; every new call from a page reads them fresh.
_roles: ContextVar[dict[tuple[Any, Any], Role] | None] = ContextVar("roles", default=None)


def check(store: Any, ctx: Any, permission: Permission) -> None:
    """PermissionDenied unless `ctx` is a job or a member whose current role allows `permission`."""
    if not isinstance(ctx, Context):
        raise PermissionDenied("This action needs a signed-in member of a workspace.")
    if ctx.system:
        return
    if ctx.user_id is None:
        raise PermissionDenied("Sign in to do this.")
    seen = _roles.get()
    key = (ctx.user_id, ctx.workspace_id)
    role = seen.get(key) if seen is not None else None
    if role is None and ctx.workspace_id is not None:
        role = rerun.role(ctx.workspace_id, ctx.user_id)  # read earlier in this page rerun, before any write
    if role is None:
        with store.session_scope(ctx) as s:  # raises for a non-member; reads the role fresh
            role = s.role
        if seen is not None and role is not None:
            seen[key] = role
    role = capped(role, ctx.role_cap)  # an API key acts with at most its own role
    if not allows(role, permission):
        shown = role.value if role else "no role"
        raise PermissionDenied(f"Your role ({shown}) does not allow you to {permission.value} in this workspace.")


def requires(permission: Permission) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """The acting member's role must allow `permission` in ctx's workspace (see the module note)."""

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        sig = inspect.signature(fn)
        get_store, get_ctx = _argument(sig, "store"), _argument(sig, "ctx")
        if get_store is None or get_ctx is None:
            raise TypeError(f"@requires needs a function taking store and ctx; {fn.__qualname__} does not.")
        read_store, read_ctx = get_store, get_ctx

        def gate(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
            check(read_store(args, kwargs), read_ctx(args, kwargs), permission)

        return _declare(fn, Declaration("permission", permission), gate)

    return decorate


def system_only(reason: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Background jobs only: a `ctx` must be a job context (functions without ctx take ids no person picks)."""

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        get_ctx = _argument(inspect.signature(fn), "ctx")

        def gate(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
            if get_ctx is not None:
                ctx = get_ctx(args, kwargs)
                if not (isinstance(ctx, Context) and ctx.system):
                    raise PermissionDenied("Only the studio's background jobs do this, not a member.")

        return _declare(fn, Declaration("system", reason=reason), gate)

    return decorate


def operator_only(fn: Callable[P, R]) -> Callable[P, R]:
    """The studio's operators (OPERATOR_EMAILS) only; takes `store` and `user_id`."""
    sig = inspect.signature(fn)
    get_store, get_user = _argument(sig, "store"), _argument(sig, "user_id")
    if get_store is None or get_user is None:
        raise TypeError(f"@operator_only needs a function taking store and user_id; {fn.__qualname__} does not.")
    read_store, read_user = get_store, get_user

    def gate(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        from studio.admin import require_operator  # admin imports this module

        token = _gates_only.set(False)  # the check itself is a (public) service: always run it
        try:
            require_operator(read_store(args, kwargs), read_user(args, kwargs))
        finally:
            _gates_only.reset(token)

    return _declare(fn, Declaration("operator"), gate)


def internal(reason: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """A building block that services call after their own gate; pages and the UI never call it (tested)."""

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        return _declare(fn, Declaration("internal", reason=reason), lambda _a, _k: None)

    return decorate


def public(reason: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Needs no role in any workspace; `reason` says why (sign-in, a token as proof, one's own account)."""
    if not reason.strip():
        raise TypeError("@public needs a reason.")

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        return _declare(fn, Declaration("public", reason=reason), lambda _a, _k: None)

    return decorate
