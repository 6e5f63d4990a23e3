"""Checks before scheduling (per subreddit) and what each Reddit failure means for an item."""

from __future__ import annotations

import pytest

from studio.publishing import checks, outbox
from studio.publishing.outcomes import wait_from
from studio.publishing.reddit_client import SubredditInfo
from studio.publishing.schedule import parent_fullname

FLAIRS = {"question": "f-q", "show and tell": "f-s"}
ANY = SubredditInfo("any", True, flairs=FLAIRS)
REQUIRED = SubredditInfo("flairy", True, flair_required=True, flairs=FLAIRS)
SELF_ONLY = SubredditInfo("selfonly", True, submission_type="self")
LINK_ONLY = SubredditInfo("linkonly", True, submission_type="link")
MISSING = SubredditInfo("gone", False, "r/gone does not exist.")
UNREADABLE = SubredditInfo("secret", True, flair_required=True, flairs_readable=False)


@pytest.mark.parametrize(("info", "kind", "flair", "expected"), [
    (ANY, "self", "", checks.Cleared()),
    (ANY, "link", "", checks.Cleared()),
    (ANY, "self", "Question", checks.Cleared("f-q", "Question")),
    (ANY, "self", "  show AND tell ", checks.Cleared("f-s", "show AND tell")),
    (ANY, "self", "Memes", "The flair 'Memes' is not one of r/t's flairs ('question', 'show and tell')."),
    (REQUIRED, "self", "", ("r/t requires post flair: choose the column that holds the flair in the publish settings "
                           "(its flairs: 'question', 'show and tell').")),
    (REQUIRED, "self", "Question", checks.Cleared("f-q", "Question")),
    (SELF_ONLY, "link", "", "r/t accepts text posts only, and this variation is a link post (it has a URL)."),
    (SELF_ONLY, "self", "", checks.Cleared()),
    (LINK_ONLY, "self", "", "r/t accepts link posts only, and this variation has no URL."),
    (MISSING, "self", "", "r/gone does not exist."),
    (UNREADABLE, "self", "", ("r/t requires post flair: choose the column that holds the flair in the publish "
                             "settings (its flairs: none readable).")),
    (UNREADABLE, "self", "X", "r/t's flairs cannot be read with this account, so the flair 'X' cannot be checked."),
])
def test_check_one(info, kind, flair, expected):
    assert checks.check_one(checks.Target("k", "t", kind, flair), info) == expected


def test_each_subreddit_is_looked_up_once():
    asked: list[str] = []

    def lookup(name: str) -> SubredditInfo:
        asked.append(name)
        return MISSING if name == "gone" else ANY

    targets = [checks.Target(f"k{i}", sub, "self") for i, sub in enumerate(["a", "A", "gone", "a", ""])]
    cleared, refused = checks.check_targets(targets, lookup)
    assert asked == ["a", "gone"] and set(cleared) == {"k0", "k1", "k3"}
    assert refused == {"k2": "r/gone does not exist.", "k4": "This variation has no subreddit: set one in the data "
                                                              "or the template."}


@pytest.mark.parametrize(("message", "seconds"), [
    ("Looks like you've been doing that a lot. Take a break for 9 minutes before trying again.", 540),
    ("Take a break for 1 minute before trying again.", 60),
    ("you are doing that too much. try again in 42 seconds.", 42),
    ("try again in 500 milliseconds", 0.5),
    ("no number here", 600),
])
def test_wait_from_reddits_words(message, seconds):
    assert wait_from(message) == seconds


@pytest.mark.parametrize(("value", "fullname"), [
    ("t3_abc12", "t3_abc12"), ("T1_XyZ", "t1_xyz"), ("abc12", "t3_abc12"),
    ("https://www.reddit.com/r/python/comments/abc12/some_title/", "t3_abc12"),
    ("https://www.reddit.com/r/python/comments/abc12/some_title/def34/", "t1_def34"),
    ("", ""), ("not a thing id!", ""),
])
def test_parent_ids_from_data(value, fullname):
    assert parent_fullname(value) == fullname


def test_the_state_machine_allows_only_the_documented_moves():
    assert set(outbox.ALLOWED) == set(outbox.STATES)
    assert outbox.ALLOWED["posted"] == frozenset() and outbox.ALLOWED["cancelled"] == frozenset()
    assert "posted" not in outbox.ALLOWED["scheduled"]  # nothing is posted without being "submitting" first
    assert "submitting" not in outbox.ALLOWED["failed"]  # a failed item goes back through the schedule
    assert outbox.job_id("i", 3) == "publish-i-3"
