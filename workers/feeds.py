"""Feed jobs (issue 19): the sweep that hands out due URL data sets, and the fetch job of one data set.

The sweep runs from the one periodic list (workers.periodic, "feed-sweep"): for each workspace,
studio.feeds.claim_due moves the due sources' next time on in the same transaction that picks them,
so a second sweep — another leader, a rerun, the embedded loop beside a worker — finds nothing to
hand out again; at most SWEEP_LIMIT fetches leave one sweep (the rest are due at the next one). Each
fetch is one job with the id ``feed-fetch-<data set>``, so a job already waiting is not queued twice.
Team mode: RQ on the default queue; embedded mode: the server's job thread (studio.jobs).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from studio import admin, feeds
from studio.context import Context, WorkspaceId
from studio.logging_setup import logged_job
from studio.store.session import Store
from workers.queues import submit

log = logging.getLogger(__name__)
SWEEP_LIMIT = 50


def run_fetch(store: Store, workspace_id: str, dataset_id: str) -> str:
    ctx = Context.job(WorkspaceId(uuid.UUID(workspace_id)))
    return feeds.refresh(store, ctx, uuid.UUID(dataset_id), trigger="schedule").outcome


@logged_job("feed.fetch")
def fetch_feed(workspace_id: str, dataset_id: str) -> str:
    """The RQ job: one scheduled fetch (studio.feeds.refresh records its outcome, failures included)."""
    from workers.publishing import job_store  # keyed by every setting, FEED_* included

    return run_fetch(job_store(), workspace_id, dataset_id)


def job_id(dataset_id: uuid.UUID | str) -> str:
    return f"feed-fetch-{dataset_id}"


def enqueue_fetch(store: Store, workspace_id: uuid.UUID, dataset_id: uuid.UUID) -> None:
    if store.settings.redis_url:
        submit(store.settings, fetch_feed, str(workspace_id), str(dataset_id), job_id=job_id(dataset_id))
    else:  # in-process: the job is given this store (no serialisation between threads)
        submit(store.settings, run_fetch, store, str(workspace_id), str(dataset_id), job_id=job_id(dataset_id))


def sweep(store: Store, *, limit: int = SWEEP_LIMIT) -> dict[str, Any]:
    """Hand every due fetch to the workers, at most `limit` in this sweep."""
    handed, failed = 0, 0
    for ws in admin.all_workspaces(store):
        if handed >= limit:
            break
        try:
            due = feeds.claim_due(store, Context.job(ws), limit=limit - handed)
        except Exception:  # noqa: BLE001 - one workspace's trouble does not stop the others
            failed += 1
            log.exception("feed sweep failed for workspace %s", ws)
            continue
        for dataset_id in due:
            enqueue_fetch(store, ws, dataset_id)
            handed += 1
    return {"handed": handed, "failed_workspaces": failed}
