"""Events: significant outcomes recorded once, in the transaction that caused them (an outbox).

`emit(session, kind, data)` adds an `events` row to the caller's unit of work, so an event exists if and
only if the change it reports committed. After the commit the dispatcher is nudged (an RQ job in team
mode, the embedded worker or inline otherwise); the periodic `events-dispatch` entry catches anything a
nudge missed. The dispatcher (`studio.notifications.dispatch`) fans each event out exactly once to in-app
notifications, e-mails, Slack-compatible posts and signed outgoing webhooks (`studio.webhooks`).
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from studio import jobs
from studio.store.event_models import Event
from studio.store.session import TenantSession

log = logging.getLogger(__name__)
MAX_DATA_BYTES = 8_000


@dataclass(frozen=True)
class Kind:
    name: str
    label: str  # for people: preferences, Slack lines
    webhook: bool  # offered to outgoing webhook subscriptions (issue 20)


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("generation.completed", "A run finished", True),
    Kind("generation.failed", "A run failed", True),
    Kind("post.published", "A post was published", True),
    Kind("post.failed", "A post failed", True),
    Kind("post.removed", "A post was removed", True),
    Kind("dataset.refreshed", "A feed brought a new data set version", True),
    Kind("feed.refresh_failed", "A feed refresh failed", False),
    Kind("feed.paused", "A feed's schedule was paused", False),
    Kind("diff.ready", "A diff waits for review", True),
    Kind("account.reconnect_needed", "An account needs reconnecting", False),
)}
WEBHOOK_KINDS = tuple(k for k, spec in KINDS.items() if spec.webhook)


class UnknownEventKind(ValueError):
    """A programming error: emit() was given a kind that is not in KINDS."""


def emit(session: TenantSession, kind: str, data: dict[str, Any], *, user_id: uuid.UUID | None = None) -> None:
    """Record `kind` with `data` in the session's workspace and transaction (see the module note).

    `user_id` is the member the event is about (who started the run, scheduled the post); it defaults to
    the session's acting user (None for a job)."""
    if kind not in KINDS:
        raise UnknownEventKind(f"Unknown event kind {kind!r}; known kinds: {', '.join(KINDS)}.")
    payload = json.loads(json.dumps(data, default=str))  # ids, dates: plain JSON, as every channel sends it
    if len(json.dumps(payload)) > MAX_DATA_BYTES:
        raise ValueError(f"Event data of {kind} is over {MAX_DATA_BYTES} bytes; send ids and counts, not content.")
    actor = user_id if user_id is not None else session.info.get("user_id")
    session.add(Event(workspace_id=session.workspace_id, kind=kind, data=payload, user_id=actor))
    session.info["wrote"] = True
    hooks = session.info.setdefault("after_commit", [])
    if _nudge not in [getattr(h, "__wrapped_nudge__", None) for h in hooks]:
        store, ws = session.info.get("store"), session.workspace_id

        def after_commit() -> None:
            _nudge(store, ws)

        after_commit.__wrapped_nudge__ = _nudge  # type: ignore[attr-defined]
        hooks.append(after_commit)


def _nudge(store: Any, workspace_id: uuid.UUID) -> None:
    """After the commit: ask for a dispatch of this workspace now (never fails the caller's action)."""
    if store is None:
        return
    try:
        jobs.enqueue_dispatch(store, workspace_id)
    except Exception:  # noqa: BLE001 - the periodic dispatch delivers it anyway
        log.warning("events: could not start a dispatch for workspace %s; the periodic one will", workspace_id,
                    exc_info=True)
