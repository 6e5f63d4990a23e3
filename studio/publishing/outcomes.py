"""What a failed Reddit call means for an outbox item, in words a marketer can act on."""

from __future__ import annotations

import re
from dataclasses import dataclass

from praw.exceptions import RedditAPIException
from prawcore import const
from prawcore.exceptions import (
    BadRequest,
    Forbidden,
    InsufficientScope,
    InvalidToken,
    NotFound,
    OAuthException,
    Redirect,
    ResponseException,
    TooManyRequests,
)

WAIT = re.compile(r"(\d+)\s*(milliseconds?|seconds?|minutes?|hours?)", re.IGNORECASE)
UNITS = {"millisecond": 0.001, "second": 1, "minute": 60, "hour": 3600}


@dataclass(frozen=True)
class Outcome:
    """kind: retry_later (wait_seconds), unknown (reconcile first), failed, reauth (401), revoked (grant gone)."""

    kind: str
    reason: str
    wait_seconds: float = 0.0


def wait_from(message: str, default: float = 600.0) -> float:
    """Seconds from "take a break for 9 minutes before trying again"."""
    m = WAIT.search(message or "")
    if not m:
        return default
    unit = m.group(2).lower().rstrip("s")
    return int(m.group(1)) * UNITS[unit]


def is_revoked(exc: BaseException) -> bool:
    """The account's grant is gone (revoked, expired or a wrong password): only reconnecting helps."""
    if isinstance(exc, OAuthException):
        return exc.error in ("invalid_grant", "unauthorized_client")
    if isinstance(exc, ResponseException) and not isinstance(exc, InvalidToken):
        url = getattr(exc.response, "url", "") or ""
        return const.ACCESS_TOKEN_PATH in url and exc.response.status_code in (400, 401)
    return False


def classify(exc: BaseException, *, subreddit: str = "", username: str = "") -> Outcome:
    """Map an exception raised by a submit or reply to the item's next state."""
    where = f"r/{subreddit}" if subreddit else "the parent thread"
    who = f"u/{username}" if username else "the account"
    if is_revoked(exc):
        return Outcome("revoked", f"Reddit no longer accepts {who}'s sign-in (access revoked or expired): "
                                  "reconnect the account on the Accounts page.")
    if isinstance(exc, RedditAPIException):
        item = exc.items[0]
        kind = item.error_type
        if kind == "RATELIMIT":
            wait = wait_from(item.message or "")
            return Outcome("retry_later", f"Reddit asked {who} to wait ({item.message}); retrying then.", wait)
        if kind in ("SUBREDDIT_NOEXIST", "SUBREDDIT_NOTALLOWED"):
            return Outcome("failed", f"{where} does not exist or does not accept posts from {who}.")
        if kind.startswith("SUBMIT_VALIDATION_FLAIR"):
            return Outcome("failed", f"{where} requires post flair: map a flair column in the publish settings "
                                     f"to one of {where}'s flairs.")
        if kind in ("DELETED_LINK", "DELETED_COMMENT"):
            return Outcome("failed", f"The thread or comment this replies to no longer exists on Reddit ({item.message}).")
        if kind in ("NO_LINKS", "NO_SELFS"):
            allowed = "text posts only" if kind == "NO_LINKS" else "link posts only"
            return Outcome("failed", f"{where} accepts {allowed}.")
        return Outcome("failed", f"Reddit refused it: {kind}: {item.message}")
    if isinstance(exc, TooManyRequests):
        try:
            wait = float(exc.retry_after or 60)
        except ValueError:
            wait = 60.0
        return Outcome("retry_later", f"Reddit is rate limiting the studio (429); retrying in {wait:.0f} s.", wait)
    if isinstance(exc, InsufficientScope):
        return Outcome("reauth", f"{who} did not grant the studio the permission this needs (Reddit answered 403 "
                                 "insufficient_scope): reconnect the account and allow every permission asked.")
    if isinstance(exc, InvalidToken):
        return Outcome("reauth", f"Reddit did not accept {who}'s access token (401).")
    if isinstance(exc, Forbidden):
        return Outcome("failed", f"Reddit answered 403 Forbidden: {who} may be banned from {where}, or {where} "
                                 "is private or restricted.")
    if isinstance(exc, NotFound | Redirect):
        return Outcome("failed", f"{where} does not exist (Reddit answered {exc.response.status_code}).")
    if isinstance(exc, BadRequest):
        return Outcome("failed", f"Reddit rejected the request (400): {exc.response.text[:200]}")
    return Outcome("unknown", f"Reddit did not confirm ({type(exc).__name__}: {str(exc)[:160]}); the studio looks "
                              "for the post in the account's history before any retry.")
