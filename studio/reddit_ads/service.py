"""Reddit paid ads for people and jobs: request a sync, run it, show its state, pause/resume, resolve
conflicts, pull performance back in.

A sync request is a row (``ads_syncs``) and one job on the worker pool (embedded: the server's job thread).
The job builds the plan from the set's **approved, valid** variations and runs studio.reddit_ads.sync; it is
resumable: run again, it skips what the ledger already holds (a second sync of an unchanged set writes nothing).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from studio import audit, jobs
from studio.context import Context, Permission, Role, WorkspaceId
from studio.errors import NotFound, ValidationFailed
from studio.permissions import requires, system_only
from studio.reddit_ads import client as ac
from studio.reddit_ads import connections
from studio.reddit_ads.plan import Plan, PlanError, RedditSettings, build
from studio.reddit_ads.sync import sync
from studio.review import may_approve_as, require_approver
from studio.store.ads_models import AdsConnection, AdsEntity, AdsSync
from studio.store.base import utcnow
from studio.store.campaign_models import CampaignSet, Variation
from studio.store.models import WorkspaceMember
from studio.store.session import Store

Enqueue = Callable[[uuid.UUID, float], None]
"""Hand a sync to the background: (sync id, seconds from now)."""


@dataclass(frozen=True)
class SyncInfo:
    id: uuid.UUID
    status: str
    go_live: bool
    counts: dict[str, Any]
    error: str
    created_at: dt.datetime
    finished_at: dt.datetime | None


def _sync_info(r: AdsSync) -> SyncInfo:
    return SyncInfo(r.id, r.status, r.go_live, dict(r.counts or {}), r.error, r.created_at, r.finished_at)


@requires(Permission.EDIT)
def request_sync(store: Store, ctx: Context, set_id: uuid.UUID, connection_id: uuid.UUID, *, go_live: bool = False,
                 enqueue: Enqueue) -> SyncInfo:
    """Queue a sync of the set's approved variations; new entities are created PAUSED unless `go_live`
    (which needs a member who may approve: it spends money)."""
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        if go_live:
            require_approver(s)
        cs = s.get(CampaignSet, set_id)
        if cs is None:
            raise NotFound("This campaign set no longer exists.")
        if go_live and cs.held:
            raise ValidationFailed("This set was made paused: approve it for publishing first (Campaign sets → "
                                   "Follow the data), then go live.")
        if (cs.platform, cs.format) != ("reddit", "link_ad"):
            raise ValidationFailed(f"Only Reddit link-ad sets sync to Reddit Ads; this set is {cs.platform}/{cs.format}.")
        c = s.get(AdsConnection, connection_id)
        if c is None:
            raise NotFound("This Reddit Ads connection was removed.")
        if c.status != "active":
            raise ValidationFailed(f"Reddit Ads u/{c.username} needs reconnecting: {c.status_reason}")
        if not (c.ad_account_id and c.profile_id):
            raise ValidationFailed("Pick the ad account and profile of the connection first (Accounts → Reddit Ads).")
        try:
            RedditSettings.from_config(cs.config or {})
        except PlanError as exc:
            raise ValidationFailed(str(exc)) from exc
        approved = s.scalar(select(func.count()).select_from(Variation).where(
            Variation.campaign_set_id == set_id, Variation.status == "approved", Variation.valid.is_(True))) or 0
        synced = s.scalar(select(func.count()).select_from(AdsEntity).where(
            AdsEntity.campaign_set_id == set_id, AdsEntity.connection_id == c.id)) or 0
        if not approved and not synced:  # with nothing approved, a sync of a synced set pauses its ads
            raise ValidationFailed("No variation of this set is approved yet: only approved variations sync to Reddit "
                                   "Ads. Approve some on the Review page first.")
        running = s.scalar(select(AdsSync).where(AdsSync.campaign_set_id == set_id, AdsSync.connection_id == c.id,
                                                 AdsSync.status.in_(("queued", "running", "waiting"))))
        if running is not None:
            return _sync_info(running)  # a double click does not queue twice
        row = AdsSync(campaign_set_id=set_id, connection_id=c.id, go_live=go_live, requested_by=ctx.user_id)
        s.add(row)
        s.flush()
        audit.record(s, "reddit_ads.sync", object_type="campaign_set", object_id=set_id,
                     summary=f"Sync to Reddit Ads {c.ad_account_name}" + (" (live)" if go_live else " (paused)"))
        info = _sync_info(row)
    enqueue(info.id, 0.0)
    return info


def _variations(store: Store, ctx: Context, set_id: uuid.UUID) -> list[dict[str, Any]]:
    with store.session_scope(ctx) as s:
        rows = s.execute(select(Variation.id, Variation.fields).where(
            Variation.campaign_set_id == set_id, Variation.status == "approved", Variation.valid.is_(True))
            .order_by(Variation.row_index, Variation.variation_index)).all()
    return [{"id": r.id, "fields": r.fields} for r in rows]


@system_only("the ads sync job runs one queued sync")
def run_sync(store: Store, ws: WorkspaceId, sync_id: uuid.UUID, *, enqueue: Enqueue) -> str:
    ctx = Context.job(ws)
    with store.session_scope(ctx) as s:
        row = s.get(AdsSync, sync_id, with_for_update=True)
        if row is None:
            return "gone"
        if row.status in ("done", "failed", "reconnect"):
            return f"nothing to do: {row.status}"
        lease = dt.timedelta(seconds=float(store.settings.extra.get("REDDIT_ADS_SYNC_LEASE_SECONDS", 600) or 0))
        started = row.started_at.replace(tzinfo=dt.UTC) if row.started_at and row.started_at.tzinfo is None \
            else row.started_at
        if row.status == "running" and started is not None and utcnow() - started < lease:
            return "another worker is syncing this set"  # a worker that died is taken over after the lease
        cs = s.get(CampaignSet, row.campaign_set_id)
        c = s.get(AdsConnection, row.connection_id)
        if cs is None or c is None:
            row.status, row.error, row.finished_at = "failed", "The set or the connection was removed.", utcnow()
            return "failed"
        row.status, row.attempts, row.started_at = "running", row.attempts + 1, utcnow()
        set_id, connection_id, config, set_name = cs.id, c.id, dict(cs.config or {}), cs.name
        may_spend = _approver(s, row.requested_by)
        go_live = row.go_live and not cs.held  # made paused since it was asked: nothing goes live
        funding, profile = c.funding_instrument_id, c.profile_id
    try:
        plan: Plan = build(_variations(store, ctx, set_id), RedditSettings.from_config(config), set_name=set_name,
                           funding_instrument_id=funding, profile_id=profile)
        counts = sync(store, ws, set_id, connection_id, plan, go_live=go_live, may_spend=may_spend)
    except ac.ReconnectNeeded as exc:
        with store.session_scope(ctx) as s:
            c = s.get(AdsConnection, connection_id, with_for_update=True)
            if c is not None:
                connections.mark_reconnect(s, c, exc.message)
            _finish(s, sync_id, "reconnect", error=f"Reconnect needed: {exc.message}")
        return "reconnect needed"
    except ac.RateLimited as exc:
        with store.session_scope(ctx) as s:
            _finish(s, sync_id, "waiting", error=f"{exc.message} (resumes in {exc.retry_after:.0f} s)", final=False)
        enqueue(sync_id, exc.retry_after)
        return "waiting for the rate limit"
    except (ac.AdsError, PlanError) as exc:
        with store.session_scope(ctx) as s:
            _finish(s, sync_id, "failed", error=getattr(exc, "message", str(exc)))
        return "failed"
    with store.session_scope(ctx) as s:
        status = "failed" if counts.failed else "done"
        error = f"{len(counts.failed)} entities were refused by Reddit (see the list)." if counts.failed else ""
        _finish(s, sync_id, status, error=error, counts=counts.as_dict())
    return f"{status}: {counts.writes()} writes"


def _approver(s: Any, user_id: uuid.UUID | None) -> bool:
    """Whether the member who asked for a sync may approve (and so spend) under the workspace's approval setting;
    a sync nobody asked for (the follow-up job) may not."""
    if user_id is None:
        return False
    role = s.scalar(select(WorkspaceMember.role).where(WorkspaceMember.workspace_id == s.workspace_id,
                                                       WorkspaceMember.user_id == user_id))
    if role is None:
        return False
    return may_approve_as(s, Role(role))


def _finish(s: Any, sync_id: uuid.UUID, status: str, *, error: str = "", counts: dict[str, Any] | None = None,
            final: bool = True) -> None:
    row = s.get(AdsSync, sync_id, with_for_update=True)
    if row is None:
        return
    row.status, row.error = status, error
    if counts is not None:
        row.counts = counts
    if final:
        row.finished_at = utcnow()


@dataclass(frozen=True)
class SetState:
    """What the set looks like on Reddit Ads, from the ledger."""

    syncs: list[SyncInfo]
    by_kind: dict[str, dict[str, int]]  # kind -> state -> count
    conflicts: list[dict[str, Any]]
    failed: list[dict[str, Any]]
    tree: list[dict[str, Any]]  # campaigns with their ad groups (name, platform id, state, paused)


@requires(Permission.VIEW)
def set_state(store: Store, ctx: Context, set_id: uuid.UUID, connection_id: uuid.UUID | None = None) -> SetState:
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        q = select(AdsSync).where(AdsSync.campaign_set_id == set_id).order_by(AdsSync.created_at.desc()).limit(10)
        syncs = [_sync_info(r) for r in s.scalars(q)]
        where = [AdsEntity.campaign_set_id == set_id]
        if connection_id is not None:
            where.append(AdsEntity.connection_id == connection_id)
        by_kind: dict[str, dict[str, int]] = {}
        for kind, state, n in s.execute(select(AdsEntity.kind, AdsEntity.state, func.count()).where(*where)
                                        .group_by(AdsEntity.kind, AdsEntity.state)):
            by_kind.setdefault(kind, {})[state] = n
        odd = s.scalars(select(AdsEntity).where(*where, AdsEntity.state.in_(("conflict", "failed", "needs_approval")))
                        .order_by(AdsEntity.kind, AdsEntity.name).limit(200)).all()
        plain = [{"id": e.id, "kind": e.kind, "name": e.name, "platform_id": e.platform_id, "message": e.message,
                  "state": e.state} for e in odd]
        levels = s.scalars(select(AdsEntity).where(*where, AdsEntity.kind.in_(("campaign", "ad_group")))
                           .order_by(AdsEntity.kind, AdsEntity.name)).all()
        tree = [{"key": c.key, "name": c.name, "platform_id": c.platform_id, "state": c.state, "paused": c.paused,
                 "ad_groups": [{"key": g.key, "name": g.name, "platform_id": g.platform_id, "state": g.state,
                                "paused": g.paused} for g in levels if g.kind == "ad_group" and g.parent_key == c.key]}
                for c in levels if c.kind == "campaign"]
    return SetState(syncs, by_kind, [p for p in plain if p["state"] == "conflict"],
                    [p for p in plain if p["state"] in ("failed", "needs_approval")], tree)


@requires(Permission.EDIT)
def set_paused(store: Store, ctx: Context, set_id: uuid.UUID, connection_id: uuid.UUID, *, paused: bool,
               key: str | None = None, enqueue: Enqueue) -> int:
    """Pause or resume the whole set, a campaign (key 'c:…') or an ad group (key 'g:…') with everything under
    it; Reddit follows on the sync this queues. Resuming spends money: it needs a member who may approve."""
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        if not paused:
            require_approver(s)
            cs = s.get(CampaignSet, set_id)
            if cs is not None and cs.held:
                raise ValidationFailed("This set was made paused: approve it for publishing first, then resume.")
        rows = s.scalars(select(AdsEntity).where(AdsEntity.campaign_set_id == set_id,
                                                 AdsEntity.connection_id == connection_id,
                                                 AdsEntity.kind != "post").with_for_update()).all()
        if not rows:
            raise ValidationFailed("Nothing of this set is on Reddit Ads yet: sync it first.")
        chosen = _under(rows, key)
        if key is not None and not chosen:
            raise NotFound("That campaign or ad group is not part of the set on Reddit Ads.")
        for r in chosen:
            if r.state != "removed":
                r.paused = paused
        audit.record(s, "reddit_ads.pause" if paused else "reddit_ads.resume", object_type="campaign_set",
                     object_id=set_id, summary=f"{'Paused' if paused else 'Resumed'} {len(chosen)} Reddit Ads entities")
        n = len(chosen)
    request_sync(store, ctx, set_id, connection_id, enqueue=enqueue)
    return n


def _under(rows: Sequence[AdsEntity], key: str | None) -> list[AdsEntity]:
    if key is None:
        return list(rows)
    keys = {key}
    for kind in ("ad_group", "ad"):
        keys |= {r.key for r in rows if r.kind == kind and r.parent_key in keys}
    return [r for r in rows if r.key in keys]


@requires(Permission.EDIT)
def resolve_conflict(store: Store, ctx: Context, entity_id: uuid.UUID, *, keep: str) -> None:
    """keep="studio": the next sync writes the studio's values over Reddit's; keep="reddit": the studio stops
    managing the entity (Reddit's edit stays)."""
    if keep not in ("studio", "reddit"):
        raise ValidationFailed("Keep either the studio's version or Reddit's.")
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        e = s.get(AdsEntity, entity_id, with_for_update=True)
        if e is None or e.state != "conflict":
            raise NotFound("This conflict was already resolved.")
        if keep == "studio":
            e.state, e.sent, e.message = "pending", {}, "The studio's version is written on the next sync."
        else:
            e.state, e.message = "detached", "Kept Reddit's version; the studio no longer changes it."
        audit.record(s, "reddit_ads.conflict", object_type="ads_entity", object_id=e.id,
                     summary=f"Conflict on {e.kind} '{e.name}': kept {keep}'s version")


# --- following the set -------------------------------------------------------------------------------------

def background(settings: Any, ws: Any) -> Enqueue:
    """Where the studio's pages send a sync: the worker pool (team) or the server's job thread (embedded)."""
    def enqueue(sync_id: uuid.UUID, delay: float) -> None:
        jobs.enqueue_ads_sync(settings, ws, sync_id, delay)

    return enqueue


STALE_QUEUED = dt.timedelta(minutes=2)


@system_only("the periodic ads job keeps synced sets following their variations")
def follow(store: Store, ws: WorkspaceId, *, enqueue: Enqueue) -> int:
    """Sets synced before whose variations changed since (a regenerate, a feed diff applied, approvals) get a
    sync; syncs whose worker died (running past the lease) or whose job was lost (queued for minutes) are
    queued again. Returns how many syncs were queued."""
    ctx = Context.job(ws)
    now = utcnow()
    lease = dt.timedelta(seconds=float(store.settings.extra.get("REDDIT_ADS_SYNC_LEASE_SECONDS", 600) or 0))
    queued: list[uuid.UUID] = []
    with store.session_scope(ctx) as s:
        latest: dict[tuple[uuid.UUID, uuid.UUID], AdsSync] = {}
        for r in s.scalars(select(AdsSync).order_by(AdsSync.created_at)):
            latest[(r.campaign_set_id, r.connection_id)] = r
        for (set_id, conn_id), r in latest.items():
            started = _aware(r.started_at or r.created_at)
            if (r.status == "queued" and now - _aware(r.created_at) > STALE_QUEUED) or \
                    (r.status == "running" and now - started > lease):
                queued.append(r.id)
                continue
            if r.status not in ("done", "failed"):
                continue
            c = s.get(AdsConnection, conn_id)
            if c is None or c.status != "active":
                continue
            changed = s.scalar(select(Variation.id).where(Variation.campaign_set_id == set_id,
                                                          Variation.updated_at > started).limit(1))
            if changed is not None:
                row = AdsSync(campaign_set_id=set_id, connection_id=conn_id, go_live=False)
                s.add(row)
                s.flush()
                audit.record(s, "reddit_ads.follow", object_type="campaign_set", object_id=set_id,
                             summary="Variations changed since the last Reddit Ads sync: syncing again")
                queued.append(row.id)
    for sync_id in queued:
        enqueue(sync_id, 0.0)
    return len(queued)


def _aware(at: dt.datetime) -> dt.datetime:
    return at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at
