"""Errors as RFC 9457 problem details (`application/problem+json`), carrying the service's own message."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from engine.errors import EngineError
from studio.errors import AuthError, NotFound, NoWorkspace, PermissionDenied, StudioError, ValidationFailed

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://dotoro.dev/problems/"

TITLES: dict[int, tuple[str, str]] = {
    400: ("bad-request", "The request is not valid"),
    401: ("unauthenticated", "A valid API key is needed"),
    402: ("plan-limit", "The plan's limit is reached"),
    403: ("forbidden", "The key may not do this"),
    404: ("not-found", "Not found in this workspace"),
    405: ("method-not-allowed", "Method not allowed"),
    408: ("request-timeout", "The request body did not arrive in time"),
    409: ("conflict", "The request conflicts with the current state"),
    411: ("length-required", "Send a Content-Length"),
    413: ("too-large", "The request body is too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("invalid", "The request could not be processed"),
    429: ("rate-limited", "Too many requests"),
    500: ("internal", "Something went wrong on our side"),
    503: ("unavailable", "A service the studio needs is unavailable"),
}


class Problem(BaseModel):
    """RFC 9457 problem details; `detail` is the studio's message, written for a person to act on."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[dict[str, Any]] | None = None


class ApiProblem(Exception):
    """Raised by the API's own checks (scopes, cursors, idempotency) with a status and a message."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers or {}


def problem(status: int, detail: str, *, instance: str | None = None, headers: dict[str, str] | None = None,
            errors: list[dict[str, Any]] | None = None) -> Response:
    slug, title = TITLES.get(status, ("error", "Error"))
    body = Problem(type=TYPE_BASE + slug, title=title, status=status, detail=detail, instance=instance,
                   errors=errors).model_dump(exclude_none=True)
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def status_of(exc: Exception) -> int:
    """The HTTP status of a studio error: the error types say what went wrong, the status says it to HTTP."""
    from studio.billing.limits import LimitExceeded, MemberLimitReached
    from studio.billing.stripe_gateway import BillingUnavailable
    from studio.publishing.outbox import BadTransition
    from studio.store.integrity import DuplicateEntry

    if isinstance(exc, (AuthError, NoWorkspace)):
        return 401
    if isinstance(exc, PermissionDenied):
        return 403
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, (DuplicateEntry, BadTransition)):
        return 409
    if isinstance(exc, (LimitExceeded, MemberLimitReached)):
        return 402
    if isinstance(exc, BillingUnavailable):
        return 503
    if isinstance(exc, (ValidationFailed, EngineError)):
        return 422
    return 400


# Every route may answer with these (declared in the OpenAPI document, so clients and schemathesis know them).
RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "description": TITLES[code][1], "content": {MEDIA_TYPE: {}}}
    for code in (400, 401, 402, 403, 404, 408, 409, 413, 422, 429)
}


def install(app: FastAPI) -> None:
    """Every error the API can meet, as a problem: studio errors, validation, HTTP errors, and the rest (500)."""

    @app.exception_handler(ApiProblem)
    async def _api(request: Request, exc: ApiProblem) -> Response:
        return problem(exc.status, exc.detail, instance=request.url.path, headers=exc.headers)

    @app.exception_handler(StudioError)
    async def _studio(request: Request, exc: StudioError) -> Response:
        status = status_of(exc)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return problem(status, exc.message, instance=request.url.path, headers=headers)

    @app.exception_handler(EngineError)
    async def _engine(request: Request, exc: EngineError) -> Response:
        return problem(422, str(exc), instance=request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))} for e in exc.errors()]
        first = errors[0] if errors else {"loc": [], "msg": "invalid"}
        where = ".".join(first["loc"])
        return problem(422, f"{where}: {first['msg']}" if where else str(first["msg"]), instance=request.url.path,
                       errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, ("", "Error"))[1]
        return problem(exc.status_code, detail, instance=request.url.path, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("API call failed: %s %s", request.method, request.url.path)
        return problem(500, "The studio could not complete this request; it has been logged. Try again later.",
                       instance=request.url.path)
