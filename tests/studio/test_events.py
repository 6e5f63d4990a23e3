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


def test_two_concurrent_dispatchers_fan_each_event_out_exactly_once(pg_store):
    """Many events, two dispatchers racing on Postgres (SKIP LOCKED + a conditional claim): every member gets
    each notification once and each endpoint each delivery once."""
    import threading

    from sqlalchemy import func

    from studio import notifications
    from studio.store.event_models import Delivery, Notification, WebhookEndpoint

    owner = _member(pg_store)
    with pg_store.session_scope(owner) as s:
        s.add(WebhookEndpoint(url_enc="x", url_host="example.com", kinds=["generation.failed"], secret_enc="x"))
    with pg_store.session_scope(owner) as s:
        for i in range(300):
            events.emit(s, "generation.failed", {"set_name": f"set {i}"})
    barrier = threading.Barrier(2)
    counts: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(10)
            total = 0
            while (done := notifications.dispatch(pg_store, owner.workspace_id, limit=25).events):
                total += done
            counts.append(total)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors and sum(counts) == 300
    with pg_store.session_scope(Context.job(owner.workspace_id)) as s:
        assert s.scalar(select(func.count()).select_from(Notification)) == 300
        assert s.scalar(select(func.count(func.distinct(Notification.event_id))).select_from(Notification)) == 300
        assert s.scalar(select(func.count()).select_from(Delivery)) == 300
        assert s.scalar(select(func.count()).select_from(Event).where(Event.dispatched_at.is_(None))) == 0


def test_a_dispatched_event_is_not_fanned_out_again(store):
    from studio import notifications

    ctx = _member(store)
    with store.session_scope(ctx) as s:
        events.emit(s, "generation.failed", {"set_name": "once"})
    first = notifications.dispatch(store, ctx.workspace_id)  # the nudge may have dispatched it already (inline)
    second = notifications.dispatch(store, ctx.workspace_id)
    assert second.events == 0
    assert notifications.unread_count(store, ctx) == 1
    assert first.events in (0, 1)


def test_the_periodic_list_dispatches_events_in_both_modes():
    from workers.periodic import BY_NAME

    entry = BY_NAME["events-dispatch"]
    assert entry.every_s <= 15 and not entry.team_only


def test_old_events_go_with_their_notifications_unless_a_delivery_is_still_tried(store):
    import datetime as dt

    from sqlalchemy import func, update

    from studio import notifications
    from studio.store.event_models import Delivery, Notification

    ctx = _member(store)
    for name in ("old and done", "old but retrying", "recent"):
        with store.session_scope(ctx) as s:
            events.emit(s, "generation.failed", {"set_name": name})
    notifications.dispatch(store, ctx.workspace_id)
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=120)
    with store.session_scope(Context.job(ctx.workspace_id)) as s:
        by_name = {e.data["set_name"]: e for e in s.scalars(select(Event))}
        for name in ("old and done", "old but retrying"):
            s.execute(update(Event).where(Event.id == by_name[name].id).values(created_at=long_ago))
        s.add(Delivery(event_id=by_name["old but retrying"].id, channel="webhook", target="t", state="pending"))
    assert notifications.prune(store, ctx.workspace_id) == 1
    with store.session_scope(Context.job(ctx.workspace_id)) as s:
        assert sorted(e.data["set_name"] for e in s.scalars(select(Event))) == ["old but retrying", "recent"]
        assert s.scalar(select(func.count()).select_from(Notification)) == 2
