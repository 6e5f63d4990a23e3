"""The one Reddit Ads API v3 client: httpx for HTTP, tenacity for retries, Reddit's OAuth for tokens.

Why these: praw does not cover the Ads API; httpx gives explicit connect/read timeouts, a connection pool and
a clean error hierarchy, and is what the public API's tests already use; tenacity is the maintained retry
library (wait strategies, attempt limits, per-exception decisions) — a hand loop would repeat all of it.

What is retried and what is not:
- 429 (the request was refused, nothing happened): after its ``Retry-After`` (capped by
  REDDIT_ADS_MAX_WAIT_SECONDS; longer → ``RateLimited`` so the job ends and resumes later).
- 500–504 and timeouts of **reads and updates** (idempotent): exponential backoff with jitter.
- A **create** that fails with 5xx or times out is *ambiguous* (Reddit may have created it): it is never
  resent here; ``Ambiguous`` is raised and the sync looks the entity up by name under its parent first.
- 401: the access token is refreshed once; a refresh refused (``invalid_grant``) → ``ReconnectNeeded``.
- Other 4xx → ``AdsRefused`` with the API's field messages.

Rate limiting per ad account: every answer's ``x-ratelimit-remaining`` / ``x-ratelimit-reset`` is recorded in a
gate (Redis in team mode, shared by all workers; a dict in embedded mode); when the remaining budget is at the
reserve, the next call waits for the reset instead of spending it and meeting a 429.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from studio.settings import Settings

SCOPES = ("adsread", "adsedit", "history", "read")
USER_AGENT = "python:dotoro-studio-ads:1.0 (self-hosted)"
RESERVE = 2  # calls kept back from the window's budget (a second worker may be mid-call)


class AdsError(Exception):
    """A Reddit Ads call that did not succeed; ``message`` is for people."""

    def __init__(self, message: str, *, status: int = 0, code: str = "", fields: list[dict[str, str]] | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.fields = fields or []


class ReconnectNeeded(AdsError):
    """The grant was revoked or expired: a person has to connect the ads account again."""


class AdsRefused(AdsError):
    """Reddit refused the request (4xx other than 401/429): sending it again will not help."""


class RateLimited(AdsError):
    """Reddit asks for a longer pause than a job waits; ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: float):
        super().__init__(message, status=429, code="RATE_LIMIT_EXCEEDED")
        self.retry_after = retry_after


class Ambiguous(AdsError):
    """A create failed in a way that does not say whether Reddit made the entity (5xx, timeout, dropped)."""


class _Retry(AdsError):
    """Internal: worth another attempt after ``wait`` seconds (None: the backoff decides)."""

    def __init__(self, message: str, wait: float | None = None, status: int = 0):
        super().__init__(message, status=status)
        self.wait = wait


class Gate(Protocol):
    def before(self, key: str) -> float:
        """Seconds to wait before the next call under ``key`` (0: go)."""

    def after(self, key: str, remaining: int | None, reset: float | None) -> None:
        """Record what the answer said of the window."""


@dataclass
class MemoryGate:
    """Embedded mode: one process, one dict."""

    until: dict[str, float] = field(default_factory=dict)

    def before(self, key: str) -> float:
        return max(0.0, self.until.get(key, 0.0) - time.time())

    def after(self, key: str, remaining: int | None, reset: float | None) -> None:
        if remaining is not None and reset is not None and remaining <= RESERVE:
            self.until[key] = time.time() + reset
        elif remaining is not None and remaining > RESERVE:
            self.until.pop(key, None)


class RedisGate:
    """Team mode: every worker sees the same window of an ad account."""

    def __init__(self, redis: Any):
        self.redis = redis

    def before(self, key: str) -> float:
        raw = self.redis.get(f"dotoro:ads-gate:{key}")
        return max(0.0, float(raw) - time.time()) if raw else 0.0

    def after(self, key: str, remaining: int | None, reset: float | None) -> None:
        name = f"dotoro:ads-gate:{key}"
        if remaining is not None and reset is not None and remaining <= RESERVE:
            self.redis.set(name, str(time.time() + reset), ex=max(1, int(reset) + 1))
        elif remaining is not None and remaining > RESERVE:
            self.redis.delete(name)


@dataclass
class Grant:
    """The secrets of one connection; ``save_refresh`` stores a rotated refresh token before anything else."""

    refresh_token: str
    save_refresh: Callable[[str], None]
    access_token: str = ""
    expires_at: float = 0.0


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _problem(response: httpx.Response) -> tuple[str, str, list[dict[str, str]]]:
    try:
        err = (response.json() or {}).get("error") or {}
    except ValueError:
        err = {}
    if not isinstance(err, dict):
        return str(err), "", []
    fields: list[dict[str, str]] = err["fields"] if isinstance(err.get("fields"), list) else []
    return str(err.get("message") or response.reason_phrase), str(err.get("code") or ""), fields


class AdsClient:
    """Calls under one ad account (``gate_key``) with one grant."""

    def __init__(self, settings: Settings, grant: Grant, *, gate: Gate, gate_key: str,
                 transport: httpx.BaseTransport | None = None):
        extra = settings.extra
        self.base = extra.get("REDDIT_ADS_API_URL", "https://ads-api.reddit.com/api/v3").rstrip("/")
        self.token_url = extra.get("REDDIT_URL", "https://www.reddit.com").rstrip("/") + "/api/v1/access_token"
        self.client_id = extra.get("REDDIT_CLIENT_ID", "")
        self.client_secret = extra.get("REDDIT_CLIENT_SECRET", "")
        self.retries = int(extra.get("REDDIT_ADS_RETRIES", 4) or 0)
        self.backoff = float(extra.get("REDDIT_ADS_BACKOFF_SECONDS", 1) or 1)
        self.max_wait = float(extra.get("REDDIT_ADS_MAX_WAIT_SECONDS", 120) or 120)
        timeout = float(extra.get("REDDIT_ADS_TIMEOUT", 30) or 30)
        self.grant, self.gate, self.gate_key = grant, gate, gate_key
        self.http = httpx.Client(timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)), transport=transport,
                                 headers={"User-Agent": USER_AGENT}, follow_redirects=False)
        self.calls = 0

    def close(self) -> None:
        self.http.close()

    # tokens --------------------------------------------------------------------------------------------
    def _token(self, *, force: bool = False) -> str:
        if not force and self.grant.access_token and self.grant.expires_at - 60 > time.time():
            return self.grant.access_token
        try:
            answer = self.http.post(self.token_url, auth=(self.client_id, self.client_secret),
                                    data={"grant_type": "refresh_token", "refresh_token": self.grant.refresh_token})
        except httpx.HTTPError as exc:
            raise _Retry(f"Reddit's sign-in service did not answer ({type(exc).__name__}).") from exc
        if answer.status_code in (400, 401):
            raise ReconnectNeeded("Reddit no longer accepts this ads connection (the grant was revoked or expired): "
                                  "connect the ads account again.", status=answer.status_code, code="invalid_grant")
        if answer.status_code >= 500:
            raise _Retry(f"Reddit's sign-in service failed ({answer.status_code}).", status=answer.status_code)
        body = answer.json()
        if body.get("refresh_token") and body["refresh_token"] != self.grant.refresh_token:
            self.grant.save_refresh(body["refresh_token"])  # rotated: stored before it is used once
            self.grant.refresh_token = body["refresh_token"]
        self.grant.access_token = body["access_token"]
        self.grant.expires_at = time.time() + float(body.get("expires_in", 3600))
        return self.grant.access_token

    # one call --------------------------------------------------------------------------------------------
    def _once(self, method: str, url: str, *, json: Any = None, params: dict[str, Any] | None = None,
              create: bool = False) -> Any:
        wait = self.gate.before(self.gate_key)
        if wait > self.max_wait:
            raise RateLimited(f"Reddit's rate limit for this ad account resets in {wait:.0f} s; the sync resumes then.",
                              wait)
        if wait:
            time.sleep(wait)
        for refreshed in (False, True):
            token = self._token(force=refreshed)
            self.calls += 1
            try:
                answer = self.http.request(method, url, json=json, params=params,
                                           headers={"Authorization": f"Bearer {token}"})
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # never reached Reddit
                raise _Retry(f"Reddit Ads could not be reached ({type(exc).__name__}).") from exc
            except httpx.HTTPError as exc:
                if create:
                    raise Ambiguous(f"Reddit did not answer the create ({type(exc).__name__}); it may exist.") from exc
                raise _Retry(f"Reddit Ads did not answer ({type(exc).__name__}).") from exc
            self.gate.after(self.gate_key, _int(answer.headers.get("x-ratelimit-remaining")),
                            _number(answer.headers.get("x-ratelimit-reset")))
            if answer.status_code == 401 and not refreshed:
                continue
            return self._answer(answer, create)
        raise ReconnectNeeded("Reddit refuses this ads connection's tokens: connect the ads account again.", status=401)

    def _answer(self, answer: httpx.Response, create: bool) -> Any:
        status = answer.status_code
        if status < 300:
            return {} if status == 204 or not answer.content else answer.json()
        message, code, fields = _problem(answer)
        if status == 429:
            after = _number(answer.headers.get("Retry-After")) or _number(answer.headers.get("x-ratelimit-reset")) or 1
            if after > self.max_wait:
                raise RateLimited(f"Reddit asks to wait {after:.0f} s before the next call; the sync resumes then.",
                                  after)
            raise _Retry("Reddit's rate limit was reached.", wait=after, status=429)
        if status in (500, 502, 503, 504):
            if create:
                raise Ambiguous(f"Reddit failed while creating ({status} {message}); it may exist.", status=status)
            raise _Retry(f"Reddit Ads failed ({status} {message}).", status=status)
        if status == 401:
            raise ReconnectNeeded("Reddit refuses this ads connection: connect the ads account again.", status=401)
        detail = "; ".join(f"{f.get('field')}: {f.get('message')}" for f in fields if isinstance(f, dict))
        raise AdsRefused(f"Reddit refused it ({status} {code or message}){': ' + detail if detail else ''}.",
                         status=status, code=code, fields=fields)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Retry) and exc.wait is not None:
            return min(exc.wait, self.max_wait)
        return min(self.backoff * 2 ** (state.attempt_number - 1), 30.0) + random.uniform(0, self.backoff / 2)

    def call(self, method: str, path: str, *, data: Any = None, params: dict[str, Any] | None = None,
             create: bool = False) -> Any:
        """One API call with retries; ``path`` under the API base, or a full ``next_url``."""
        url = path if path.startswith("http") else self.base + path
        body = {"data": data} if data is not None else None
        retrying = Retrying(stop=stop_after_attempt(self.retries + 1), wait=self._wait, reraise=True,
                            retry=retry_if_exception(lambda e: isinstance(e, _Retry)))
        try:
            return retrying(self._once, method, url, json=body, params=params, create=create)
        except _Retry as exc:
            raise AdsError(exc.message + f" Gave up after {self.retries + 1} attempts.", status=exc.status) from exc

    # conveniences ------------------------------------------------------------------------------------------
    def get(self, path: str, **params: Any) -> dict[str, Any]:
        return self.call("GET", path, params=params or None).get("data") or {}

    def pages(self, path: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a list, following ``pagination.next_url`` as given."""
        answer = self.call("GET", path, params={"page.size": 100, **params})
        while True:
            yield from answer.get("data") or []
            nxt = (answer.get("pagination") or {}).get("next_url")
            if not nxt:
                return
            answer = self.call("GET", nxt)

    def create(self, path: str, data: dict[str, Any]) -> dict[str, Any]:
        return self.call("POST", path, data=data, create=True).get("data") or {}

    def update(self, path: str, data: dict[str, Any]) -> dict[str, Any]:
        return self.call("PATCH", path, data=data).get("data") or {}


def _int(value: str | None) -> int | None:
    number = _number(value)
    return int(number) if number is not None else None
