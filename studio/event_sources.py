"""The studio's own emitters: what a run, a post or an account says when it reaches an outcome.

Each function adds one event to the caller's unit of work (studio.events.emit) with the small data every
channel shows: ids, the thing's name, counts and the reason. The call sites are one line each, where the
outcome is written: the generation run's last chunk or its failure (workers.variation_store.finish_run,
workers.generation._fail_run), the publishing outbox's transitions (studio.publishing.outbox.move), the
metrics sync noticing a removal and an account marked for reconnecting (studio.publishing.*).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from studio.events import emit
from studio.store.campaign_models import CampaignSet, GenerationRun
from studio.store.models import AuditEvent
from studio.store.publishing_models import PublishItem, RedditAccount
from studio.store.session import TenantSession


def _starter(s: TenantSession, set_id: uuid.UUID) -> uuid.UUID | None:
    """Who started (or resumed) the set's latest run: the audit trail's last such entry."""
    return s.scalar(select(AuditEvent.actor_id)
                    .where(AuditEvent.object_id == str(set_id),
                           AuditEvent.action.in_(("campaign.generate", "campaign.resume")))
                    .order_by(AuditEvent.at.desc()).limit(1))


def run_ended(s: TenantSession, run: GenerationRun, *, error: str = "") -> None:
    """generation.completed (or .failed with `error`) for the run, to the member who started it."""
    cs = s.get(CampaignSet, run.campaign_set_id)
    data: dict[str, Any] = {"run_id": run.id, "set_id": run.campaign_set_id, "set_name": cs.name if cs else "",
                            "variations": int(run.variations or 0), "rows": int(run.rows_done or 0)}
    if error:
        data["message"] = error[:500]
    else:
        data.update({k: int(v) for k, v in (run.diff or {}).items() if k in ("added", "removed", "changed")})
    emit(s, "generation.failed" if error else "generation.completed", data,
         user_id=_starter(s, run.campaign_set_id))


def _post(item: PublishItem) -> dict[str, Any]:
    title = item.title or (item.body[:80] + ("…" if len(item.body) > 80 else ""))
    return {"item_id": item.id, "set_id": item.campaign_set_id, "title": title, "kind": item.kind,
            "subreddit": item.subreddit, "url": item.reddit_url}


def post_moved(s: TenantSession, item: PublishItem, to: str, reason: str | None) -> None:
    """post.published / post.failed when the outbox moves an item there."""
    if to == "posted":
        emit(s, "post.published", _post(item))
    elif to == "failed":
        emit(s, "post.failed", {**_post(item), "message": (reason or item.reason or "")[:500]})


def post_removed(s: TenantSession, item: PublishItem) -> None:
    emit(s, "post.removed", {**_post(item), "message": item.reason[:500]})


def reconnect_needed(s: TenantSession, account: RedditAccount, reason: str) -> None:
    emit(s, "account.reconnect_needed", {"account_id": account.id, "username": f"u/{account.username}",
                                         "message": reason[:500]})
