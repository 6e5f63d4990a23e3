"""What Reddit refuses, as the Reddit double answers it (reddit.com/dev/api; r2's api.py and validator.py).

Each check returns Reddit's error triples ([code, message, field], as praw's RedditAPIException reads
them) or [] when Reddit would accept the request.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

KINDS = ("link", "self", "image", "video", "videogif")  # POST /api/submit `kind`
TITLE_MAX, SELFTEXT_MAX, COMMENT_MAX, FLAIR_TEXT_MAX = 300, 40_000, 10_000, 64
TRUE = ("true", "on", "1", "yes")


@dataclass
class Subreddit:
    name: str
    submission_type: str = "any"
    flair_required: bool = False
    flairs: list[tuple[str, str]] = field(default_factory=list)  # (template id, text)


def submit_errors(form: dict[str, str], sub: Subreddit | None) -> list[list[str]]:
    """A submit to `sub` (None: no such subreddit)."""
    if sub is None:
        return [["SUBREDDIT_NOEXIST", "that subreddit doesn't exist", "sr"]]
    kind, title = form.get("kind", ""), form.get("title", "")
    if kind not in KINDS:
        return [["INVALID_OPTION", "that option is not valid", "kind"]]
    if not title.strip():
        return [["NO_TEXT", "we need something here", "title"]]
    if len(title) > TITLE_MAX:
        return [["TOO_LONG", f"this is too long (max: {TITLE_MAX})", "title"]]
    if kind == "link" and not form.get("url"):
        return [["NO_URL", "a url is required", "url"]]
    if kind == "link" and not re.fullmatch(r"https?://[^\s/]+\.[^\s]+", form["url"]):
        return [["BAD_URL", "you should check that url", "url"]]
    if kind == "self" and len(form.get("text", "")) > SELFTEXT_MAX:
        return [["TOO_LONG", f"this is too long (max: {SELFTEXT_MAX})", "text"]]
    flair_id = form.get("flair_id")
    if flair_id and flair_id not in dict(sub.flairs):
        return [["BAD_FLAIR_TEMPLATE_ID", "The flair template ID is not valid.", "flair_id"]]
    if len(form.get("flair_text", "")) > FLAIR_TEXT_MAX:
        return [["TOO_LONG", f"this is too long (max: {FLAIR_TEXT_MAX})", "flair_text"]]
    if sub.flair_required and not flair_id:
        return [["SUBMIT_VALIDATION_FLAIR_REQUIRED", "Your post must contain post flair.", "flair"]]
    if sub.submission_type != "any" and kind != sub.submission_type:
        return [["NO_LINKS" if kind == "link" else "NO_SELFS", "that subreddit doesn't allow this kind of post", "sr"]]
    return []


def comment_errors(form: dict[str, str], known: set[str]) -> list[list[str]]:
    """A comment whose parent must be one of the `known` fullnames."""
    parent, text = form.get("thing_id", ""), form.get("text", "")
    if parent not in known:
        if parent.startswith("t1_"):
            return [["DELETED_COMMENT", "that comment has been deleted", "parent"]]
        return [["DELETED_LINK", "the link you are commenting on has been deleted", "parent"]]
    if not text.strip():
        return [["NO_TEXT", "we need something here", "text"]]
    if len(text) > COMMENT_MAX:
        return [["TOO_LONG", f"this is too long (max: {COMMENT_MAX})", "text"]]
    return []


def form_bool(form: dict[str, str], name: str, default: bool) -> bool:
    value = form.get(name)
    return default if value is None else value.strip().lower() in TRUE


def ratelimit_text(seconds: float) -> str:
    """Reddit's wording; praw reads the number and unit from it (praw.Reddit._ratelimit_regex)."""
    if seconds >= 60:
        minutes = math.ceil(seconds / 60)
        amount = f"{minutes} minute" + ("s" if minutes != 1 else "")
    else:
        whole = max(1, math.ceil(seconds))
        amount = f"{whole} second" + ("s" if whole != 1 else "")
    return f"Looks like you've been doing that a lot. Take a break for {amount} before trying again."


def scope_for(path: str) -> str:
    """The OAuth scope Reddit's API documentation lists for the endpoint."""
    parts = path.strip("/").split("/")
    if path == "/api/v1/me":
        return "identity"
    if path in ("/api/submit", "/api/comment") or path.endswith("/post_requirements"):
        return "submit"
    if parts[-1] == "link_flair_v2":
        return "flair"
    if parts[0] == "user":
        return "history"
    return "read"
