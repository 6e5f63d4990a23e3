"""Sets that follow their data (issue 19): a diff on every new version of the bound data set, reviewed
or applied automatically; conflicts of hand edits settled; sets made paused released.

A new version of a data set (an upload or a feed refresh) calls `version_added`, which queues
`prepare` for each following set: the diff of the set's version against the new one (engine.generation.
diff, by the set's key column), recorded once per (set, from, to). In review mode it waits for a member
(event ``diff.ready``); in auto mode it is applied at once. Applying (`apply`) is one job of chunks on
the worker pool (workers.feed_apply): each chunk renders its rows of the new version and writes only
variations whose text, position or state changed; the last chunk pauses the removed rows' variations,
cancels their unposted scheduled items and moves the set to the new version.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

from sqlalchemy import func, select, update

from studio import audit, campaigns, datasets, jobs
from studio.context import Context, Permission
from studio.errors import NotFound, ValidationFailed
from studio.permissions import internal, requires
from studio.store.base import aware, utcnow
from studio.store.campaign_models import CampaignSet, Variation
from studio.store.follow_models import FeedApplyChunk, FeedDiff, FollowConflict
from studio.store.models import Dataset, DatasetVersion
from studio.store.publishing_models import PublishItem
from studio.store.session import Store, TenantSession

APPLY_CHUNK_ROWS = 20_000
HELD_REASON = "Its campaign set was made paused: nothing of it publishes until a member approves the set."
OPEN = ("review", "applying")
# A conflict is open while its variation is still the edit it was about: settled elsewhere (the review
# grid's Keep/Drop, a later diff) it is not listed again.
_STILL_OPEN = (Variation, (Variation.id == FollowConflict.variation_id) & Variation.edited.is_(True)
               & (Variation.source_hash == FollowConflict.content_hash))


@dataclasses.dataclass(frozen=True)
class DiffInfo:
    """A diff as the page shows it."""

    id: uuid.UUID
    set_id: uuid.UUID
    from_version: int
    to_version: int
    key_column: str | None
    status: str
    counts: dict[str, int]
    by_field: dict[str, int]
    samples: dict[str, list[dict[str, Any]]]
    columns: list[str]
    result: dict[str, int]
    chunks_total: int
    chunks_done: int
    error: str
    automatic: bool
    created_at: dt.datetime
    conflicts_open: int
    last_activity: dt.datetime | None = None  # the last chunk started or finished

    def stalled(self, now: dt.datetime | None = None) -> bool:
        """Applying, and no chunk moved for campaigns.STALL_AFTER: its worker died (see `resume`)."""
        if self.status != "applying" or self.last_activity is None:
            return False
        return (now or utcnow()) - self.last_activity > campaigns.STALL_AFTER


@dataclasses.dataclass(frozen=True)
class FollowStatus:
    """How a set follows its data set: its mode, whether it waits for approval, and how far behind it is."""

    mode: str
    held: bool
    key_column: str | None
    set_version: int
    data_version: int | None  # None: the data set was deleted
    dataset_name: str

    @property
    def behind(self) -> bool:
        return self.data_version is not None and self.data_version > self.set_version


@dataclasses.dataclass(frozen=True)
class ConflictInfo:
    id: uuid.UUID
    variation_id: uuid.UUID
    row_key: str | None
    mine: dict[str, Any]
    new: dict[str, Any]


def _emit(s: TenantSession, kind: str, data: dict[str, Any]) -> None:
    try:
        from studio import events
    except ImportError:  # the events module lands with issue 19 item 5; without it nothing is notified
        return
    events.emit(s, kind, data)


# --- when a data set gets a new version --------------------------------------------------------------

@requires(Permission.EDIT)
def version_added(store: Store, ctx: Context, dataset_id: uuid.UUID) -> None:
    """A new version of `dataset_id` exists: diff every set following it (a job; inline without workers)."""
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        ds = s.scalar(select(Dataset).where(Dataset.id == dataset_id))
        if ds is None:
            return
        version = ds.current_version
        following = s.scalar(select(func.count()).select_from(CampaignSet).where(
            CampaignSet.dataset_id == dataset_id, CampaignSet.follow_mode != "off",
            CampaignSet.status != "archived", CampaignSet.dataset_version < version)) or 0
    if following:
        assert ctx.workspace_id is not None
        jobs.enqueue_feed_prepare(store.settings, ctx.workspace_id, dataset_id, version)


@requires(Permission.EDIT)
def following_sets(store: Store, ctx: Context, dataset_id: uuid.UUID) -> list[uuid.UUID]:
    """Sets bound to the data set that follow it and are behind its current version."""
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        ds = s.scalar(select(Dataset).where(Dataset.id == dataset_id))
        if ds is None:
            return []
        return list(s.scalars(select(CampaignSet.id).where(
            CampaignSet.dataset_id == dataset_id, CampaignSet.follow_mode != "off", CampaignSet.status != "archived",
            CampaignSet.dataset_version < ds.current_version)))


@requires(Permission.EDIT)
def prepare(store: Store, ctx: Context, set_id: uuid.UUID) -> uuid.UUID | None:
    """Diff the set against its data set's current version and record it; apply it at once in auto mode.

    Returns the diff's id (an existing one for the same versions), or None when there is nothing to
    compare (the set is current, generating, or was never generated: then it just moves to the version).
    """
    from engine.generation.diff import diff_versions, used_columns

    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        cs = campaigns.get(s, set_id)
        if cs.dataset_id is None:
            raise ValidationFailed("The data set of this campaign set was deleted; there is nothing to follow.")
        ds = s.scalar(select(Dataset).where(Dataset.id == cs.dataset_id))
        assert ds is not None
        to_version, from_version = ds.current_version, cs.dataset_version
        if to_version <= from_version or cs.status in ("generating", "archived"):
            return None
        existing = s.scalar(select(FeedDiff).where(FeedDiff.campaign_set_id == set_id, FeedDiff.from_version == from_version,
                                                   FeedDiff.to_version == to_version))
        if existing is not None:
            return existing.id
        if cs.status == "draft" and not cs.variation_count:  # never generated: nothing to carry over
            cs.dataset_version, cs.updated_at = to_version, utcnow()
            return None
        dataset_id, key_column, config, mode = cs.dataset_id, cs.key_column, dict(cs.config), cs.follow_mode
    # local and kept: a worker that diffs then applies reads each version once
    old = datasets.load_table(store, ctx, dataset_id, version=from_version, local=True, keep=True)
    new = datasets.load_table(store, ctx, dataset_id, version=to_version, local=True, keep=True)
    found = diff_versions(old, new, key_column=key_column, columns=used_columns(config, [*old.columns, *new.columns]))
    blocked = ""  # without its key column every row would look removed and added again: a person decides
    if key_column is not None and key_column not in new.columns:
        blocked = (f"Version {to_version} has no column {key_column!r}, the key this set matches rows by, so every "
                   f"row looks removed and added again. Put the column back in the data (or Regenerate the set on a "
                   f"duplicate); dismiss this diff to keep the set as it is.")
        mode = "review"
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        cs = campaigns.get(s, set_id, lock=True)
        existing = s.scalar(select(FeedDiff).where(FeedDiff.campaign_set_id == set_id, FeedDiff.from_version == from_version,
                                                   FeedDiff.to_version == to_version))
        if existing is not None:  # another worker recorded it meanwhile
            return existing.id
        s.execute(update(FeedDiff).where(FeedDiff.campaign_set_id == set_id, FeedDiff.status == "review")
                  .values(status="superseded"))
        diff = FeedDiff(campaign_set_id=set_id, dataset_id=dataset_id, from_version=from_version, to_version=to_version,
                        key_column=key_column, status="review", counts=found.counts, by_field=found.by_field,
                        samples=found.samples, columns=found.columns, removed=[list(r) for r in found.removed],
                        result={}, automatic=mode == "auto", error=blocked)
        s.add(diff)
        s.flush()
        c = found.counts
        audit.record(s, "campaign.diff", object_type="campaign_set", object_id=set_id,
                     summary=f"Version {to_version} of the data differs from version {from_version} for {cs.name!r}: "
                             f"{c['added']:,} added, {c['removed']:,} removed, {c['changed']:,} changed")
        if mode != "auto":
            _emit(s, "diff.ready", {"campaign_set_id": str(set_id), "name": cs.name, "diff_id": str(diff.id),
                                    "from_version": from_version, "to_version": to_version,
                                    **{k: c.get(k, 0) for k in ("added", "removed", "changed", "unchanged")},
                                    "message": f"The data of {cs.name!r} changed: review the diff before it applies."})
        diff_id = diff.id
    if mode == "auto":
        apply(store, ctx, diff_id)
    return diff_id


# --- review ------------------------------------------------------------------------------------------

def _info(s: TenantSession, d: FeedDiff) -> DiffInfo:
    done = s.scalar(select(func.count()).select_from(FeedApplyChunk).where(
        FeedApplyChunk.diff_id == d.id, FeedApplyChunk.status == "done")) or 0
    open_conflicts = s.scalar(select(func.count()).select_from(FollowConflict).join(*_STILL_OPEN).where(
        FollowConflict.diff_id == d.id, FollowConflict.resolution == "")) or 0
    last = s.scalar(select(func.max(FeedApplyChunk.updated_at)).where(FeedApplyChunk.diff_id == d.id))
    return DiffInfo(d.id, d.campaign_set_id, d.from_version, d.to_version, d.key_column, d.status, dict(d.counts or {}),
                    dict(d.by_field or {}), dict(d.samples or {}), list(d.columns or []),
                    {k: int(v) for k, v in (d.result or {}).items()}, d.chunks_total, done, d.error, d.automatic,
                    d.created_at, open_conflicts, aware(last) if last is not None else None)


@requires(Permission.VIEW)
def follow_status(store: Store, ctx: Context, set_id: uuid.UUID) -> FollowStatus:
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        cs = campaigns.get(s, set_id)
        ds = s.scalar(select(Dataset).where(Dataset.id == cs.dataset_id)) if cs.dataset_id else None
        return FollowStatus(cs.follow_mode, cs.held, cs.key_column, cs.dataset_version,
                            ds.current_version if ds else None, ds.name if ds else "")


@requires(Permission.VIEW)
def diffs(store: Store, ctx: Context, set_id: uuid.UUID, *, limit: int = 10) -> list[DiffInfo]:
    """The set's diffs, newest first."""
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        rows = s.scalars(select(FeedDiff).where(FeedDiff.campaign_set_id == set_id)
                         .order_by(FeedDiff.created_at.desc(), FeedDiff.to_version.desc()).limit(limit)).all()
        return [_info(s, d) for d in rows]


@requires(Permission.VIEW)
def get_diff(store: Store, ctx: Context, diff_id: uuid.UUID) -> DiffInfo:
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        return _info(s, _diff(s, diff_id))


def _diff(s: TenantSession, diff_id: uuid.UUID, *, lock: bool = False) -> FeedDiff:
    stmt = select(FeedDiff).where(FeedDiff.id == diff_id)
    d = s.scalar(stmt.with_for_update() if lock else stmt)
    if d is None:
        raise NotFound("This diff does not exist (any more) in this workspace.")
    return d


@requires(Permission.EDIT)
def set_follow_mode(store: Store, ctx: Context, set_id: uuid.UUID, mode: str) -> None:
    """review: a diff waits for a member; auto: applied at once; off: only a Regenerate moves the set."""
    if mode not in campaigns.FOLLOW_MODES:
        raise ValidationFailed(f"Follow mode must be one of {', '.join(campaigns.FOLLOW_MODES)}, not {mode!r}.")
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        cs = campaigns.get(s, set_id, lock=True)
        cs.follow_mode, cs.updated_at = mode, utcnow()
        audit.record(s, "campaign.follow_mode", object_type="campaign_set", object_id=set_id,
                     summary=f"{cs.name!r} follows its data: {mode}")


@requires(Permission.EDIT)
def dismiss(store: Store, ctx: Context, diff_id: uuid.UUID) -> None:
    """Leave the set on its version; the next new version brings a new diff (from the set's version)."""
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        d = _diff(s, diff_id, lock=True)
        if d.status != "review":
            raise ValidationFailed(f"This diff is {d.status}; only a diff waiting for review can be dismissed.")
        d.status, d.decided_by, d.decided_at = "dismissed", ctx.user_id, utcnow()
        audit.record(s, "campaign.diff_dismiss", object_type="campaign_set", object_id=d.campaign_set_id,
                     summary=f"Dismissed the diff to data version {d.to_version}")


@requires(Permission.EDIT)
def apply(store: Store, ctx: Context, diff_id: uuid.UUID, *, chunk_rows: int | None = None) -> int:
    """Start applying a diff: its chunks go to the worker pool (in process without Redis). Returns the
    number of chunks. Applying a diff that is already applying queues its unfinished chunks again.

    `chunk_rows`: rows of the new version per chunk. By default APPLY_CHUNK_ROWS rows *rendered* per
    chunk: when each row renders alone only new and changed rows are rendered, so a small diff of a big
    feed is one chunk (a chunk has fixed costs: loading both versions, building the plan)."""
    from engine.generation.diff import rows_independent

    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        d = _diff(s, diff_id, lock=True)
        if d.status == "applying":
            chunks = d.chunks_total
        elif d.status != "review":
            raise ValidationFailed(f"This diff is {d.status}; there is nothing to apply.")
        elif d.error:
            raise ValidationFailed(d.error)
        else:
            cs = campaigns.get(s, d.campaign_set_id, lock=True)
            if cs.status == "generating":
                raise ValidationFailed("This set is generating; apply the diff when the run has finished.")
            if cs.dataset_version != d.from_version:
                d.status = "superseded"
                raise ValidationFailed("The set moved to another version since this diff was made; check for changes again.")
            v = s.scalar(select(DatasetVersion).where(DatasetVersion.dataset_id == d.dataset_id,
                                                      DatasetVersion.version == d.to_version))
            if v is None:
                raise ValidationFailed(f"Version {d.to_version} of the data set was deleted; nothing to apply.")
            if chunk_rows is None:
                chunk_rows = APPLY_CHUNK_ROWS
                if rows_independent(cs.config):
                    rendered = int(d.counts.get("added", 0)) + int(d.counts.get("changed", 0))
                    chunk_rows = max(chunk_rows, -(-v.row_count * APPLY_CHUNK_ROWS // max(1, rendered)))
            size = max(1, chunk_rows)
            starts = list(range(0, max(v.row_count, 1), size))
            for i, start in enumerate(starts):
                s.add(FeedApplyChunk(diff_id=d.id, index=i, row_start=start, row_end=min(v.row_count, start + size)))
            d.status, d.chunks_total, d.decided_by, d.decided_at = "applying", len(starts), ctx.user_id, utcnow()
            chunks = len(starts)
            cs.status, cs.status_reason, cs.updated_at = "generating", f"Applying version {d.to_version} of its data.", utcnow()
            audit.record(s, "campaign.diff_apply", object_type="campaign_set", object_id=d.campaign_set_id,
                         summary=f"{'Automatically applied' if d.automatic else 'Applied'} the diff to data version "
                                 f"{d.to_version} of {cs.name!r}")
    assert ctx.workspace_id is not None
    jobs.enqueue_feed_apply(store, ctx.workspace_id, diff_id)
    return chunks


@requires(Permission.EDIT)
def resume(store: Store, ctx: Context, diff_id: uuid.UUID) -> int:
    """Queue a stalled apply's unfinished chunks again (a worker died); returns how many. A chunk that is in
    fact still running is not written twice (its row lock and done mark)."""
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        d = _diff(s, diff_id)
        if d.status != "applying":
            raise ValidationFailed(f"This diff is {d.status}; there is nothing to resume.")
        audit.record(s, "campaign.diff_resume", object_type="campaign_set", object_id=d.campaign_set_id,
                     summary=f"Resumed applying data version {d.to_version}")
    assert ctx.workspace_id is not None
    return jobs.recover_feed_apply(store, ctx.workspace_id, diff_id)


# --- conflicts ---------------------------------------------------------------------------------------

@requires(Permission.VIEW)
def conflicts(store: Store, ctx: Context, set_id: uuid.UUID, *, limit: int = 200) -> list[ConflictInfo]:
    """Open conflicts of the set: a hand edit (mine) against what the new data generates (new)."""
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        rows = s.execute(select(FollowConflict, Variation).join(*_STILL_OPEN)
                         .where(FollowConflict.campaign_set_id == set_id, FollowConflict.resolution == "")
                         .order_by(Variation.row_index, Variation.variation_index).limit(limit)).all()
        return [ConflictInfo(c.id, v.id, c.row_key, dict(v.fields), dict(c.fields)) for c, v in rows]


@requires(Permission.EDIT)
def resolve(store: Store, ctx: Context, set_id: uuid.UUID, conflict_ids: list[uuid.UUID], *, take_new: bool) -> int:
    """Keep mine (the edit stays and now counts as based on the new data) or take new (the new text
    replaces the edit). Returns how many were settled."""
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        rows = s.execute(select(FollowConflict, Variation).join(*_STILL_OPEN)
                         .where(FollowConflict.campaign_set_id == set_id, FollowConflict.id.in_(conflict_ids),
                                FollowConflict.resolution == "").with_for_update()).all()
        for c, v in rows:
            if take_new:
                v.fields, v.title, v.content_hash, v.edited = dict(c.fields), c.title, c.content_hash, False
                v.status = "pending"
            else:
                v.content_hash = c.content_hash
            v.source_hash, v.updated_at = "", utcnow()
            c.resolution = "new" if take_new else "mine"
        audit.record(s, "variation.conflict", object_type="campaign_set", object_id=set_id,
                     summary=f"{'Took the new text for' if take_new else 'Kept'} {len(rows):,} conflicting "
                             f"edit{'' if len(rows) == 1 else 's'}")
        return len(rows)


# --- sets made paused --------------------------------------------------------------------------------

@requires(Permission.EDIT)
def release(store: Store, ctx: Context, set_id: uuid.UUID) -> None:
    """Approve a set that was made paused: its scheduled items publish from now on."""
    from studio import review

    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        review.require_approver(s)
        cs = campaigns.get(s, set_id, lock=True)
        if not cs.held:
            return
        cs.held, cs.updated_at = False, utcnow()
        # what waited for the approval is due now (the publish sweep sends it on its next pass)
        s.execute(update(PublishItem).where(PublishItem.campaign_set_id == set_id, PublishItem.state == "retry_later",
                                            PublishItem.reason == HELD_REASON).values(scheduled_at=utcnow(), reason=""))
        audit.record(s, "campaign.release", object_type="campaign_set", object_id=set_id,
                     summary=f"Approved {cs.name!r} for publishing (it was made paused)")


@internal("publishing asks it for an item it is about to send")
def held(s: TenantSession, set_id: uuid.UUID) -> bool:
    """The set was made paused and no member approved it yet: nothing of it publishes."""
    return bool(s.scalar(select(CampaignSet.held).where(CampaignSet.id == set_id)))
