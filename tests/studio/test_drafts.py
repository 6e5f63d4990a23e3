"""Authoring drafts (per user and workspace), starters from a data set's own columns, duplicate uploads."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from engine.ingest import ingest
from engine.platforms import get_format
from studio import auth, datasets, drafts, invitations, starters
from studio.context import Context, Role
from studio.errors import PermissionDenied, ValidationFailed
from studio.store.session import Store

DEMO = Path(__file__).resolve().parents[2] / "studio" / "demo" / "reddit_threads_sample.csv"
PRODUCTS = b"sku,Product Name,Community,Shop Link,Notes\n1,Trail Shoe,running,https://x.example/1,light\n"


def _account(store: Store, name: str = "Dana Draft") -> Context:
    account, ws = auth.sign_up(store, f"d{uuid.uuid4().hex[:8]}@example.com", name, "correct horse")
    return Context(user_id=account.id, workspace_id=ws)


def _member(store: Store, owner: Context, role: Role = Role.MEMBER) -> Context:
    email = f"m{uuid.uuid4().hex[:8]}@example.com"
    link = invitations.invite(store, owner, email, role)
    account, _ = auth.sign_up(store, email, "Max Member", "correct horse")
    ws = invitations.accept(store, link.url.split("invite=")[1], account)
    return Context(user_id=account.id, workspace_id=ws)


def test_a_draft_resumes_in_a_new_session_and_is_private_to_its_user(store):
    owner = _account(store)
    member = _member(store, owner)
    assert drafts.load(store, owner, "preview") == {}
    drafts.save(store, owner, "preview", {"format": "reddit/thread", "sources": "cta: a | b"})
    drafts.save(store, owner, "preview", {"format": "x/post"})  # replaces, never a second row
    assert drafts.load(store, owner, "preview") == {"format": "x/post"}
    assert drafts.load(store, member, "preview") == {}  # the same workspace, another user
    drafts.save(store, member, "preview", {"format": "meta/feed_ad"})
    assert drafts.load(store, owner, "preview") == {"format": "x/post"}
    drafts.discard(store, owner, "preview")
    assert drafts.load(store, owner, "preview") == {}
    assert drafts.load(store, member, "preview") == {"format": "meta/feed_ad"}


def test_drafts_stay_in_their_workspace_and_need_a_membership(store):
    a = _account(store)
    b = _account(store, "Bob Other")
    drafts.save(store, a, "templates", {"new_x/post": {"text": "hi"}})
    assert drafts.load(store, b, "templates") == {}
    outsider = Context(user_id=b.user_id, workspace_id=a.workspace_id)
    with pytest.raises(PermissionDenied):
        drafts.load(store, outsider, "templates")
    with pytest.raises(PermissionDenied):
        drafts.save(store, outsider, "templates", {})


def test_a_viewer_keeps_drafts_and_bad_drafts_are_refused(store):
    owner = _account(store)
    viewer = _member(store, owner, Role.VIEWER)
    drafts.save(store, viewer, "preview", {"format": "x/post"})
    assert drafts.load(store, viewer, "preview") == {"format": "x/post"}
    with pytest.raises(ValidationFailed, match="Unknown draft kind"):
        drafts.save(store, owner, "wizard", {})
    with pytest.raises(ValidationFailed, match="at most 512 KB"):
        drafts.save(store, owner, "preview", {"sources": "x" * (600 * 1024)})


def _columns(data: bytes, name: str = "d.csv"):
    return ingest(data, name).columns


@pytest.mark.parametrize(("data", "fmt", "expected", "unsure"), [
    (DEMO.read_bytes(), "reddit/thread", {"subreddit": "{{ subreddit }}", "title": "{{ product_name }}",
                                          "url": "{{ url }}", "flair": "{{ flair }}"}, ()),
    (PRODUCTS, "reddit/thread", {"subreddit": "{{ community }}", "title": "{{ product_name }}",
                                 "body": "{{ notes }}\n\n{{ shop_link }}"}, ()),
    (b"id,description,price\n1,Nice,3\n", "reddit/thread", {"body": "{{ description }}"}, ("subreddit", "title")),
    (PRODUCTS, "meta/feed_ad", {"headline": "{{ product_name | truncate(37) }}", "link": "{{ shop_link }}",
                                "primary_text": "{{ notes }}"}, ()),  # cut to Meta's 40
    (b"id,price\n1,3\n", "meta/feed_ad", {"description": "Only {{ price | currency }}"}, ("title", "link")),
])
def test_a_starter_uses_only_the_data_sets_own_columns(data, fmt, expected, unsure):
    s = starters.build(get_format(*fmt.split("/")), _columns(data))
    assert s.fields == expected
    assert s.unsure == unsure


def test_answers_fill_what_the_starter_could_not_tell():
    cols = _columns(b"id,description,price,label\n1,Nice,3,Shoe\n")
    fmt = get_format("reddit", "thread")
    s = starters.build(fmt, cols, {"title": "label", "subreddit": "=deals"})
    assert s.fields["title"] == "{{ label }}" and s.fields["subreddit"] == "deals"
    assert s.unsure == ()
    assert starters.build(fmt, cols, {"title": "no_such_column"}).unsure == ("subreddit", "title")
    assert "body" not in starters.build(fmt, cols, {"body": ""}).fields  # "none of the columns"


def test_the_same_bytes_are_recognised_as_a_duplicate(store):
    ctx = _account(store)
    assert datasets.find_duplicate(store, ctx, DEMO.read_bytes()) is None
    first = datasets.upload(store, ctx, DEMO.name, DEMO.read_bytes(), name="products_2k")
    dup = datasets.find_duplicate(store, ctx, DEMO.read_bytes())
    assert (dup.dataset_id, dup.name, dup.version, dup.current) == (first.id, "products_2k", 1, True)
    datasets.replace(store, ctx, first.id, "other.csv", PRODUCTS)
    dup = datasets.find_duplicate(store, ctx, DEMO.read_bytes())
    assert (dup.version, dup.current) == (1, False)
    assert datasets.find_duplicate(store, _account(store, "Eve Else"), DEMO.read_bytes()) is None
