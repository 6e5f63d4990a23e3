"""Jobs of the events backbone: fan new events out (studio.notifications.dispatch) and send deliveries
(studio.deliveries.deliver).

Team mode: RQ jobs on the default queue, taking ids. A Redis key per workspace (and per delivery) keeps a
burst of events from queueing a burst of identical jobs; the jobs themselves are safe to run twice (an
event is claimed once, a delivery try is claimed under a lease). Embedded mode: the same functions on the
embedded worker thread (studio.jobs), or inline when none runs. The periodic entry `events-dispatch`
(workers.periodic) picks up whatever a nudge missed and the retries whose time came.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from studio import deliveries, jobs, notifications
from studio.context import WorkspaceId
from studio.logging_setup import logged_job
from studio.store.session import Store
from workers.queues import queue, redis_connection

log = logging.getLogger(__name__)
NUDGE_KEY = "dotoro:events:nudge:{}"
DELIVERY_KEY = "dotoro:events:delivery:{}"
KEEP = {"result_ttl": 3600, "failure_ttl": 86_400}


def enqueue_dispatch(store: Store, workspace_id: uuid.UUID) -> None:
    """Ask for the workspace's new events to be fanned out soon (called after a commit that emitted one)."""
    settings = store.settings
    if not settings.redis_url:
        jobs.run_in_process(dispatch_in_process, (store, workspace_id), f"events-dispatch:{workspace_id}")
        return
    conn = redis_connection(settings)
    if conn.set(NUDGE_KEY.format(workspace_id), "1", nx=True, ex=60):  # one queued dispatch per workspace
        queue(settings, "default", connection=conn).enqueue(dispatch_job, str(workspace_id), **KEEP)


def enqueue_deliveries(store: Store, workspace_id: uuid.UUID, ids: list[uuid.UUID]) -> None:
    settings = store.settings
    if not ids:
        return
    if not settings.redis_url:
        for delivery_id in ids:
            jobs.run_in_process(deliver_in_process, (store, workspace_id, delivery_id), f"delivery:{delivery_id}")
        return
    conn = redis_connection(settings)
    q = queue(settings, "default", connection=conn)
    for delivery_id in ids:
        # one queued job per delivery at a time; the key outlives the longest try, so a dead worker's
        # delivery is queued again by the periodic sweep once its lease ran out
        if conn.set(DELIVERY_KEY.format(delivery_id), "1", nx=True, ex=int(deliveries.lease_s(settings)) + 5):
            q.enqueue(deliver_job, str(workspace_id), str(delivery_id), **KEEP)


def dispatch_workspace(store: Store, workspace_id: uuid.UUID) -> int:
    """Fan out every waiting event (in batches) and queue the deliveries it made; how many events."""
    ws = WorkspaceId(workspace_id)
    total = 0
    while True:
        done = notifications.dispatch(store, ws)
        enqueue_deliveries(store, ws, done.deliveries)
        total += done.events
        if done.events < 200:
            return total


def sweep_workspace(store: Store, workspace_id: uuid.UUID) -> int:
    """Dispatch what is waiting, then queue the deliveries whose retry time came (or whose worker died)."""
    ws = WorkspaceId(workspace_id)
    events = dispatch_workspace(store, ws)
    due = deliveries.due(store, ws)
    enqueue_deliveries(store, ws, due)
    return events + len(due)


def dispatch_in_process(store: Store, workspace_id: uuid.UUID) -> int:
    return dispatch_workspace(store, workspace_id)


def deliver_in_process(store: Store, workspace_id: uuid.UUID, delivery_id: uuid.UUID) -> Any:
    return deliveries.deliver(store, WorkspaceId(workspace_id), delivery_id)


@logged_job("events.dispatch")
def dispatch_job(workspace_id: str) -> int:
    from workers.generation import job_store

    store = job_store()
    try:  # from here on a new event needs a new job: this one may have read the events already
        redis_connection(store.settings).delete(NUDGE_KEY.format(workspace_id))
    except Exception:  # noqa: BLE001 - the key expires by itself
        pass
    return dispatch_workspace(store, uuid.UUID(workspace_id))


@logged_job("events.deliver")
def deliver_job(workspace_id: str, delivery_id: str) -> str:
    from workers.generation import job_store

    store = job_store()
    try:
        result = deliveries.deliver(store, WorkspaceId(uuid.UUID(workspace_id)), uuid.UUID(delivery_id))
    finally:
        try:
            redis_connection(store.settings).delete(DELIVERY_KEY.format(delivery_id))
        except Exception:  # noqa: BLE001 - the key expires by itself
            pass
    return "not due" if result is None else f"{result.state} (try {result.number})"
