"""Events are recorded in the caller's transaction: committed with the change, or not at all."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from studio import auth, events
from studio.context import Context
from studio.store.event_models import Event


def _member(store):
    account, ws = auth.sign_up(store, f"e{uuid.uuid4().hex[:8]}@example.com", "Eve", "correct horse")
    return Context(user_id=account.id, workspace_id=ws)


def test_an_emitted_event_is_stored_with_the_commit_and_names_its_actor(store):
    ctx = _member(store)
    with store.session_scope(ctx) as s:
        events.emit(s, "generation.completed", {"run_id": uuid.uuid4(), "variations": 12})
    with store.session_scope(ctx) as s:
        stored = s.scalars(select(Event)).all()
    assert [(e.kind, e.user_id, e.data["variations"]) for e in stored] == [("generation.completed", ctx.user_id, 12)]
    assert isinstance(stored[0].data["run_id"], str)


def test_an_event_of_a_rolled_back_change_never_exists(store):
    ctx = _member(store)
    with pytest.raises(RuntimeError), store.session_scope(ctx) as s:
        events.emit(s, "post.failed", {"item_id": "x"})
        raise RuntimeError("the change failed")
    with store.session_scope(ctx) as s:
        assert s.scalars(select(Event)).all() == []


def test_an_unknown_kind_is_refused(store):
    ctx = _member(store)
    with pytest.raises(events.UnknownEventKind, match="known kinds"), store.session_scope(ctx) as s:
        events.emit(s, "run.done", {})
