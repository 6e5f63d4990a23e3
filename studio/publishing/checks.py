"""Checks before scheduling, per target subreddit: it exists, takes the post kind, and gets a flair it requires."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from studio.publishing.reddit_client import SubredditInfo


@dataclass(frozen=True)
class Target:
    key: str
    subreddit: str
    kind: str  # self / link
    flair_text: str = ""


@dataclass(frozen=True)
class Cleared:
    flair_id: str = ""
    flair_text: str = ""


def _names(info: SubredditInfo) -> str:
    shown = sorted(info.flairs)[:8]
    return ", ".join(repr(f) for f in shown) if shown else "none readable"


def check_one(target: Target, info: SubredditInfo) -> Cleared | str:
    """The flair to post with, or the reason this target cannot be scheduled."""
    sub = f"r/{target.subreddit}"
    if not info.exists:
        return info.problem or f"{sub} does not exist."
    if info.submission_type == "self" and target.kind == "link":
        return f"{sub} accepts text posts only, and this variation is a link post (it has a URL)."
    if info.submission_type == "link" and target.kind == "self":
        return f"{sub} accepts link posts only, and this variation has no URL."
    text = target.flair_text.strip()
    if not text:
        if info.flair_required:
            return (f"{sub} requires post flair: choose the column that holds the flair in the publish settings "
                    f"(its flairs: {_names(info)}).")
        return Cleared()
    flair_id = info.flairs.get(text.lower())
    if flair_id:
        return Cleared(flair_id, text)
    if not info.flairs_readable:
        return f"{sub}'s flairs cannot be read with this account, so the flair {text!r} cannot be checked."
    return f"The flair {text!r} is not one of {sub}'s flairs ({_names(info)})."


def check_targets(targets: Iterable[Target], lookup: Callable[[str], SubredditInfo]
                  ) -> tuple[dict[str, Cleared], dict[str, str]]:
    """Each target cleared (with its flair id) or refused (with a reason); each subreddit is looked up once."""
    seen: dict[str, SubredditInfo] = {}
    cleared: dict[str, Cleared] = {}
    refused: dict[str, str] = {}
    for t in targets:
        if not t.subreddit:
            refused[t.key] = "This variation has no subreddit: set one in the data or the template."
            continue
        key = t.subreddit.lower()
        if key not in seen:
            seen[key] = lookup(t.subreddit)
        verdict = check_one(t, seen[key])
        if isinstance(verdict, str):
            refused[t.key] = verdict
        else:
            cleared[t.key] = verdict
    return cleared, refused
