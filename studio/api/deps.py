"""What every route gets: the authenticated caller (set by the guard in studio.api.app), scope checks, cursors."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from studio.api.access import Principal
from studio.api.keys import SCOPES, has_scope
from studio.api.problems import ApiProblem
from studio.context import Context
from studio.store.session import Store

T = TypeVar("T")

bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer dotoro_sk_…`")


@dataclass(frozen=True)
class Caller:
    principal: Principal
    ctx: Context
    store: Store
    services: Any  # studio.api.app.Services: the preview cache and other per-process helpers


def caller(request: Request, _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Caller:
    principal = getattr(request.state, "principal", None)
    if principal is None:  # the guard authenticates every route; this is a route mounted without it
        raise ApiProblem(401, "Send an API key as 'Authorization: Bearer dotoro_sk_…'.")
    services = request.app.state.services
    address = request.client.host if request.client else None
    return Caller(principal, principal.context(address), services.store(), services)


def need(scope: str) -> Callable[..., Caller]:
    """A dependency: the caller, when its key has `scope` (or admin); 403 naming the scope otherwise."""
    assert scope in SCOPES

    def check(who: Annotated[Caller, Depends(caller)]) -> Caller:
        if not has_scope(who.principal.scopes, scope):
            raise ApiProblem(403, f"The API key {who.principal.name!r} lacks the '{scope}' scope "
                                  f"({SCOPES[scope]}); it has: {', '.join(who.principal.scopes) or 'none'}.")
        return who

    return check


Read = Annotated[Caller, Depends(need("read"))]
Write = Annotated[Caller, Depends(need("write"))]
Publish = Annotated[Caller, Depends(need("publish"))]

MAX_LIMIT = 500
MAX_OFFSET = 2**31  # a cursor past this was not made by us (and would overflow the database's OFFSET)
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="items per page")]
Cursor = Annotated[str | None, Query(max_length=200, description="`next_cursor` of the previous page")]


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        offset = int(raw["o"])
    except (ValueError, KeyError, TypeError, OverflowError, binascii.Error, json.JSONDecodeError):
        raise ApiProblem(400, "This cursor is not valid; pass the `next_cursor` of a previous page, or none.") from None
    if not 0 <= offset <= MAX_OFFSET:
        raise ApiProblem(400, "This cursor is not valid; pass the `next_cursor` of a previous page, or none.")
    return offset


def page_of(items: Sequence[T], cursor: str | None, limit: int) -> tuple[list[T], str | None]:
    """A page of a list the service returned whole (lists of a workspace's data sets, templates, …)."""
    start = decode_cursor(cursor)
    chunk = list(items[start:start + limit])
    return chunk, encode_cursor(start + limit) if start + limit < len(items) else None
