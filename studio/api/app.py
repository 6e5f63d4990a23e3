"""The FastAPI application mounted at /api/v1 in the studio's st.App (see studio/api/__init__.py for why FastAPI).

Every request but the OpenAPI document and the docs page passes the guard first, in this order:
1. the key (`Authorization: Bearer dotoro_sk_…`): unknown, revoked or expired → 401;
2. the key's rate limit (API_RATE_LIMIT a minute, Redis or in process) → 429 with Retry-After;
3. the plan's monthly API calls → 402;
4. the body: at most MAX_JSON_BODY (uploads: the studio's upload limit) → 413, and all of it within
   READ_TIMEOUT_S → 408 (request heads have their own deadline: studio.http_deadline);
5. `Idempotency-Key` on a POST: claimed before the route runs; the stored response of the same key + route
   is replayed, the same Idempotency-Key with another body → 422, and while the first is running → 409
   (a server error releases the key so a retry runs again). Records are kept 24 h.
After the route ran, the call is recorded: the key's last use (time, address), an audit event and one
API call of the plan's usage. Routes only translate HTTP to the studio's services, with a Context built
from the key (its creator, capped at the key's role), so every role check is the services' own.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from studio.api import access, problems
from studio.api.ratelimit import RateLimiter, limiter_for
from studio.api.routes import ROUTERS
from studio.errors import AuthError
from studio.logging_setup import event
from studio.settings import Settings
from studio.store.session import Store

log = logging.getLogger(__name__)

PREFIX = "/api/v1"
PUBLIC_PATHS = ("/openapi.json", "/docs", "/docs/oauth2-redirect")
MAX_JSON_BODY = 1024 * 1024
READ_TIMEOUT_S = 10.0
MAX_STORED_RESPONSE = 2 * 1024 * 1024  # an idempotent POST's response kept for replay (exports are GETs)
IDEMPOTENCY_KEY_MAX = 200

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class Services:
    """What the routes share in one process: the store, the rate limiter, the preview cache."""

    def __init__(self, store: Callable[[], Store], settings: Callable[[], Settings],
                 limiter: RateLimiter | None = None) -> None:
        self.store = store
        self._settings = settings
        self._limiter = limiter
        self._cache: Any = None
        self._lock = threading.Lock()
        self.read_timeout_s = READ_TIMEOUT_S

    @property
    def settings(self) -> Settings:
        return self._settings()

    @property
    def limiter(self) -> RateLimiter:
        with self._lock:
            if self._limiter is None:
                self._limiter = limiter_for(self.settings)
            return self._limiter

    @property
    def preview_cache(self) -> Any:
        with self._lock:
            if self._cache is None:
                from studio.previews import PreviewCache

                self._cache = PreviewCache()
            return self._cache

    def close(self) -> None:
        if self._limiter is not None:
            self._limiter.close()
            self._limiter = None


def build(open_store: Callable[[], Store], settings: Callable[[], Settings], *,
          limiter: RateLimiter | None = None) -> FastAPI:
    """The API app; `open_store` and `settings` are called on first use (the server opens its store lazily)."""
    app = FastAPI(
        title="Dotoro Studio API", version="1.0.0", root_path_in_servers=False,
        description="Data sets, templates, rule sets, preview, campaign sets, jobs, variations, publishing and "
                    "usage of one workspace, with an API key created under Workspace → API keys. Errors are RFC 9457 "
                    "problem details; lists are cursor-paginated; POSTs honour `Idempotency-Key`.",
        openapi_url="/openapi.json", docs_url="/docs", redoc_url=None, responses=problems.RESPONSES,
        servers=[{"url": PREFIX}], generate_unique_id_function=lambda route: route.name,
    )
    app.state.services = Services(open_store, settings, limiter)
    problems.install(app)
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(Guard)
    return app


def include(app: FastAPI, router: Any) -> None:
    """Add a router later (e.g. webhooks): it gets the guard, the problems and the OpenAPI entry like the rest."""
    app.include_router(router)
    app.openapi_schema = None


class Guard:
    """The key, rate limit, allowance, body cap and idempotency around every route (see the module note)."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = _route_path(scope)
        if path in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        services: Services = scope["app"].state.services
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        method = scope["method"]
        address = scope["client"][0] if scope.get("client") else None
        store = services.store()

        def refuse(status: int, detail: str, extra: dict[str, str] | None = None) -> Awaitable[None]:
            event(log, "request.refused", level=logging.WARNING, refused="api", status=status, reason=detail,
                  path=scope.get("path"), client=address)
            return problems.problem(status, detail, instance=scope.get("path"), headers=extra)(scope, receive, send)

        token = headers.get("authorization", "")
        token = token[7:].strip() if token[:7].lower() == "bearer " else None
        try:
            who = await run_in_threadpool(access.authenticate, store, token)
        except AuthError as exc:
            await refuse(401, exc.message, {"WWW-Authenticate": "Bearer"})
            return
        wait = await run_in_threadpool(services.limiter.hit, str(who.key_id))
        if wait is not None:
            await refuse(429, f"The API key {who.name!r} made more than {services.limiter.per_minute} requests this "
                              f"minute; retry in {wait} s.", {"Retry-After": str(wait)})
            return
        over = await run_in_threadpool(access.within_allowance, store, who)
        if over is not None:
            await refuse(402, over)
            return

        body = b""
        if method in ("POST", "PUT", "PATCH", "DELETE"):
            kind = headers.get("content-type", "")
            cap = services.settings.max_upload_bytes + MAX_JSON_BODY if kind.startswith("multipart/") else MAX_JSON_BODY
            try:
                length = int(headers["content-length"]) if "content-length" in headers else None
            except ValueError:
                length = -1
            if length is not None and (length < 0 or length > cap):
                await refuse(413 if length > cap else 400, f"The request body is over {cap:,} bytes; send less."
                             if length > cap else "The Content-Length header is not a number.", {"Connection": "close"})
                return
            try:
                body = await asyncio.wait_for(_read_body(receive, cap), services.read_timeout_s)
            except TimeoutError:
                await refuse(408, f"The request body did not arrive within {services.read_timeout_s:g} s.",
                             {"Connection": "close"})
                return
            except _TooLarge:
                await refuse(413, f"The request body is over {cap:,} bytes; send less.", {"Connection": "close"})
                return
            except _Gone:
                return
        scope.setdefault("state", {})["principal"] = who

        replayed = False
        idem = headers.get("idempotency-key") if method == "POST" else None
        route = f"{method} {path}"
        digest = hashlib.sha256(body).hexdigest()
        status_box: dict[str, Any] = {"status": 500, "headers": [], "chunks": []}
        if idem is not None:
            if not idem or len(idem) > IDEMPOTENCY_KEY_MAX:
                await refuse(400, f"An Idempotency-Key is 1 to {IDEMPOTENCY_KEY_MAX} characters.")
                return
            kept = await run_in_threadpool(access.claim, store, who, route, idem, digest)
            if kept is not None and kept.body_hash != digest:
                await refuse(422, f"The Idempotency-Key {idem!r} was used for this route with another body; "
                                  "use a new key for a new request.")
                return
            if kept is not None and kept.status == access.PENDING:
                await refuse(409, f"A request with the Idempotency-Key {idem!r} is still running; retry in a "
                                  "moment to get its answer.", {"Retry-After": "1"})
                return
            if kept is not None:
                replayed = True
                await _send_stored(send, kept)
                status_box["status"] = kept.status

        try:
            if not replayed:
                await self._run(scope, body, send, status_box, store, who, route, idem, digest)
        finally:  # also when the route raised (a 500 was sent): the call is recorded either way
            try:
                # the preview counts itself in the plan's usage (studio.previews); every other call counts here
                await run_in_threadpool(lambda: access.record_call(
                    store, who, method=method, path=scope["path"], status=status_box["status"], address=address,
                    count_usage=path != "/preview" or replayed))
            except Exception:  # noqa: BLE001 - the caller has its answer; a failed bookkeeping write is logged
                log.exception("recording an API call failed")

    async def _run(self, scope: Scope, body: bytes, send: Send, box: dict[str, Any], store: Store,
                   who: access.Principal, route: str, idem: str | None, digest: str) -> None:
        """The route itself; with an Idempotency-Key its response is kept (or, after a 5xx, the key released)."""
        try:
            await self.app(scope, _replay(body), _capture(send, box, keep=idem is not None))
        finally:
            if idem is not None:
                data = b"".join(box["chunks"])
                keep = box["status"] < 500 and len(data) <= MAX_STORED_RESPONSE
                kept_headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in box["headers"]
                                if k.lower() in (b"content-type", b"location", b"content-disposition")}
                await run_in_threadpool(access.finish, store, who, route, idem,
                                        access.Replay(digest, box["status"], kept_headers, data) if keep else None)


class _TooLarge(Exception):
    pass


class _Gone(Exception):
    pass


def _route_path(scope: Scope) -> str:
    path: str = scope.get("path", "")
    root = scope.get("root_path", "") or ""
    return path[len(root):] if root and path.startswith(root) else path


async def _read_body(receive: Receive, cap: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Gone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > cap:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # nothing more: wait like a connected client until cancelled
        return {"type": "http.disconnect"}

    return receive


def _capture(send: Send, box: dict[str, Any], *, keep: bool) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            box["status"] = message["status"]
            box["headers"] = list(message.get("headers", []))
        elif message["type"] == "http.response.body" and keep:
            box["chunks"].append(message.get("body", b""))
        await send(message)

    return wrapped


async def _send_stored(send: Send, kept: access.Replay) -> None:
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in kept.headers.items()]
    headers += [(b"content-length", str(len(kept.body)).encode()), (b"idempotent-replayed", b"true")]
    await send({"type": "http.response.start", "status": kept.status, "headers": headers})
    await send({"type": "http.response.body", "body": kept.body})
