"""A local double of the Reddit Ads API v3 and Reddit's OAuth endpoints (stdlib HTTP on 127.0.0.1, port 0).

The studio's real client (studio/reddit_ads/client.py, httpx) talks to it through REDDIT_ADS_API_URL and
REDDIT_URL. It validates what the API validates (tests/reddit_ads_rules.py: required fields, enums,
micro-currency, parent ids under the same ad account, name and headline length), wraps bodies as
``{"data": ...}``, paginates lists with ``pagination.next_url``, sends ``x-ratelimit-remaining`` /
``x-ratelimit-reset`` on every answer and 429 + ``Retry-After`` past its limit, and can be scripted to fail
the next call of a kind (500, accept-then-500, 429, hang). Every call is recorded (method, path, body).
Entities can be edited "on Reddit" (`edit_remotely`) to test conflicts.

Assumptions (no public source found): profiles are listed under a business (`/businesses/{id}/profiles`),
and reports are `POST /ad_accounts/{id}/reports` with breakdowns AD_ID and DATE.
"""

from __future__ import annotations

import base64
import itertools
import json
import secrets
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

from tests import reddit_ads_rules as rules
from tests.http_double import JsonHandler, LocalDouble

ADS_SCOPES = "adsread adsedit history read"
CLIENT_ID, CLIENT_SECRET = "ads-app", "ads-secret"


@dataclass
class Failure:
    mode: str  # "500" / "accept_then_500" / "429" / "hang"
    retry_after: int = 1
    seconds: float = 30.0


class RedditAdsDouble(LocalDouble[Failure]):
    failure = Failure  # fail_next kinds: create_campaign, create_ad_group, create_post, create_ad, update, list, report

    def __init__(self) -> None:
        super().__init__(_handler(self))
        self.entities: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, str, Any]] = []
        self.refresh_tokens: dict[str, tuple[str, frozenset[str]]] = {}
        self.access_tokens: dict[str, tuple[str, frozenset[str], float]] = {}
        self.codes: dict[str, tuple[str, frozenset[str]]] = {}
        self.rotate_refresh = False
        self.rate_limit = (600, 600.0)  # N requests per window seconds, per ad account (or per token elsewhere)
        self.window: dict[str, deque[float]] = {}
        self.page_size = 50
        self.metrics: dict[tuple[str, str], dict[str, int]] = {}  # (ad id, YYYY-MM-DD) -> counts
        self.businesses: dict[str, dict[str, Any]] = {}
        self.ids = itertools.count(1)

    @property
    def api_url(self) -> str:
        return self.url + "/api/v3"

    # scripting -------------------------------------------------------------------------------------------
    def add_business(self, name: str = "Acme", *, user: str = "acme_ads", currency: str = "USD") -> dict[str, str]:
        """A business with one ad account (spending in `currency`), one funding instrument and one profile; returns
        their ids. `double.businesses[ids["business"]]["currency"]` changes the account's currency later."""
        with self.lock:
            n = next(self.ids)
            ids = {"business": f"b{n}", "ad_account": f"a2_{n}", "funding_instrument": f"fi{n}", "profile": f"t2_p{n}",
                   "user": user}
            self.businesses[ids["business"]] = {"name": name, "currency": currency, **ids}
            return ids

    def grant(self, user: str, *, scopes: str = ADS_SCOPES) -> str:
        """A refresh token of `user` for the studio's app (the end of a consent)."""
        token = "rt-" + secrets.token_hex(8)
        with self.lock:
            self.refresh_tokens[token] = (user, frozenset(scopes.split()))
        return token

    def revoke(self, user: str) -> None:
        with self.lock:
            for t in [t for t, (u, _) in self.refresh_tokens.items() if u == user]:
                del self.refresh_tokens[t]
            for t in [t for t, (u, _, _) in self.access_tokens.items() if u == user]:
                del self.access_tokens[t]

    def expire_access_tokens(self) -> None:
        with self.lock:
            self.access_tokens = {t: (u, s, 0.0) for t, (u, s, _) in self.access_tokens.items()}

    def edit_remotely(self, entity_id: str, **fields: Any) -> None:
        with self.lock:
            self.entities[entity_id].update(fields, modified_at=_now())

    def of(self, kind: str) -> list[dict[str, Any]]:
        with self.lock:
            return [e for e in self.entities.values() if e["kind"] == kind]

    def writes(self) -> list[tuple[str, str, Any]]:
        with self.lock:
            return [c for c in self.calls if c[0] in ("POST", "PATCH") and "/reports" not in c[1]
                    and not c[1].startswith("/api/v1/")]

    # behaviour ------------------------------------------------------------------------------------------
    def _limited(self, key: str) -> tuple[bool, int, float]:
        n, window = self.rate_limit
        now = time.time()
        with self.lock:
            seen = self.window.setdefault(key, deque())
            while seen and now - seen[0] >= window:
                seen.popleft()
            reset = (seen[0] + window - now) if seen else window
            if len(seen) >= n:
                return True, 0, reset
            seen.append(now)
            return False, n - len(seen), reset

    def _new(self, kind: str, account: str, data: dict[str, Any], **extra: Any) -> dict[str, Any]:
        with self.lock:
            prefix = {"campaign": "c", "ad_group": "g", "post": "t3_", "ad": "ad"}[kind]
            entity = {"id": f"{prefix}{next(self.ids)}", "kind": kind, "ad_account_id": account, **extra, **data,
                      "created_at": _now(), "modified_at": _now()}
            self.entities[entity["id"]] = entity
            return entity

    def report(self, account: str, starts: str, ends: str) -> list[dict[str, Any]]:
        with self.lock:
            ads = {e["id"] for e in self.entities.values() if e["kind"] == "ad" and e["ad_account_id"] == account}
            return [{"ad_id": ad, "date": day, **counts} for (ad, day), counts in sorted(self.metrics.items())
                    if ad in ads and starts <= day <= ends]


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{int(time.time() * 1e6) % 1_000_000:06d}Z"


def _ad_account(biz: dict[str, Any]) -> dict[str, Any]:
    return {"id": biz["ad_account"], "name": biz["name"] + " ads", "currency": biz["currency"],
            "business_id": biz["business"]}


def _public(entity: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entity.items() if k != "kind"}


COLLECTIONS = {"campaigns": "campaign", "ad_groups": "ad_group", "ads": "ad"}


def _handler(double: RedditAdsDouble) -> type[BaseHTTPRequestHandler]:
    class Handler(JsonHandler):
        def do_GET(self) -> None:
            self._route("GET", b"")

        def do_POST(self) -> None:
            self._route("POST", self._body())

        def do_PATCH(self) -> None:
            self._route("PATCH", self._body())

        # ----------------------------------------------------------------------------------------------
        def _route(self, method: str, raw: bytes) -> None:
            path, query = self._target()
            body: Any = None
            if path.startswith("/api/v3") and raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    return self._send(400, {"error": {"code": "INVALID_JSON", "message": "body is not JSON"}})
            with double.lock:
                double.calls.append((method, path, body))
            if path == "/api/v1/access_token":
                return self._token_endpoint({k: v[-1] for k, v in parse_qs(raw.decode()).items()})
            if path == "/api/v1/authorize":
                return self._authorize(query)
            if not path.startswith("/api/v3/"):
                return self._send(404, {"error": {"code": "NOT_FOUND", "message": path}})
            user, scopes = self._auth()
            if user is None:
                return self._send(401, {"error": {"code": "INVALID_TOKEN", "message": "Unauthorized"}})
            need = "adsread" if method == "GET" else "adsedit"
            if need not in scopes:
                return self._send(403, {"error": {"code": "PERMISSION_DENIED", "message": f"needs scope {need}"}})
            parts = path[len("/api/v3/"):].split("/")
            account = parts[1] if parts[0] == "ad_accounts" and len(parts) > 1 else self._account_of(parts)
            limited, remaining, reset = double._limited(account or self._bearer())
            headers = {"x-ratelimit-remaining": str(remaining), "x-ratelimit-reset": f"{reset:.0f}",
                       "x-ratelimit-used": str(double.rate_limit[0] - remaining)}
            if limited:
                return self._send(429, {"error": {"code": "RATE_LIMIT_EXCEEDED", "message": "Too many requests"}},
                                  {**headers, "Retry-After": f"{max(1, round(reset))}"})
            kind = ("create_" + COLLECTIONS.get(parts[-1], "post").removesuffix("s")) if method == "POST" and \
                parts[-1] in ("campaigns", "ad_groups", "ads", "posts") else \
                ("update" if method == "PATCH" else ("report" if parts[-1] == "reports" else "list"))
            failure = double._next_failure(kind)
            if failure and failure.mode == "429":
                return self._send(429, {"error": {"code": "RATE_LIMIT_EXCEEDED", "message": "Too many requests"}},
                                  {**headers, "Retry-After": str(failure.retry_after)})
            if failure and failure.mode == "500":
                return self._send(500, {"error": {"code": "INTERNAL_ERROR", "message": "try again"}}, headers)
            if failure and failure.mode == "hang":
                double.release.wait(failure.seconds)
            status, answer = self._serve(method, parts, query, body, user)
            if failure and failure.mode == "accept_then_500" and status < 300:
                status, answer = 500, {"error": {"code": "INTERNAL_ERROR", "message": "try again"}}
            self._send(status, answer, headers)

        def _auth(self) -> tuple[str | None, frozenset[str]]:
            with double.lock:
                user, scopes, expiry = double.access_tokens.get(self._bearer(), (None, frozenset(), 0.0))
            return (user, scopes) if user and expiry > time.time() else (None, frozenset())

        def _account_of(self, parts: list[str]) -> str | None:
            if len(parts) == 2 and parts[0] in ("campaigns", "ad_groups", "ads", "posts"):
                entity = double.entities.get(parts[1])
                return entity["ad_account_id"] if entity else None
            return None

        def _authorize(self, query: dict[str, str]) -> None:
            """Reddit's consent page, approved at once for the business's user named in `login_hint` or the first."""
            user = query.get("login_hint") or next(iter(b["user"] for b in double.businesses.values()), "nobody")
            code = "code-" + secrets.token_hex(6)
            with double.lock:
                double.codes[code] = (user, frozenset(query.get("scope", "").split()))
            target = query.get("redirect_uri", "") + "?" + urlencode({"state": query.get("state", ""), "code": code})
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _token_answer(self, user: str, scopes: frozenset[str], refresh: str | None) -> None:
            access = "at-" + secrets.token_hex(8)
            with double.lock:
                double.access_tokens[access] = (user, scopes, time.time() + 3600)
            answer = {"access_token": access, "token_type": "bearer", "expires_in": 3600, "scope": " ".join(sorted(scopes))}
            if refresh:
                answer["refresh_token"] = refresh
            self._send(200, answer)

        def _token_endpoint(self, form: dict[str, str]) -> None:
            basic = self.headers.get("Authorization", "")
            expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            if basic != expected:
                return self._send(401, {"error": "invalid_client"})
            grant = form.get("grant_type")
            with double.lock:
                if grant == "authorization_code" and form.get("code") in double.codes:
                    user, scopes = double.codes.pop(form["code"])
                    refresh = "rt-" + secrets.token_hex(8)
                    double.refresh_tokens[refresh] = (user, scopes)
                elif grant == "refresh_token" and form.get("refresh_token") in double.refresh_tokens:
                    user, scopes = double.refresh_tokens[form["refresh_token"]]
                    refresh = None
                    if double.rotate_refresh:
                        del double.refresh_tokens[form["refresh_token"]]
                        refresh = "rt-" + secrets.token_hex(8)
                        double.refresh_tokens[refresh] = (user, scopes)
                else:
                    return self._send(400, {"error": "invalid_grant"})
            self._token_answer(user, scopes, refresh)

        # the API ----------------------------------------------------------------------------------------
        def _list(self, items: list[dict[str, Any]], query: dict[str, str]) -> tuple[int, Any]:
            start = int(query.get("page.token") or 0)
            size = min(int(query.get("page.size") or double.page_size), double.page_size)
            page = items[start:start + size]
            nxt = None
            if start + size < len(items):
                nxt = self.headers.get("Host", "") and f"http://{self.headers['Host']}{urlparse(self.path).path}?" + \
                    urlencode({**query, "page.token": str(start + size)})
            return 200, {"data": [_public(e) for e in page], "pagination": {"next_url": nxt}}

        def _serve(self, method: str, parts: list[str], query: dict[str, str], body: Any,
                   user: str) -> tuple[int, Any]:
            mine = {b["ad_account"]: b for b in double.businesses.values() if b["user"] == user}
            if parts == ["me"]:
                return 200, {"data": {"id": "u_" + user, "username": user}}
            if parts == ["me", "businesses"]:
                return 200, {"data": [{"id": b["business"], "name": b["name"]} for b in mine.values()],
                             "pagination": {"next_url": None}}
            if len(parts) == 3 and parts[0] == "businesses":
                biz = double.businesses.get(parts[1])
                if biz is None or biz["user"] != user:
                    return 404, {"error": {"code": "RESOURCE_NOT_FOUND", "message": "no such business"}}
                if parts[2] == "ad_accounts":
                    return 200, {"data": [_ad_account(biz)],
                                 "pagination": {"next_url": None}}
                if parts[2] == "profiles":
                    return 200, {"data": [{"id": biz["profile"], "name": "u/" + user}], "pagination": {"next_url": None}}
            if parts[0] == "ad_accounts" and len(parts) >= 2:
                if parts[1] not in mine:
                    return 404, {"error": {"code": "RESOURCE_NOT_FOUND", "message": "no such ad account"}}
                return self._account(method, parts[1], parts[2:], query, body, mine[parts[1]])
            if parts[0] == "profiles" and len(parts) == 3 and parts[2] == "posts":
                biz = next((b for b in mine.values() if b["profile"] == parts[1]), None)
                if biz is None:
                    return 404, {"error": {"code": "RESOURCE_NOT_FOUND", "message": "no such profile"}}
                if method == "GET":
                    return self._list([e for e in double.of("post") if e["profile_id"] == parts[1]], query)
                data = (body or {}).get("data")
                errs = rules.errors("post", data, create=True, exists={})
                if errs:
                    return 400, {"error": {"code": "VALIDATION_ERROR", "message": "invalid post", "fields": errs}}
                return 201, {"data": _public(double._new("post", biz["ad_account"], data, profile_id=parts[1]))}
            if len(parts) == 2 and parts[0] in ("campaigns", "ad_groups", "ads", "posts"):
                entity = double.entities.get(parts[1])
                if entity is None or entity["ad_account_id"] not in mine:
                    return 404, {"error": {"code": "RESOURCE_NOT_FOUND", "message": "not found"}}
                if method == "GET":
                    return 200, {"data": _public(entity)}
                if method == "PATCH" and parts[0] != "posts":
                    data = (body or {}).get("data")
                    errs = rules.errors(entity["kind"], data, create=False, exists=self._exists(entity["ad_account_id"], data))
                    if errs:
                        return 400, {"error": {"code": "VALIDATION_ERROR", "message": "invalid update", "fields": errs}}
                    with double.lock:
                        entity.update(data, modified_at=_now())
                    return 200, {"data": _public(entity)}
            return 404, {"error": {"code": "RESOURCE_NOT_FOUND", "message": "/".join(parts)}}

        def _exists(self, account: str, data: Any) -> dict[str, bool]:
            if not isinstance(data, dict):
                return {}
            out = {}
            for key, kind in (("campaign_id", "campaign"), ("ad_group_id", "ad_group"), ("post_id", "post")):
                entity = double.entities.get(str(data.get(key, "")))
                out[key] = bool(entity and entity["kind"] == kind and entity["ad_account_id"] == account)
            return out

        def _account(self, method: str, account: str, rest: list[str], query: dict[str, str], body: Any,
                     biz: dict[str, Any]) -> tuple[int, Any]:
            if rest == [] and method == "GET":
                return 200, {"data": _ad_account(biz)}
            if rest == ["funding_instruments"]:
                return 200, {"data": [{"id": biz["funding_instrument"], "name": "Card ending 4242"}],
                             "pagination": {"next_url": None}}
            if rest == ["reports"] and method == "POST":
                data = (body or {}).get("data") or {}
                return 200, {"data": {"metrics": double.report(account, str(data.get("starts_at", ""))[:10],
                                                               str(data.get("ends_at", ""))[:10])}}
            if len(rest) != 1 or rest[0] not in COLLECTIONS:
                return 404, {"error": {"code": "RESOURCE_NOT_FOUND", "message": "/".join(rest)}}
            kind = COLLECTIONS[rest[0]]
            if method == "GET":
                items = [e for e in double.of(kind) if e["ad_account_id"] == account]
                for key in ("campaign_id", "ad_group_id"):
                    if key in query:
                        items = [e for e in items if e.get(key) == query[key]]
                return self._list(items, query)
            data = (body or {}).get("data")
            errs = rules.errors(kind, data, create=True, exists=self._exists(account, data))
            if errs:
                return 400, {"error": {"code": "VALIDATION_ERROR", "message": f"invalid {kind}", "fields": errs}}
            return 201, {"data": _public(double._new(kind, account, data))}

    return Handler
