"""The studio's HTTP routes beside its pages, on the same port (served by st.App in server.py).

- ``POST /stripe/webhook``: Stripe's events, verified and applied once (studio.billing.webhooks); a body
  that is too big (413), unsized (411) or too slow (408, the connection closed) is refused unread.
- ``GET /oauth/reddit/callback``: Reddit's OAuth redirect, handed to the Reddit accounts page.
- ``/api/v1/…``: the public API (studio.api: a FastAPI app mounted here, with its OpenAPI document and docs).
- ``GET /healthz``: the process answers.  ``GET /readyz``: Postgres (or SQLite), Redis and the migrations
  are ready; 503 naming what is not.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from studio.billing import webhooks
from studio.logging_setup import event
from studio.settings import Settings, load_settings
from studio.store.session import Store

log = logging.getLogger(__name__)

WEBHOOK_PATHS = ("/stripe/webhook", "/stripe/webhook/")
MAX_BODY = 1024 * 1024  # Stripe events are a few KB; refuse anything absurd before reading it
READ_TIMEOUT_S = 10.0  # the whole body must arrive within this (a dripping client gets 408, not a task forever)


class Endpoints:
    """The routes and the one Store they share; the store opens on first use and closes with the server."""

    def __init__(self, settings: Settings | None = None, *, store: Store | None = None,
                 read_timeout_s: float = READ_TIMEOUT_S) -> None:
        self._settings = settings
        self._store = store
        self._owns_store = store is None
        self.read_timeout_s = read_timeout_s
        self._head_seen = False
        self._api: Any = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = self._store.settings if self._store is not None else load_settings()
        return self._settings

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.settings)
        return self._store

    @property
    def api(self) -> Any:
        """The public API's FastAPI app (studio.api.app), sharing this store; add routers with api.app.include."""
        if self._api is None:
            from studio.api import app as api_app

            self._api = api_app.build(lambda: self.store, lambda: self.settings)
        return self._api

    def close(self) -> None:
        if self._api is not None:
            self._api.state.services.close()
        if self._store is not None and self._owns_store:
            self._store.dispose()
            self._store = None

    @asynccontextmanager
    async def lifespan(self, _app: Any) -> AsyncIterator[dict[str, Any]]:
        try:
            yield {}
        finally:
            self.close()

    def routes(self) -> list[BaseRoute]:
        return [
            *[Route(path, self.stripe_webhook, methods=["POST"]) for path in WEBHOOK_PATHS],
            Route("/oauth/reddit/callback", self.reddit_callback, methods=["GET"]),
            Route("/healthz", self.healthz, methods=["GET"]),
            Route("/readyz", self.readyz, methods=["GET"]),
            Mount("/api/v1", app=self.api),
        ]

    # --- Stripe -------------------------------------------------------------------------------------------

    async def stripe_webhook(self, request: Request) -> Response:
        if "chunked" in (request.headers.get("transfer-encoding") or "").lower():
            return _refused(request, 411, "send a Content-Length")
        try:
            length = int(request.headers.get("content-length") or "0")
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            return _refused(request, 413 if length > MAX_BODY else 400, "bad length")
        try:
            body = await asyncio.wait_for(_read(request, length), self.read_timeout_s)
        except (TimeoutError, _ShortBody):
            return _refused(request, 408, "the request body did not arrive in time")
        try:
            result = await run_in_threadpool(webhooks.handle, self.store, body, request.headers.get("stripe-signature"))
        except Exception:
            log.exception("webhook failed")
            return PlainTextResponse("error; retry", status_code=500)
        if result.status >= 400:
            return _refused(request, result.status, result.message, close=False)
        event(log, "webhook.handled", status=result.status, detail=result.message)
        return PlainTextResponse(result.message, status_code=result.status)

    # --- Reddit -------------------------------------------------------------------------------------------

    async def reddit_callback(self, request: Request) -> Response:
        """Reddit sends the browser here after the owner allowed (or denied) access; the Reddit accounts page
        checks the state against the signed-in session and exchanges the code."""
        query = {k: v for k, v in request.query_params.items() if k in ("code", "state", "error")}
        return RedirectResponse("/accounts?" + urlencode(query), status_code=303)

    # --- health -------------------------------------------------------------------------------------------

    async def healthz(self, request: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(self, request: Request) -> Response:
        checks = await run_in_threadpool(self.readiness)
        ready = all(v == "ok" for v in checks.values())
        if not ready:
            event(log, "readyz.not_ready", level=logging.WARNING, **checks)
        return JSONResponse({"ready": ready, **checks}, status_code=200 if ready else 503)

    def readiness(self) -> dict[str, str]:
        """'ok' or what is wrong, for the database, Redis (team mode) and the migrations."""
        from sqlalchemy import text

        checks: dict[str, str] = {}
        try:
            with self.store.engine.connect() as conn:
                conn.execute(text("select 1"))
            checks["database"] = "ok"
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            checks["database"] = f"unreachable: {type(exc).__name__}"
        if self.settings.redis_url:
            try:
                from studio.jobs import redis_connection

                redis = redis_connection(self.settings)
                try:
                    redis.ping()
                finally:
                    redis.close()
                checks["redis"] = "ok"
            except Exception as exc:  # noqa: BLE001
                checks["redis"] = f"unreachable: {type(exc).__name__}"
        checks["migrations"] = self._migrations() if checks["database"] == "ok" else "unknown (no database)"
        return checks

    def _migrations(self) -> str:
        if self._head_seen:  # a schema at head stays there while this process runs
            return "ok"
        from alembic.script import ScriptDirectory
        from sqlalchemy import create_engine, text
        from sqlalchemy.pool import NullPool

        from studio.store.migrate import _config

        heads = set(ScriptDirectory.from_config(_config(None)).get_heads())
        # the app role may not read alembic_version (it owns nothing): ask as the schema owner when it cannot
        for url in dict.fromkeys([self.store.url, self.settings.migration_database_url]):
            engine = self.store.engine if url == self.store.url else create_engine(url, poolclass=NullPool)
            try:
                with engine.connect() as conn:
                    current = {str(r[0]) for r in conn.execute(text("select version_num from alembic_version"))}
                break
            except Exception:  # noqa: BLE001 - try the next role; reported below when none can read it
                current = None
            finally:
                if engine is not self.store.engine:
                    engine.dispose()
        if current is None:
            return "unknown (cannot read alembic_version)"
        if current != heads:
            return f"behind: at {', '.join(sorted(current)) or 'nothing'}, head is {', '.join(sorted(heads))} (run make migrate)"
        self._head_seen = True
        return "ok"


class _ShortBody(Exception):
    """The client hung up before sending the whole body."""


async def _read(request: Request, length: int) -> bytes:
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        chunks.append(chunk)
        received += len(chunk)
        if received > length:
            break
    if received < length:
        raise _ShortBody
    return b"".join(chunks)[:length]


def _refused(request: Request, status: int, reason: str, *, close: bool = True) -> Response:
    event(log, "request.refused", level=logging.WARNING, refused="webhook", status=status, reason=reason,
          path=request.url.path, client=request.client.host if request.client else None)
    headers = {"Connection": "close"} if close else None
    return PlainTextResponse(reason, status_code=status, headers=headers)
