"""Planning a campaign set's publication: options, checks, a preview to look at, and the commit into the outbox."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select

from engine.templates import TemplateError, compile_template
from studio import audit, campaigns
from studio.context import Context, Permission
from studio.errors import ValidationFailed
from studio.jobs import enqueue_publish_item
from studio.permissions import requires
from studio.publishing import accounts, chains, checks, content, outbox, planner
from studio.publishing import reddit_client as rc
from studio.publishing.outbox import aware
from studio.store.base import utcnow
from studio.store.campaign_models import Variation
from studio.store.publishing_models import PublishItem, PublishSettings, RedditAccount
from studio.store.session import Store, TenantSession

Lookup = Callable[[str], rc.SubredditInfo]
COMMENT_LINK = re.compile(r"/comments/([a-z0-9]+)(?:/[^/]*/([a-z0-9]+))?", re.IGNORECASE)


@dataclass
class PublishOptions:
    """How a set goes out; stored per set as JSON. Hours and days are in `timezone`; 0 = Monday."""

    account_ids: list[str] = field(default_factory=list)
    timezone: str = "UTC"
    hours: list[int] = field(default_factory=lambda: list(range(24)))
    days: list[int] = field(default_factory=lambda: list(range(7)))
    start_at: str = ""  # ISO 8601 in UTC; empty: five minutes from now
    stagger_minutes: int = 5
    jitter_minutes: int = 5
    flair_column: str = "flair"
    comment_template: str = ""
    comment_delay_minutes: int = 30

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> PublishOptions:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in (raw or {}).items() if k in names})

    def validate(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValidationFailed(f"Unknown time zone {self.timezone!r}; use a name like 'Europe/Paris'.") from exc
        if not self.hours or not self.days:
            raise ValidationFailed("Pick at least one preferred hour and one preferred day.")
        if not 0 <= self.jitter_minutes <= 30 or not 0 <= self.stagger_minutes <= 24 * 60:
            raise ValidationFailed("Jitter is 0–30 minutes and the stagger 0–1440 minutes.")

    def start(self) -> dt.datetime:
        if self.start_at:
            return aware(dt.datetime.fromisoformat(self.start_at)) or utcnow()
        soon = utcnow() + dt.timedelta(minutes=5)  # rounded up to 5 minutes: preview and commit agree
        return soon.replace(second=0, microsecond=0) + dt.timedelta(minutes=-soon.minute % 5 or 5)

    def preferences(self) -> planner.Preferences:
        return planner.Preferences(self.start(), self.timezone, frozenset(self.hours), frozenset(self.days),
                                   dt.timedelta(minutes=self.stagger_minutes))


@dataclass(frozen=True)
class PlannedItem:
    key: str
    variation_id: uuid.UUID
    kind: str
    title: str
    subreddit: str
    account_id: uuid.UUID
    account: str
    at: dt.datetime
    jitter_seconds: int
    body: str = ""
    url: str = ""
    flair_id: str = ""
    flair_text: str = ""
    parent_fullname: str = ""
    parent_key: str = ""  # the parent is planned with this item (a thread's reply, a reply chain)
    parent_item_id: uuid.UUID | None = None  # the parent was scheduled before (a reply chain)
    flags: content.Flags = field(default_factory=content.Flags)  # NSFW / spoiler / send replies, read again from the variation at send


@dataclass
class PlanPreview:
    items: list[PlannedItem] = field(default_factory=list)
    refused: list[tuple[str, str, str]] = field(default_factory=list)  # (title, subreddit, reason)


@dataclass
class _Inputs:
    fmt: str
    variations: list[Variation]
    accounts: list[RedditAccount]
    busy: dict[uuid.UUID, list[dt.datetime]]
    sub_busy: dict[str, list[dt.datetime]]
    scheduled: dict[tuple[int, int], str] = field(default_factory=dict)  # (row, variation) → "scheduled:<item id>"


@requires(Permission.VIEW)
def load_options(store: Store, ctx: Context, set_id: uuid.UUID) -> PublishOptions:
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        row = s.scalar(select(PublishSettings).where(PublishSettings.campaign_set_id == set_id))
        return PublishOptions.from_dict(row.options if row else None)


@requires(Permission.VIEW)
def columns(store: Store, ctx: Context, set_id: uuid.UUID) -> list[str]:
    """The data columns of a set's variations (to pick the flair column from)."""
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        first = s.scalar(select(Variation.fields).where(Variation.campaign_set_id == set_id).limit(1))
        return sorted(first or {})


def save_options(s: TenantSession, set_id: uuid.UUID, options: PublishOptions) -> None:
    row = s.scalar(select(PublishSettings).where(PublishSettings.campaign_set_id == set_id))
    if row is None:
        row = PublishSettings(campaign_set_id=set_id)
        s.add(row)
    row.options, row.updated_at = dataclasses.asdict(options), utcnow()


def parent_fullname(value: str) -> str:
    """t3_/t1_ ids, bare ids (threads) and comment or thread URLs become a fullname; '' when unusable."""
    value = (value or "").strip()
    if re.fullmatch(r"t[13]_[a-z0-9]+", value, re.IGNORECASE):
        return value.lower()
    m = COMMENT_LINK.search(value)
    if m:
        return f"t1_{m.group(2)}" if m.group(2) else f"t3_{m.group(1)}"
    return f"t3_{value.lower()}" if re.fullmatch(r"[a-z0-9]{3,12}", value, re.IGNORECASE) else ""


def _inputs(s: TenantSession, set_id: uuid.UUID, options: PublishOptions) -> _Inputs:
    cs = campaigns.get(s, set_id)
    if cs.platform != "reddit" or cs.format not in ("thread", "comment"):
        raise ValidationFailed("Only Reddit thread and comment sets can be published from the studio.")
    prefix = "thread" if cs.format == "thread" else "comment"
    taken = set(s.scalars(select(PublishItem.variation_id).where(PublishItem.campaign_set_id == set_id,
                                                                 PublishItem.dedupe_key.startswith(prefix + ":"))))
    variations = [v for v in s.scalars(select(Variation).where(
        Variation.campaign_set_id == set_id, Variation.status == "approved", Variation.valid.is_(True))
        .order_by(Variation.row_index, Variation.variation_index)) if v.id not in taken]
    wanted = {uuid.UUID(str(a)) for a in options.account_ids}
    chosen = [a for a in s.scalars(select(RedditAccount).order_by(RedditAccount.username))
              if a.id in wanted and a.status == "active"]
    busy: dict[uuid.UUID, list[dt.datetime]] = {a.id: [] for a in chosen}
    sub_busy: dict[str, list[dt.datetime]] = {}
    rows = s.execute(select(PublishItem.account_id, PublishItem.subreddit, PublishItem.scheduled_at,
                            PublishItem.posted_at).where(PublishItem.state.in_(outbox.LIVE),
                                                         PublishItem.kind == "thread"))
    for account_id, sub, at, posted in rows:
        when = aware(posted or at)
        assert when is not None
        if account_id in busy:
            busy[account_id].append(when)
        if sub:
            sub_busy.setdefault(sub.lower(), []).append(when)
    scheduled: dict[tuple[int, int], str] = {}
    if cs.format == "comment":  # parents of reply chains scheduled by an earlier commit
        for item_id, row, var in s.execute(
                select(PublishItem.id, Variation.row_index, Variation.variation_index)
                .join(Variation, Variation.id == PublishItem.variation_id)
                .where(PublishItem.campaign_set_id == set_id, PublishItem.dedupe_key.startswith("comment:"))):
            scheduled[(row, var)] = f"scheduled:{item_id}"
    return _Inputs(cs.format, variations, chosen, busy, sub_busy, scheduled)


def _subreddit(v: Variation) -> str:
    return str(v.subreddit or v.fields.get("subreddit") or "").strip().removeprefix("r/")


def _plan(set_id: uuid.UUID, inputs: _Inputs, options: PublishOptions, lookup: Lookup | None) -> PlanPreview:
    out = PlanPreview()
    by_key = {str(v.id): v for v in inputs.variations}
    refused: dict[str, str] = {}
    cleared: dict[str, checks.Cleared] = {}
    chain = chains.Chains()
    if inputs.fmt == "thread":
        targets = [checks.Target(str(v.id), _subreddit(v), "link" if v.fields.get("url") else "self",
                                 str(v.fields.get(options.flair_column) or "")) for v in inputs.variations]
        if lookup is None:
            refused = {t.key: "No active Reddit account to check the subreddits with." for t in targets}
        else:
            cleared, refused = checks.check_targets(targets, lookup)
    else:
        chain = chains.resolve(inputs.variations, inputs.scheduled, {v.id: str(v.id) for v in inputs.variations})
        refused.update(chain.refused)
        for v in inputs.variations:
            key = str(v.id)
            if key not in refused and key not in chain.parent_of and not parent_fullname(chains.parent_value(v)):
                refused[key] = ("The 'parent' value is not a Reddit thread or comment id (t3_…, t1_…), a link, "
                                "or a row of this set ('row 3').")
    for v in inputs.variations:  # the format's limits: what Reddit would refuse is refused here, with the reason
        key = str(v.id)
        if key not in refused:
            why = _content_problem(inputs.fmt, v)
            if why:
                refused[key] = why
    if inputs.fmt == "comment":
        refused.update(chain.refuse_orphans(refused))
    order = chain.order if inputs.fmt == "comment" else list(by_key)
    wants = [planner.Want(k, _subreddit(by_key[k]) if inputs.fmt == "thread" else "",
                          planner.jitter_for(f"{set_id}:{k}", options.jitter_minutes * 60))
             for k in order if k not in refused]
    now = utcnow()
    slots = planner.plan(wants, [planner.Account(str(a.id), accounts.info(a, now).low_karma,
                                                 tuple(inputs.busy.get(a.id, ()))) for a in inputs.accounts],
                         options.preferences(), subreddit_busy=inputs.sub_busy, now=now)
    refused.update(slots.refused)
    if inputs.fmt == "comment":
        refused.update(chain.refuse_orphans(refused))
    names = {str(a.id): a.username for a in inputs.accounts}
    renderer = _comment_renderer(options, inputs.variations) if inputs.fmt == "thread" else None
    for slot in slots.slots:
        if slot.key in refused:  # a reply whose parent found no slot
            continue
        v = by_key[slot.key]
        c = cleared.get(slot.key, checks.Cleared())
        title = str(v.fields.get("title") or v.title or "")
        if inputs.fmt == "thread":
            flags = content.flags(v.fields)
            item = PlannedItem(f"thread:{v.id}", v.id, "thread", title, _subreddit(v), uuid.UUID(slot.account_id),
                               names[slot.account_id], slot.at, slot.jitter_seconds, str(v.fields.get("body") or ""),
                               str(v.fields.get("url") or ""), c.flair_id, c.flair_text,
                               flags=flags if isinstance(flags, content.Flags) else content.Flags())
        else:
            up = chain.parent_of.get(slot.key, "")
            item = PlannedItem(f"comment:{v.id}", v.id, "comment", title, "", uuid.UUID(slot.account_id),
                               names[slot.account_id], slot.at, slot.jitter_seconds, str(v.fields.get("body") or ""),
                               parent_fullname="" if up else parent_fullname(chains.parent_value(v)),
                               parent_key=f"comment:{up}" if up and not up.startswith("scheduled:") else "",
                               parent_item_id=uuid.UUID(up.split(":", 1)[1]) if up.startswith("scheduled:") else None)
        out.items.append(item)
        if renderer is not None:
            delay = dt.timedelta(minutes=options.comment_delay_minutes)
            body = renderer(v)
            why = content.problem("comment", body=body)
            if why:
                out.refused.append((title, item.subreddit, f"Its reply comment: {why}"))
                continue
            out.items.append(dataclasses.replace(item, key=f"reply:{v.id}", kind="comment", at=slot.at + delay,
                                                 body=body, url="", flair_id="", flair_text="", flags=content.Flags(),
                                                 subreddit=item.subreddit, parent_key=item.key))
    for key, reason in refused.items():
        v = by_key[key]
        out.refused.append((str(v.fields.get("title") or v.title or ""), _subreddit(v), reason))
    return out


def _content_problem(fmt: str, v: Variation) -> str | None:
    if fmt == "comment":
        return content.problem("comment", body=str(v.fields.get("body") or ""))
    flags = content.flags(v.fields)
    if isinstance(flags, str):
        return flags
    return content.problem("thread", title=str(v.fields.get("title") or v.title or ""),
                           body=str(v.fields.get("body") or ""), url=str(v.fields.get("url") or ""),
                           flair_text=str(v.fields.get("flair") or ""))


def _comment_renderer(options: PublishOptions, variations: list[Variation]) -> Callable[[Variation], str] | None:
    if not options.comment_template.strip():
        return None
    columns = sorted({k for v in variations for k in v.fields})
    try:
        tmpl = compile_template(options.comment_template, {c: "text" for c in columns})
    except TemplateError as exc:
        raise ValidationFailed(f"The comment template cannot be used: {exc}") from exc

    def render(v: Variation) -> str:
        try:
            return tmpl.render({c: v.fields.get(c, "") for c in columns})
        except TemplateError as exc:
            raise ValidationFailed(f"The comment template fails on row {v.row_index + 1}: {exc}") from exc

    return render


@requires(Permission.VIEW)
def default_lookup(store: Store, ctx: Context, options: PublishOptions) -> Lookup | None:
    """Subreddit facts read with the first selected account that is still active."""
    with store.session_scope(ctx) as s:
        ids = {uuid.UUID(str(a)) for a in options.account_ids}
        first = next((a.id for a in s.scalars(select(RedditAccount).order_by(RedditAccount.username))
                      if a.id in ids and a.status == "active"), None)
    if first is None:
        return None
    # the member only reads subreddit facts through it: the client (secrets inside) stays in this closure
    assert ctx.workspace_id is not None
    reddit = accounts.client(store, Context.job(ctx.workspace_id), first, retries=True)
    return lambda name: rc.subreddit_info(reddit, name)


@requires(Permission.VIEW)
def preview(store: Store, ctx: Context, set_id: uuid.UUID, options: PublishOptions, *,
            lookup: Lookup | None = None) -> PlanPreview:
    """What committing would schedule (and what it would refuse, with reasons); writes nothing."""
    options.validate()
    lookup = lookup or default_lookup(store, ctx, options)
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        return _plan(set_id, _inputs(s, set_id, options), options, lookup)


@requires(Permission.EDIT)
def commit(store: Store, ctx: Context, set_id: uuid.UUID, options: PublishOptions, *,
           lookup: Lookup | None = None) -> PlanPreview:
    """Write the plan into the outbox (once, even under concurrent clicks) and schedule one job per item."""
    options.validate()
    lookup = lookup or default_lookup(store, ctx, options)
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        campaigns.get(s, set_id, lock=True)  # concurrent commits of one set queue up here
        result = _plan(set_id, _inputs(s, set_id, options), options, lookup)
        save_options(s, set_id, options)
        ids: dict[str, PublishItem] = {}
        for p in result.items:
            row = PublishItem(campaign_set_id=set_id, variation_id=p.variation_id, dedupe_key=p.key, kind=p.kind,
                              account_id=p.account_id, subreddit=p.subreddit, title=p.title, body=p.body, url=p.url,
                              flair_id=p.flair_id, flair_text=p.flair_text, parent_fullname=p.parent_fullname,
                              parent_item_id=ids[p.parent_key].id if p.parent_key else p.parent_item_id,
                              scheduled_at=p.at,
                              jitter_seconds=p.jitter_seconds)
            s.add(row)
            s.flush()
            ids[p.key] = row
        jobs = [(row.id, row.job_gen, aware(row.scheduled_at) or utcnow()) for row in ids.values()]
        if result.items:
            audit.record(s, "publish.schedule", object_type="campaign_set", object_id=set_id,
                         summary=f"Scheduled {len(result.items):,} item{'' if len(result.items) == 1 else 's'}; "
                                 f"{len(result.refused):,} refused")
    enqueue(store, ctx, jobs)
    return result


@requires(Permission.EDIT)
def enqueue(store: Store, ctx: Context, jobs: list[tuple[uuid.UUID, int, dt.datetime]]) -> None:
    """Hand items to the worker pool at their times (embedded mode: the schedule page runs due items)."""
    if not jobs or not store.settings.redis_url or ctx.workspace_id is None:
        return
    for item_id, gen, at in jobs:
        enqueue_publish_item(store.settings, ctx.workspace_id, item_id, gen, at)


@requires(Permission.VIEW)
def keep_running(store: Store, ctx: Context) -> bool:
    """Team mode: False when Redis (the worker pool's queue) is unreachable. The sweeper, metrics and token
    jobs need nothing from a page: the workers' scheduler runs them for every workspace (workers.periodic)."""
    if not store.settings.redis_url or ctx.workspace_id is None:
        return True
    from redis.exceptions import RedisError

    from studio.jobs import redis_connection

    try:
        return bool(redis_connection(store.settings).ping())
    except RedisError:
        return False
