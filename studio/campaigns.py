"""Campaign sets: create from a previewed configuration, duplicate, archive, generate, cancel, follow."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

from sqlalchemy import func, select, update

from engine.generation import GenerationConfig
from studio import audit, jobs, word_lists
from studio.context import Context, Permission
from studio.errors import NotFound, ValidationFailed
from studio.permissions import requires
from studio.store.base import aware, utcnow
from studio.store.campaign_models import CampaignSet, GenerationChunk, GenerationRun, Variation
from studio.store.models import Dataset, DatasetVersion
from studio.store.session import Store, TenantSession

STATUSES = ("draft", "generating", "ready", "scheduled", "publishing", "active", "paused", "completed", "archived", "error")
CHUNK_ROWS = 50_000
EMBEDDED_CHUNK_ROWS = 10_000  # one worker thread: smaller chunks move the progress bar every second or two
FOLLOW_MODES = ("review", "auto", "off")
STALL_AFTER = dt.timedelta(minutes=3)
"""A run with unfinished chunks and no chunk started or finished for this long has lost its worker."""


@dataclasses.dataclass(frozen=True)
class RunInfo:
    id: uuid.UUID
    status: str
    rows_done: int
    rows_total: int
    chunks_done: int
    chunks_total: int
    variations: int
    error: str
    seconds: float
    diff: dict[str, Any]
    last_activity: dt.datetime | None = None
    figures: dict[str, Any] = dataclasses.field(default_factory=dict)
    """What the run generated, counted from its variations: the keys of PreviewStats.figures()."""

    @property
    def fraction(self) -> float:
        return 1.0 if self.rows_total == 0 else min(1.0, self.rows_done / self.rows_total)

    @property
    def finished(self) -> bool:
        return self.status in ("done", "cancelled", "error")

    def stalled(self, now: dt.datetime | None = None) -> bool:
        """Unfinished, and no chunk has started or finished for STALL_AFTER (see `resume`)."""
        if self.finished or self.last_activity is None:
            return False
        return (now or utcnow()) - self.last_activity > STALL_AFTER


def validate_config(config: dict[str, Any]) -> GenerationConfig:
    """The engine's config, or a message saying what to change (a campaign structure only on paid formats)."""
    from engine.generation.structure import is_paid

    try:
        cfg = GenerationConfig.from_dict(config)
        paid = is_paid(cfg.platform, cfg.format)
    except Exception as exc:
        raise ValidationFailed(f"This configuration cannot generate: {exc}") from exc
    if cfg.structure is not None and not paid:
        raise ValidationFailed(f"This configuration cannot generate: {cfg.platform}/{cfg.format} is not a paid-ad format, "
                               "so it has no campaigns or ad groups; remove the campaign structure.")
    return cfg


def _check_aggregates(store: Store, ctx: Context, dataset_id: uuid.UUID, cfg: GenerationConfig) -> None:
    """The configuration's aggregates fit the data set's columns (engine/generation/aggregates.py)."""
    from engine.errors import EngineError
    from engine.generation.aggregates import aggregate_kinds
    from studio import datasets

    columns = {c.name: c.kind for c in datasets.get_dataset(store, ctx, dataset_id).columns}
    try:
        aggregate_kinds(cfg.aggregates, columns)
    except EngineError as exc:
        raise ValidationFailed(f"This configuration cannot generate: {exc}") from exc


def structure_defaults(fmt_key: str, columns: list[tuple[str, str]]) -> dict[str, Any] | None:
    """A starting campaign structure for a paid format from the data's (column, kind) pairs; None otherwise."""
    from engine.generation.structure import default_structure, is_paid

    platform, name = fmt_key.split("/", 1)
    return default_structure(fmt_key, columns) if is_paid(platform, name) else None


@requires(Permission.EDIT)
def create(store: Store, ctx: Context, name: str, dataset_id: uuid.UUID, config: dict[str, Any], *,
           follow_mode: str = "review", start_paused: bool = False) -> uuid.UUID:
    """A draft campaign set, frozen on the data set's current version.

    It follows its data set (issue 19): each new version brings a diff, applied after review or
    automatically (`follow_mode` review/auto; off: only a Regenerate moves it). Its variations are
    named by the data set's key column when it has one (frozen here). `start_paused`: nothing of the
    set publishes until a member approves it (studio.set_follow.release).
    """
    cfg = validate_config(config)
    if cfg.aggregates:  # refused now, in words, rather than as a failed run
        _check_aggregates(store, ctx, dataset_id, cfg)
    if follow_mode not in FOLLOW_MODES:
        raise ValidationFailed(f"Follow mode must be one of {', '.join(FOLLOW_MODES)}, not {follow_mode!r}.")
    if not name.strip():
        raise ValidationFailed("Give the campaign set a name.")
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        ds = s.scalar(select(Dataset).where(Dataset.id == dataset_id))
        if ds is None:
            raise NotFound("That data set does not exist in this workspace.")
        cs = CampaignSet(name=name.strip()[:120], dataset_id=ds.id, dataset_version=ds.current_version,
                         platform=cfg.platform, format=cfg.format, config=config, status="draft", created_by=ctx.user_id,
                         key_column=getattr(ds, "key_column", None), follow_mode=follow_mode, held=start_paused)
        s.add(cs)
        s.flush()
        audit.record(s, "campaign.create", object_type="campaign_set", object_id=cs.id, summary=f"Created campaign set {cs.name!r}")
        return cs.id


def get(s: TenantSession, set_id: uuid.UUID, *, lock: bool = False) -> CampaignSet:
    stmt = select(CampaignSet).where(CampaignSet.id == set_id)
    cs = s.scalar(stmt.with_for_update() if lock else stmt)
    if cs is None:
        raise NotFound("This campaign set does not exist (any more) in this workspace.")
    return cs


@requires(Permission.VIEW)
def list_sets(store: Store, ctx: Context, *, include_archived: bool = False) -> list[CampaignSet]:
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        stmt = select(CampaignSet).order_by(CampaignSet.updated_at.desc())
        if not include_archived:
            stmt = stmt.where(CampaignSet.status != "archived")
        return list(s.scalars(stmt))


@requires(Permission.EDIT)
def duplicate(store: Store, ctx: Context, set_id: uuid.UUID) -> uuid.UUID:
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        cs = get(s, set_id)
        copy = CampaignSet(name=f"{cs.name} (copy)"[:120], dataset_id=cs.dataset_id, dataset_version=cs.dataset_version,
                           platform=cs.platform, format=cs.format, config=dict(cs.config), status="draft", created_by=ctx.user_id,
                           key_column=cs.key_column, follow_mode=cs.follow_mode, held=cs.held)
        s.add(copy)
        s.flush()
        audit.record(s, "campaign.duplicate", object_type="campaign_set", object_id=copy.id, summary=f"Duplicated {cs.name!r}")
        return copy.id


@requires(Permission.EDIT)
def archive(store: Store, ctx: Context, set_id: uuid.UUID) -> None:
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        cs = get(s, set_id, lock=True)
        if cs.status == "generating":
            raise ValidationFailed("Cancel the running generation before archiving this set.")
        cs.status, cs.updated_at = "archived", utcnow()
        audit.record(s, "campaign.archive", object_type="campaign_set", object_id=cs.id, summary=f"Archived {cs.name!r}")


@requires(Permission.EDIT)
def start_run(store: Store, ctx: Context, set_id: uuid.UUID, *, overwrite_edits: bool = False,
              chunk_rows: int = CHUNK_ROWS, row_limit: int | None = None) -> uuid.UUID:
    """Split the set's data into chunks and record them; the caller enqueues `chunk_jobs(run)`."""
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        cs = get(s, set_id, lock=True)
        if cs.status == "generating":
            raise ValidationFailed("This set is already generating; wait for it or cancel it.")
        if cs.status == "archived":
            raise ValidationFailed("This set is archived; duplicate it to generate again.")
        version = s.scalar(select(DatasetVersion).where(DatasetVersion.dataset_id == cs.dataset_id,
                                                        DatasetVersion.version == cs.dataset_version))
        if version is None:
            raise ValidationFailed("The data set of this campaign set was deleted; pick another data set.")
        total = version.row_count if row_limit is None else min(version.row_count, row_limit)
        cs.config = word_lists.in_config(s, dict(cs.config))  # the run (every chunk) applies today's word list
        # while it generates only the run writes its variations: the last chunk adds the run's diff to this
        before = s.scalar(select(func.count()).select_from(Variation).where(Variation.campaign_set_id == cs.id)) or 0
        run = GenerationRun(campaign_set_id=cs.id, status="queued", rows_total=total, overwrite_edits=overwrite_edits,
                            variations_before=before)
        s.add(run)
        s.flush()
        starts = list(range(0, max(total, 1), max(1, chunk_rows)))
        for i, start in enumerate(starts):
            s.add(GenerationChunk(run_id=run.id, index=i, row_start=start, row_end=min(total, start + chunk_rows)))
        run.chunks_total = len(starts)
        cs.status, cs.status_reason, cs.updated_at = "generating", "", utcnow()
        audit.record(s, "campaign.generate", object_type="campaign_set", object_id=cs.id,
                     summary=f"Started generating {cs.name!r} ({total:,} rows in {len(starts)} chunk{'' if len(starts) == 1 else 's'})")
        return run.id


@requires(Permission.EDIT)
def cancel(store: Store, ctx: Context, run_id: uuid.UUID) -> None:
    """Stop a run: chunks not started are skipped; a running chunk stops at its next batch."""
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        run = s.scalar(select(GenerationRun).where(GenerationRun.id == run_id).with_for_update())
        if run is None:
            raise NotFound("This generation run does not exist.")
        if run.status in ("done", "cancelled", "error"):
            return
        run.status, run.finished_at = "cancelled", utcnow()
        s.execute(update(GenerationChunk).where(GenerationChunk.run_id == run_id, GenerationChunk.status.in_(("queued", "failed")))
                  .values(status="cancelled"))
        cs = get(s, run.campaign_set_id, lock=True)
        count = s.scalar(select(func.count()).select_from(Variation).where(Variation.campaign_set_id == cs.id)) or 0
        cs.status, cs.status_reason, cs.variation_count = ("ready" if count else "draft"), "Generation was cancelled.", count
        audit.record(s, "campaign.cancel", object_type="campaign_set", object_id=cs.id, summary=f"Cancelled generating {cs.name!r}")


@requires(Permission.VIEW)
def latest_run(store: Store, ctx: Context, set_id: uuid.UUID) -> RunInfo | None:
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        run = s.scalar(select(GenerationRun).where(GenerationRun.campaign_set_id == set_id)
                       .order_by(GenerationRun.started_at.desc()).limit(1))
        if run is None:
            return None
        done = s.scalar(select(func.count()).select_from(GenerationChunk).where(
            GenerationChunk.run_id == run.id, GenerationChunk.status == "done")) or 0
        last = s.scalar(select(func.max(GenerationChunk.updated_at)).where(GenerationChunk.run_id == run.id))
        return RunInfo(run.id, run.status, run.rows_done, run.rows_total, done, run.chunks_total, run.variations,
                       run.error, run.seconds, dict(run.diff or {}), max((aware(t) for t in (last, run.started_at) if t is not None), default=None),
                       figures=dict(run.figures or {}))


@requires(Permission.EDIT)
def resume(store: Store, ctx: Context, run_id: uuid.UUID) -> int:
    """Queue a stalled run's unfinished chunks again (a worker died or the server restarted).

    Chunks are idempotent: one that is in fact still queued or running is not written twice.
    Returns how many chunks were queued.
    """
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        run = s.scalar(select(GenerationRun).where(GenerationRun.id == run_id))
        if run is None:
            raise NotFound("This generation run does not exist.")
        if run.status in ("done", "cancelled", "error"):
            raise ValidationFailed(f"This run has already ended ({run.status}); nothing to resume.")
        cs = get(s, run.campaign_set_id)
        audit.record(s, "campaign.resume", object_type="campaign_set", object_id=cs.id,
                     summary=f"Resumed generating {cs.name!r}")
    assert ctx.workspace_id is not None
    return jobs.recover_run(store.settings, ctx.workspace_id, run_id)


def finished_at_or_now(run: GenerationRun) -> dt.datetime:
    return run.finished_at or utcnow()


@requires(Permission.EDIT)
def generate(store: Store, ctx: Context, set_id: uuid.UUID, *, overwrite_edits: bool = False,
             up_to_allowance: bool = False) -> uuid.UUID:
    """Check the plan's allowance, start a run and hand its chunks to the worker pool.

    Over the month's allowance the run is refused with the numbers (LimitExceeded), or — when the
    user chooses — cut at the row where the allowance runs out. In the embedded mode the chunks
    run in-process.
    """
    from studio.billing import Metric, check_allowance
    from studio.billing.plans import billing_enabled

    row_limit = None
    if billing_enabled(store.settings):
        expected, cutoff = _expected(store, ctx, set_id)
        allowance = check_allowance(store, ctx, Metric.VARIATIONS, expected, up_to_allowance=up_to_allowance)
        if allowance.allowed < expected:
            row_limit = cutoff(allowance.allowed)
    chunk_rows = CHUNK_ROWS if store.settings.redis_url else EMBEDDED_CHUNK_ROWS
    run_id = start_run(store, ctx, set_id, overwrite_edits=overwrite_edits, row_limit=row_limit, chunk_rows=chunk_rows)
    info = latest_run(store, ctx, set_id)
    assert ctx.workspace_id is not None and info is not None
    jobs.enqueue_run(store.settings, ctx.workspace_id, run_id, info.chunks_total)
    return run_id


def _expected(store: Store, ctx: Context, set_id: uuid.UUID) -> tuple[int, Any]:
    """How many variations a run will make, and a function: allowance → the row count that stays within it."""
    from engine.generation import build_plan, compute_stats
    from studio import datasets

    with store.session_scope(ctx) as s:
        cs = get(s, set_id)
        dataset_id, version, config = cs.dataset_id, cs.dataset_version, word_lists.in_config(s, dict(cs.config))
    if dataset_id is None:
        raise ValidationFailed("The data set of this campaign set was deleted; pick another data set.")
    plan = build_plan(datasets.load_table(store, ctx, dataset_id, version=version), config)
    kept = compute_stats(plan).kept

    def cutoff(allowed: int) -> int:
        if allowed <= 0:
            return 0
        row = plan.query(f'SELECT "__row" FROM ({plan.compiled.bulk_sql()}) AS v ORDER BY "__row", "__variation" '
                         f"LIMIT 1 OFFSET {int(allowed) - 1}")
        return int(row.column(0)[0].as_py())  # rows before this one fit; its variations may not all fit

    return kept, cutoff
