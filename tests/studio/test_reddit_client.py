"""The Reddit client reaches praw only through its documented hooks (a prawcore release cannot break it silently)."""

from __future__ import annotations

import ast
import inspect

from studio.publishing import reddit_client
from studio.settings import load_settings


def test_no_private_praw_or_prawcore_attribute_is_touched():
    tree = ast.parse(inspect.getsource(reddit_client))
    private = sorted({node.attr for node in ast.walk(tree)
                      if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                      and not (isinstance(node.value, ast.Name) and node.value.id == "self")})
    assert private == [], f"private attributes used: {private}"


def test_the_requestor_is_handed_to_praw_through_requestor_class():
    base = reddit_client._base(load_settings({"REDDIT_TIMEOUT": "5"}, dotenv=None))
    assert base["requestor_class"] is reddit_client.StudioRequestor
    assert base["requestor_kwargs"]["timeout"] == 5.0
