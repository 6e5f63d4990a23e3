"""workers/ plugs its jobs into studio's port (studio.jobs): the one module that binds them.

studio/ never imports workers/; it calls `studio.jobs.<operation>` and this module says what runs. Every
entry point calls `install()` before studio code can queue a job: app.py and server.py (the studio server,
and with it the embedded loop), `python -m workers.worker` and `python -m workers.maintenance`, the embedded
loop's start, bench/ scripts and tests/conftest.py. Installing twice binds the same functions again.

Each adapter imports its job module when first called, as the call sites did before the port: the studio
server does not pay at start-up for modules it may never use (the ads client and the webhook sender take
~0.5 s to import).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING

from studio import jobs

if TYPE_CHECKING:
    from studio.context import WorkspaceId
    from studio.settings import Settings
    from studio.store.session import Store


def _enqueue_run(settings: Settings, workspace_id: WorkspaceId, run_id: uuid.UUID, chunks: int) -> None:
    from workers.generation import enqueue_run

    enqueue_run(settings, workspace_id, run_id, chunks)


def _recover_run(settings: Settings, workspace_id: WorkspaceId, run_id: uuid.UUID) -> int:
    from workers.generation import recover_run

    return recover_run(settings, workspace_id, run_id)


def _enqueue_publish_item(settings: Settings, ws: WorkspaceId | uuid.UUID, item_id: uuid.UUID, gen: int,
                          at: dt.datetime) -> None:
    from workers.publishing import enqueue_item

    enqueue_item(settings, ws, item_id, gen, at)


def _enqueue_ads_sync(settings: Settings, ws: WorkspaceId | uuid.UUID, sync_id: uuid.UUID, delay: float = 0.0) -> None:
    from workers.ads_sync import enqueue_sync

    enqueue_sync(settings, ws, sync_id, delay)


def _enqueue_dispatch(store: Store, workspace_id: uuid.UUID) -> None:
    from workers.dispatch import enqueue_dispatch

    enqueue_dispatch(store, workspace_id)


def _enqueue_feed_prepare(settings: Settings, workspace_id: WorkspaceId, dataset_id: uuid.UUID, version: int) -> None:
    from workers.feed_apply import enqueue_prepare

    enqueue_prepare(settings, workspace_id, dataset_id, version)


def _enqueue_feed_apply(store: Store, workspace_id: WorkspaceId, diff_id: uuid.UUID) -> None:
    from workers.feed_apply import enqueue_apply

    enqueue_apply(store, workspace_id, diff_id)


def _recover_feed_apply(store: Store, workspace_id: WorkspaceId, diff_id: uuid.UUID) -> int:
    from workers.feed_apply import recover

    return recover(store, workspace_id, diff_id)


def _queue_admin(settings: Settings) -> jobs.QueueAdmin:
    from workers.queue_admin import RQQueueAdmin  # rq's worker registry: team mode only

    return RQQueueAdmin(settings)


def _start_embedded_loop(store: Store) -> jobs.BackgroundLoop:
    from workers.embedded import EmbeddedLoop

    loop = EmbeddedLoop(store)
    loop.start()
    return loop


def install() -> None:
    """Bind every studio.jobs operation to the worker side (idempotent; cheap enough for every app.py rerun)."""
    jobs.enqueue_run.bind(_enqueue_run)
    jobs.recover_run.bind(_recover_run)
    jobs.enqueue_publish_item.bind(_enqueue_publish_item)
    jobs.enqueue_ads_sync.bind(_enqueue_ads_sync)
    jobs.enqueue_dispatch.bind(_enqueue_dispatch)
    jobs.enqueue_feed_prepare.bind(_enqueue_feed_prepare)
    jobs.enqueue_feed_apply.bind(_enqueue_feed_apply)
    jobs.recover_feed_apply.bind(_recover_feed_apply)
    jobs.queue_admin.bind(_queue_admin)
    jobs.start_embedded_loop.bind(_start_embedded_loop)
