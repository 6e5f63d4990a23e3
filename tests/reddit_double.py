"""A local double of Reddit's API (stdlib HTTP on 127.0.0.1, port 0) that the real praw talks to.

It refuses what Reddit refuses (the checks live in reddit_rules.py), with Reddit's error triples (r2's api.py and
validator.py): a title blank or over 300 code points (NO_TEXT / TOO_LONG), an unknown `kind`
(INVALID_OPTION), a link without `url` (NO_URL), a `flair_id` the subreddit does not have
(BAD_FLAIR_TEMPLATE_ID), too many posts back to back (RATELIMIT, "take a break for N minutes"),
an expired access token (401 invalid_token, so prawcore refreshes), a token without the endpoint's
scope (403 insufficient_scope) and a comment on a parent that does not exist. Every submit stores
the parameters it was sent (`post["params"]`) next to what Reddit would show (over_18, spoiler,
send_replies, link_flair_template_id…), so tests can compare the post field by field. The user
listings crash reconciliation reads can lag (`listing_delay`), as Reddit's do.

It can also be scripted to fail the next request of a kind (submit, comment, token…) with
RATELIMIT, 5xx or a timeout after accepting, 401 once, 403, 429 with retry-after, or to hold a
request open until the test releases it.
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs

from tests import reddit_rules as rules
from tests.http_double import JsonHandler, LocalDouble
from tests.reddit_rules import Subreddit

SCOPE = "identity submit read flair history"


@dataclass
class Failure:
    mode: str  # ratelimit / accept_then_500 / accept_then_timeout / unauthorized / forbidden / too_many / hold / server_error
    minutes: int = 9
    unit: str = "minutes"  # RATELIMIT: "take a break for <minutes> <unit>"
    retry_after: int = 30
    accept: bool = True  # hold: store the post before holding the request open
    seconds: float = 5.0


class RedditDouble(LocalDouble[Failure]):
    """The double's state; `url` goes into REDDIT_OAUTH_URL and REDDIT_URL."""

    failure = Failure

    def __init__(self) -> None:
        super().__init__(_handler(self))
        self.users: dict[str, dict[str, Any]] = {}
        self.refresh_tokens: dict[str, str] = {}
        self.access_tokens: dict[str, str] = {}
        self.codes: dict[str, str] = {}
        self.subreddits: dict[str, Subreddit] = {}
        self.posts: list[dict[str, Any]] = []
        self.comments: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str]] = []
        self.rotate_refresh = False
        self.grants: dict[str, frozenset[str]] = {}  # refresh token / code -> scopes granted
        self.token_scopes: dict[str, frozenset[str]] = {}
        self.token_expiry: dict[str, float] = {}
        self.token_lifetime = 3600.0  # expires_in of new access tokens
        self.rate_limits = {"submit": (5, 60.0), "comment": (10, 60.0)}  # at most N per window seconds, per user
        self.listing_delay = 0.0  # seconds before a new post shows in the author's listings
        self.rejections: list[tuple[str, list[list[str]]]] = []  # (path, Reddit's errors) of refused writes
        self.seen = threading.Event()
        self.ids = itertools.count(1000)

    # scripting -------------------------------------------------------------------------------
    def add_user(self, name: str, *, password: str = "pw", link_karma: int = 5000, comment_karma: int = 5000,
                 age_days: float = 900, scopes: str = SCOPE) -> str:
        """Create an account; returns a refresh token granted to the studio's app (with `scopes`)."""
        with self.lock:
            self.users[name] = {"password": password, "link_karma": link_karma, "comment_karma": comment_karma,
                                "created_utc": time.time() - age_days * 86400}
            token = "rt-" + secrets.token_hex(8)
            self.refresh_tokens[token] = name
            self.grants[token] = frozenset(scopes.split())
            return token

    def issue_code(self, name: str, *, scopes: str = SCOPE) -> str:
        """The code Reddit's consent page hands back, for a grant of `scopes` (the user may grant fewer)."""
        code = "code-" + secrets.token_hex(6)
        with self.lock:
            self.codes[code] = name
            self.grants[code] = frozenset(scopes.split())
        return code

    def expire_tokens(self, name: str | None = None) -> None:
        """Every access token (of `name`) expires now, although its client still counts on `expires_in`."""
        with self.lock:
            for token, user in self.access_tokens.items():
                if name is None or user == name:
                    self.token_expiry[token] = 0.0

    def revoke(self, name: str) -> None:
        with self.lock:
            for token in [t for t, u in self.refresh_tokens.items() if u == name]:
                del self.refresh_tokens[token]
            for token in [t for t, u in self.access_tokens.items() if u == name]:
                del self.access_tokens[token]

    def add_subreddit(self, name: str, **kw: Any) -> None:
        self.subreddits[name.lower()] = Subreddit(name, **kw)

    def count(self, path_part: str) -> int:
        return sum(1 for _, p in self.requests if path_part in p)

    # behaviour -------------------------------------------------------------------------------
    def new_post(self, author: str, form: dict[str, str]) -> dict[str, Any]:
        """Store a submit that passed `submit_errors`, as Reddit shows it and as it was sent (`params`)."""
        pid = _b36(next(self.ids))
        sub = self.subreddits[form["sr"].lower()]
        flair_id = form.get("flair_id") or None
        template = dict(sub.flairs).get(flair_id or "", "")
        link = f"https://www.reddit.com/r/{sub.name}/comments/{pid}/"
        post = {"id": pid, "name": f"t3_{pid}", "author": author, "subreddit": sub.name, "title": form["title"],
                "kind": form["kind"], "selftext": form.get("text", "") if form["kind"] == "self" else "",
                "url": form.get("url", link) if form["kind"] == "link" else link, "is_self": form["kind"] == "self",
                "link_flair_template_id": flair_id, "link_flair_text": (form.get("flair_text") or template) if flair_id
                else None, "over_18": rules.form_bool(form, "nsfw", False), "spoiler": rules.form_bool(form, "spoiler", False),
                "send_replies": rules.form_bool(form, "sendreplies", True), "params": dict(form),
                "created_utc": time.time(), "score": 1, "upvote_ratio": 1.0, "num_comments": 0,
                "removed_by_category": None, "permalink": f"/r/{sub.name}/comments/{pid}/"}
        with self.lock:
            self.posts.append(post)
        return post

    def new_comment(self, author: str, form: dict[str, str]) -> dict[str, Any]:
        cid = _b36(next(self.ids))
        parent = form["thing_id"]
        link = parent if parent.startswith("t3_") else next(
            (c["link_id"] for c in self.comments if c["name"] == parent), parent)
        post = next((p for p in self.posts if p["name"] == link), None)
        comment = {"id": cid, "name": f"t1_{cid}", "author": author, "body": form.get("text", ""), "parent_id": parent,
                   "link_id": link, "subreddit": post["subreddit"] if post else "unknown", "created_utc": time.time(),
                   "score": 1, "permalink": f"/r/x/comments/{link[3:]}/_/{cid}/", "params": dict(form)}
        with self.lock:
            self.comments.append(comment)
            if post:
                post["num_comments"] += 1
        return comment

    def submit_errors(self, form: dict[str, str]) -> list[list[str]]:
        """Reddit's refusals of a submit, in its [code, message, field] form; [] when it would be accepted."""
        return rules.submit_errors(form, self.subreddits.get(form.get("sr", "").lower()))

    def comment_errors(self, form: dict[str, str]) -> list[list[str]]:
        with self.lock:
            known = {p["name"] for p in self.posts} | {c["name"] for c in self.comments}
        return rules.comment_errors(form, known)

    def wait_needed(self, kind: str, author: str) -> float:
        """Seconds until `author` may post again under the rate limit of `kind` (0: now)."""
        n, window = self.rate_limits[kind]
        now = time.time()
        with self.lock:
            things = self.posts if kind == "submit" else self.comments
            recent = sorted(t["created_utc"] for t in things if t["author"] == author and now - t["created_utc"] < window)
        return recent[-n] + window - now if len(recent) >= n else 0.0

    def listed(self, things: list[dict[str, Any]], author: str) -> list[dict[str, Any]]:
        """The author's things as their listing shows them: newest first, the last `listing_delay` s not yet."""
        cutoff = time.time() - self.listing_delay
        mine = [t for t in things if t["author"] == author and t["created_utc"] <= cutoff]
        return sorted(mine, key=lambda t: -t["created_utc"])[:100]


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out or "0"


def _listing(kind: str, things: list[dict[str, Any]]) -> dict[str, Any]:
    return {"kind": "Listing", "data": {"after": None, "before": None, "dist": len(things),
                                        "children": [{"kind": kind, "data": t} for t in things]}}


def _handler(double: RedditDouble) -> type[BaseHTTPRequestHandler]:
    class Handler(JsonHandler):
        def _form(self) -> dict[str, str]:
            return {k: v[-1] for k, v in parse_qs(self._body().decode(), keep_blank_values=True).items()}

        def _user(self) -> str | None:
            """The token's user; None when unknown or expired (Reddit answers 401 and prawcore refreshes)."""
            token = self._bearer()
            if double.token_expiry.get(token, 0.0) <= time.time():
                return None
            return double.access_tokens.get(token)

        def _refuse(self, path: str, errors: list[list[str]]) -> None:
            with double.lock:
                double.rejections.append((path, errors))
            return self._send(200, {"json": {"errors": errors}})

        def do_GET(self) -> None:
            self._route("GET", {})

        def do_POST(self) -> None:
            self._route("POST", self._form())

        def _route(self, method: str, form: dict[str, str]) -> None:
            path, query = self._target()
            with double.lock:
                double.requests.append((method, path))
            if path == "/api/v1/access_token":
                return self._token(form)
            if path == "/api/v1/revoke_token":
                return self._send(204, {})
            user = self._user()
            if user is None:
                return self._send(401, {"message": "Unauthorized", "error": 401},
                                  {"www-authenticate": 'Bearer realm="reddit", error="invalid_token"'})
            if rules.scope_for(path) not in double.token_scopes.get(self._bearer(), frozenset()):
                return self._send(403, {"message": "Forbidden", "error": 403},
                                  {"www-authenticate": 'Bearer realm="reddit", error="insufficient_scope"'})
            kind = {"/api/submit": "submit", "/api/comment": "comment"}.get(path, "read")
            failure = double._next_failure(kind) if method == "POST" or kind == "read" else None
            if failure and failure.mode == "unauthorized":
                return self._send(401, {"message": "Unauthorized", "error": 401},
                                  {"www-authenticate": 'Bearer realm="reddit", error="invalid_token"'})
            if failure and failure.mode == "forbidden":
                return self._send(403, {"message": "Forbidden", "error": 403})
            if failure and failure.mode == "too_many":
                return self._send(429, {"message": "Too Many Requests", "error": 429},
                                  {"retry-after": str(failure.retry_after)})
            if failure and failure.mode == "server_error":
                return self._send(500, {"message": "Internal Server Error", "error": 500})
            if failure and failure.mode == "ratelimit":
                text = (f"Looks like you've been doing that a lot. Take a break for {failure.minutes} {failure.unit} "
                        "before trying again.")
                return self._send(200, {"json": {"errors": [["RATELIMIT", text, "ratelimit"]]}})
            if kind == "submit":
                return self._submit(user, form, failure)
            if kind == "comment":
                return self._comment(user, form, failure)
            return self._read(user, path, query)

        def _token(self, form: dict[str, str]) -> None:
            grant = form.get("grant_type")
            with double.lock:
                scopes = frozenset(SCOPE.split())
                if grant == "refresh_token":
                    user = double.refresh_tokens.get(form.get("refresh_token", ""))
                    scopes = double.grants.get(form.get("refresh_token", ""), scopes)
                elif grant == "password":
                    u = double.users.get(form.get("username", ""))
                    user = form["username"] if u and u["password"] == form.get("password") else None
                elif grant == "authorization_code":
                    user = double.codes.pop(form.get("code", ""), None)
                    scopes = double.grants.pop(form.get("code", ""), scopes)
                else:
                    user = "__app__"
                if user is None:
                    status = 200 if grant == "password" else 400
                    return self._send(status, {"error": "invalid_grant"})
                access = "at-" + secrets.token_hex(8)
                double.access_tokens[access] = user
                double.token_scopes[access] = scopes
                double.token_expiry[access] = time.time() + double.token_lifetime
                body: dict[str, Any] = {"access_token": access, "token_type": "bearer",
                                        "expires_in": int(double.token_lifetime), "scope": " ".join(sorted(scopes))}
                if grant == "authorization_code" or (grant == "refresh_token" and double.rotate_refresh):
                    if grant == "refresh_token":
                        del double.refresh_tokens[form["refresh_token"]]
                    new = "rt-" + secrets.token_hex(8)
                    double.refresh_tokens[new] = user
                    double.grants[new] = scopes
                    body["refresh_token"] = new
            return self._send(200, body)

        def _submit(self, user: str, form: dict[str, str], failure: Failure | None) -> None:
            errors = double.submit_errors(form)
            if errors:
                return self._refuse("/api/submit", errors)
            wait = double.wait_needed("submit", user)
            if wait > 0:
                return self._refuse("/api/submit", [["RATELIMIT", rules.ratelimit_text(wait), "ratelimit"]])
            if failure and failure.mode == "hold" and not failure.accept:
                double.seen.set()
                double.release.wait(failure.seconds)
                return self._send(500, {"message": "held", "error": 500})
            post = double.new_post(user, form)
            double.seen.set()
            if failure and failure.mode == "hold":
                double.release.wait(failure.seconds)
            if failure and failure.mode == "accept_then_500":
                return self._send(500, {"message": "Internal Server Error", "error": 500})
            if failure and failure.mode == "accept_then_timeout":
                time.sleep(failure.seconds)
            return self._send(200, {"json": {"errors": [], "data": {
                "url": f"https://www.reddit.com{post['permalink']}", "drafts_count": 0, "id": post["id"],
                "name": post["name"]}}})

        def _comment(self, user: str, form: dict[str, str], failure: Failure | None) -> None:
            errors = double.comment_errors(form)
            if errors:
                return self._refuse("/api/comment", errors)
            wait = double.wait_needed("comment", user)
            if wait > 0:
                return self._refuse("/api/comment", [["RATELIMIT", rules.ratelimit_text(wait), "ratelimit"]])
            comment = double.new_comment(user, form)
            double.seen.set()
            if failure and failure.mode == "accept_then_500":
                return self._send(500, {"message": "Internal Server Error", "error": 500})
            if failure and failure.mode == "accept_then_timeout":
                time.sleep(failure.seconds)
            return self._send(200, {"json": {"errors": [], "data": {"things": [{"kind": "t1", "data": comment}]}}})

        def _read(self, user: str, path: str, query: dict[str, str]) -> None:
            parts = path.strip("/").split("/")
            if path == "/api/v1/me":
                u = double.users[user]
                return self._send(200, {"name": user, "id": user[:6], "link_karma": u["link_karma"],
                                        "comment_karma": u["comment_karma"], "created_utc": u["created_utc"]})
            if parts[0] == "r" and len(parts) >= 3:
                sub = double.subreddits.get(parts[1].lower())
                if sub is None:
                    return self._send(404, {"message": "Not Found", "error": 404})
                if parts[2] == "about":
                    return self._send(200, {"kind": "t5", "data": {"display_name": sub.name, "id": sub.name[:5],
                                                                   "name": f"t5_{sub.name[:5]}",
                                                                   "submission_type": sub.submission_type}})
                if parts[2:] == ["api", "link_flair_v2"]:
                    return self._send(200, [{"id": i, "text": t, "text_editable": False, "type": "text"}
                                            for i, t in sub.flairs])
            if path.startswith("/api/v1/") and path.endswith("/post_requirements"):
                sub = double.subreddits.get(parts[2].lower())
                if sub is None:
                    return self._send(404, {"message": "Not Found", "error": 404})
                return self._send(200, {"is_flair_required": sub.flair_required})
            if parts[0] == "user" and len(parts) == 3:
                if parts[2] == "submitted":
                    return self._send(200, _listing("t3", double.listed(double.posts, parts[1])))
                if parts[2] == "comments":
                    return self._send(200, _listing("t1", double.listed(double.comments, parts[1])))
            if path == "/api/info":
                wanted = query.get("id", "").split(",")
                things = [p for p in double.posts if p["name"] in wanted]
                return self._send(200, _listing("t3", things))
            return self._send(404, {"message": "Not Found", "error": 404})

    return Handler
