"""The one place that builds praw clients (base URLs from settings) and turns Reddit's answers into plain data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import praw
import requests
from prawcore import Requestor, Session, const
from prawcore.exceptions import (
    Forbidden,
    InsufficientScope,
    NotFound,
    PrawcoreException,
    Redirect,
    RequestException,
    ResponseException,
)

from studio.settings import Settings

SCOPES = ["identity", "submit", "read", "flair", "history"]


@dataclass(frozen=True)
class Credentials:
    """Decrypted secrets of one account, alive only for the duration of one call."""

    auth_kind: str  # oauth / script
    username: str
    client_id: str = ""
    client_secret: str | None = None
    password: str | None = None
    refresh_token: str | None = None


@dataclass(frozen=True)
class Identity:
    name: str
    link_karma: int
    comment_karma: int
    created_at: dt.datetime | None


@dataclass(frozen=True)
class SubredditInfo:
    name: str
    exists: bool
    problem: str = ""
    submission_type: str = "any"  # any / self / link
    flair_required: bool = False
    flairs: dict[str, str] = field(default_factory=dict)  # lower-cased text -> template id
    flairs_readable: bool = True


@dataclass(frozen=True)
class Posted:
    id: str
    fullname: str
    url: str


@dataclass(frozen=True)
class Recent:
    """A submission or comment from the account's own history (for reconciliation)."""

    id: str
    fullname: str
    subreddit: str
    title: str
    body: str
    parent: str
    created_at: dt.datetime
    url: str


@dataclass(frozen=True)
class Reading:
    fullname: str
    score: int
    upvote_ratio: float
    num_comments: int
    removed: bool


class Unconfirmed(PrawcoreException):
    """The connection failed or timed out after the request left: Reddit may or may not have acted on it."""

    def __init__(self, original_exception: Exception, request_args: tuple[Any, ...],
                 request_kwargs: dict[str, Any]) -> None:
        self.original_exception = original_exception
        self.request_args = request_args
        self.request_kwargs = request_kwargs
        super().__init__(f"error with request {original_exception}")


class StudioRequestor(Requestor):
    """praw's documented ``requestor_class`` hook: one timeout, no blind re-sends, refresh-token rotation.

    - ``timeout``: prawcore hands every request its own 16 s default; REDDIT_TIMEOUT wins here.
    - ``resend=False``: prawcore re-sends an API call after a 5xx or a dropped connection; a submit must never be
      sent twice blindly, so those answers are raised here, as the exceptions prawcore itself raises for them
      (a 401 still passes through: prawcore refreshes the access token and sends once more, nothing was posted).
    - ``on_refresh``: Reddit may rotate the refresh token on every refresh; the new one is handed over.
    """

    def __init__(self, *, resend: bool = True, on_refresh: Callable[[str], None] | None = None,
                 refresh_token: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.resend = resend
        self.on_refresh = on_refresh
        self.refresh_token = refresh_token

    def request(self, *args: Any, timeout: float | None = None, **kwargs: Any) -> requests.Response:
        url = str(args[1] if len(args) > 1 else kwargs.get("url", ""))
        try:
            response = super().request(*args, timeout=self.timeout, **kwargs)
        except RequestException as exc:
            if self.resend or not isinstance(exc.original_exception, Session.RETRY_EXCEPTIONS):
                raise
            raise Unconfirmed(exc.original_exception, exc.request_args, exc.request_kwargs) from None
        if url.endswith(const.ACCESS_TOKEN_PATH):
            self._saw_token(kwargs.get("data"), response)
        elif not self.resend and url.startswith(self.oauth_url) and response.status_code in Session.RETRY_STATUSES:
            raise Session.STATUS_EXCEPTIONS.get(response.status_code, ResponseException)(response)
        return response

    def _saw_token(self, data: Any, response: requests.Response) -> None:
        if self.on_refresh is None or response.status_code != 200:
            return
        if dict(data or []).get("grant_type") != "refresh_token":
            return
        try:
            payload = response.json()
        except ValueError:
            return
        token = payload.get("refresh_token") if isinstance(payload, dict) and "error" not in payload else None
        if token and token != self.refresh_token:
            self.refresh_token = token
            self.on_refresh(str(token))


def _timeout(settings: Settings) -> float:
    return float(settings.extra.get("REDDIT_TIMEOUT", "16") or 16)


def _base(settings: Settings) -> dict[str, Any]:
    return {
        "oauth_url": settings.extra.get("REDDIT_OAUTH_URL") or "https://oauth.reddit.com",
        "reddit_url": settings.extra.get("REDDIT_URL") or "https://www.reddit.com",
        "user_agent": settings.extra.get("REDDIT_USER_AGENT") or "python:dotoro-studio:1.0 (self-hosted)",
        "check_for_updates": False,
        "check_for_async": False,
        "ratelimit_seconds": 0,  # never sleep inside a job: RATELIMIT becomes retry_later at Reddit's time
        "requestor_class": StudioRequestor,
        "requestor_kwargs": {"timeout": _timeout(settings)},
    }


def redirect_uri(settings: Settings) -> str:
    return settings.extra.get("REDDIT_REDIRECT_URI") or settings.public_url.rstrip("/") + "/accounts"


def app_client(settings: Settings) -> praw.Reddit:
    """The studio's web app, not yet signed in as anyone: builds authorization URLs and exchanges codes."""
    return praw.Reddit(client_id=settings.extra.get("REDDIT_CLIENT_ID", ""),
                       client_secret=settings.extra.get("REDDIT_CLIENT_SECRET") or None,
                       redirect_uri=redirect_uri(settings), **_base(settings))


def account_client(settings: Settings, creds: Credentials, *, retries: bool = False,
                   on_refresh: Callable[[str], None] | None = None) -> praw.Reddit:
    """A client acting as one account; no blind re-sends unless asked (see StudioRequestor)."""
    base = _base(settings)
    base["requestor_kwargs"] = {**base["requestor_kwargs"], "resend": retries, "on_refresh": on_refresh,
                                "refresh_token": creds.refresh_token}
    if creds.auth_kind == "script":
        return praw.Reddit(client_id=creds.client_id, client_secret=creds.client_secret,
                           username=creds.username, password=creds.password, **base)
    return praw.Reddit(client_id=creds.client_id or settings.extra.get("REDDIT_CLIENT_ID", ""),
                       client_secret=creds.client_secret or settings.extra.get("REDDIT_CLIENT_SECRET") or None,
                       redirect_uri=redirect_uri(settings), refresh_token=creds.refresh_token, **base)


def _attr(thing: Any, name: str, default: Any = None) -> Any:
    """A field Reddit sent, without praw's lazy fetch of a missing one."""
    return vars(thing).get(name, default)


def _when(value: Any) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(float(value), dt.UTC) if value is not None else None


def identity(reddit: praw.Reddit) -> Identity:
    me = reddit.user.me()
    if me is None:
        raise RuntimeError("Reddit did not say who this account is.")
    return Identity(name=str(me.name), link_karma=int(_attr(me, "link_karma", 0) or 0),
                    comment_karma=int(_attr(me, "comment_karma", 0) or 0),
                    created_at=_when(_attr(me, "created_utc")))


def subreddit_info(reddit: praw.Reddit, name: str) -> SubredditInfo:
    """Whether r/name exists, which post kinds it takes, whether flair is required and which flairs exist."""
    sub = reddit.subreddit(name)
    try:
        kind = str(sub.submission_type or "any")  # the first attribute read fetches r/name/about
    except (Redirect, NotFound):
        return SubredditInfo(name, False, f"r/{name} does not exist.")
    except InsufficientScope:
        return SubredditInfo(name, False, "The account did not grant the studio the 'read' permission: reconnect it "
                                          "and allow every permission asked.")
    except Forbidden:
        return SubredditInfo(name, False, f"r/{name} is private, quarantined or banned: this account cannot post there.")
    try:
        requirements = sub.post_requirements()
    except (Forbidden, NotFound, InsufficientScope):  # InsufficientScope: a grant without 'submit' (fails at send)
        requirements = {}
    flairs: dict[str, str] = {}
    readable = True
    try:
        for f in sub.flair.link_templates:
            flairs[str(f.get("text", "")).strip().lower()] = str(f.get("id", ""))
    except (Forbidden, NotFound, InsufficientScope):
        readable = False
    return SubredditInfo(str(sub.display_name), True, "", kind,
                         bool(requirements.get("is_flair_required")), flairs, readable)


def submit(reddit: praw.Reddit, *, subreddit: str, title: str, body: str, url: str, flair_id: str,
           flair_text: str, nsfw: bool, spoiler: bool, send_replies: bool) -> Posted:
    """One thread; every parameter is required so that none can be left out on the way to Reddit."""
    kwargs: dict[str, Any] = {"flair_id": flair_id or None, "flair_text": (flair_text or None) if flair_id else None,
                              "nsfw": nsfw, "spoiler": spoiler, "send_replies": send_replies}
    if url:
        post = reddit.subreddit(subreddit).submit(title, url=url, selftext=body or None, **kwargs)
    else:
        post = reddit.subreddit(subreddit).submit(title, selftext=body, **kwargs)
    assert post is not None
    return Posted(id=str(post.id), fullname=f"t3_{post.id}", url=f"/r/{subreddit}/comments/{post.id}/")


def reply(reddit: praw.Reddit, *, parent_fullname: str, body: str) -> Posted:
    kind, _, ident = parent_fullname.partition("_")
    parent = reddit.comment(ident) if kind == "t1" else reddit.submission(ident)
    comment = parent.reply(body)
    if comment is None:
        raise RuntimeError("Reddit accepted the comment but did not return it.")
    return Posted(id=str(comment.id), fullname=f"t1_{comment.id}", url=str(_attr(comment, "permalink", "")))


def recent(reddit: praw.Reddit, username: str, *, comments: bool = False, limit: int = 100) -> list[Recent]:
    """The account's newest submissions (or comments), newest first."""
    who = reddit.redditor(username)
    listing = who.comments.new(limit=limit) if comments else who.submissions.new(limit=limit)
    out = []
    for thing in listing:
        sub = _attr(thing, "subreddit", "")
        out.append(Recent(
            id=str(thing.id), fullname=str(thing.fullname), subreddit=str(getattr(sub, "display_name", sub)),
            title=str(_attr(thing, "title", "")), body=str(_attr(thing, "body", _attr(thing, "selftext", ""))),
            parent=str(_attr(thing, "parent_id", "") or ""),
            created_at=_when(_attr(thing, "created_utc", 0)) or dt.datetime.now(dt.UTC),
            url=str(_attr(thing, "permalink", ""))))
    return out


def readings(reddit: praw.Reddit, fullnames: Iterable[str]) -> list[Reading]:
    """Score, ratio, comment count and removal of up to 100 things in one request."""
    out = []
    for thing in reddit.info(fullnames=list(fullnames)):
        removed = bool(_attr(thing, "removed_by_category")) or "[removed]" in (_attr(thing, "selftext"),
                                                                              _attr(thing, "body"))
        out.append(Reading(fullname=str(thing.fullname), score=int(_attr(thing, "score", 0) or 0),
                           upvote_ratio=float(_attr(thing, "upvote_ratio", 0.0) or 0.0),
                           num_comments=int(_attr(thing, "num_comments", 0) or 0), removed=removed))
    return out
