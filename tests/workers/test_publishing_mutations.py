"""The mutation check: drop any one submit (or comment) parameter on its way to Reddit and a test must fail.

The client is changed where every parameter passes — praw's POST of /api/submit and /api/comment — so a
parameter that `reddit_client` forgot, and one it sent, are told apart. The scenario is the field-by-field
test of test_publishing_fields.py; with nothing dropped it passes (that test), with any one dropped it fails.
"""

from __future__ import annotations

from typing import Any

import praw
import pytest
from praw.const import API_PATH

from tests.studio.test_publishing_support import reddit  # noqa: F401
from tests.workers.test_publishing import env, pub  # noqa: F401
from tests.workers.test_publishing_fields import send_and_compare

pytestmark = pytest.mark.slow  # 12 small scenarios, ~2 s each; `make test` runs it
SUBMIT = ("sr", "kind", "title", "text", "url", "flair_id", "flair_text", "nsfw", "spoiler", "sendreplies")
COMMENT = ("thing_id", "text")
MUTANTS = [("submit", p) for p in SUBMIT] + [("comment", p) for p in COMMENT]


def _dropping(path: str, name: str) -> Any:
    original = praw.Reddit.post

    def post(self: praw.Reddit, path_: str, *args: Any, data: Any = None, **kwargs: Any) -> Any:
        if path_ == path and isinstance(data, dict) and name in data:
            data = {k: v for k, v in data.items() if k != name}
        return original(self, path_, *args, data=data, **kwargs)

    return post


@pytest.mark.parametrize(("endpoint", "name"), MUTANTS, ids=[f"{e}-{n}" for e, n in MUTANTS])
def test_dropping_one_parameter_fails_the_field_by_field_test(pub, monkeypatch, endpoint, name):  # noqa: F811
    monkeypatch.setattr(praw.Reddit, "post", _dropping(API_PATH[endpoint], name))
    with pytest.raises(AssertionError) as caught:
        send_and_compare(pub)
    print(f"MUTANT {endpoint}:{name} -> {str(caught.value).splitlines()[0][:160]}")
