"""Data sets from a URL, refreshed now or on a schedule (issue 19 items 1–2).

A URL source belongs to one data set (`FeedSource`). Each fetch (studio.feed_fetch: guarded, limited,
conditional) ends in one of four outcomes, written to the fetch log (`FeedFetch`) and onto the source:

- ``new_version``  the bytes differ from the current version's (content hash): ingested as the next version;
- ``unchanged``    the same bytes again (a server without validators): no version;
- ``not_modified`` the server answered 304 to our ETag / Last-Modified: no version;
- ``failed``       with the reason; three failures in a row pause the schedule until a person resumes it
                   (or a Fetch now that works again).

Events (studio.events): ``dataset.refreshed`` for a new version, ``feed.refresh_failed`` for a failure,
``feed.paused`` when the schedule pauses. The schedule is swept by workers.feeds (the PERIODIC list):
`claim_due` hands out due sources and moves their next time on in the same transaction, so two sweeps
never fetch one source twice.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import delete, select

from engine.ingest import IngestError, IngestOptions, IngestResult, ingest
from studio import audit, feed_secrets
from studio.context import Context, Permission
from studio.dataset_versions import _append, _create, _current, _default_name, _get, content_hash
from studio.errors import NotFound, ValidationFailed
from studio.feed_fetch import FORMATS, FetchFailed, Policy, check_url, detect_format, entered_login, fetch
from studio.naming import check_printable
from studio.permissions import requires, system_only
from studio.storage import blob_store
from studio.store.base import aware, utcnow
from studio.store.feed_models import FeedFetch, FeedSource
from studio.store.session import Store, TenantSession

PAUSE_AFTER = 3  # failures in a row
KEEP_FETCHES = 50  # log entries kept per source
MIN_INTERVAL = 5  # minutes
MAX_INTERVAL = 7 * 24 * 60
INTERVALS = {"manual": None, "every 15 minutes": 15, "hourly": 60, "every 6 hours": 360, "daily": 1440}


@dataclass(frozen=True)
class FetchEntry:
    at: dt.datetime
    trigger: str
    outcome: str
    http_status: int | None
    size_bytes: int | None
    version: int | None
    error: str | None


@dataclass(frozen=True)
class FeedStatus:
    dataset_id: uuid.UUID
    source_id: uuid.UUID
    url: str
    format: str
    auth_label: str  # never the secret
    interval_minutes: int | None
    next_fetch_at: dt.datetime | None
    paused: bool
    paused_reason: str | None
    consecutive_failures: int
    last_fetch_at: dt.datetime | None
    last_success_at: dt.datetime | None
    last_change_at: dt.datetime | None
    last_outcome: str | None
    last_error: str | None
    fetches: tuple[FetchEntry, ...]
    queued_at: dt.datetime | None = None  # a scheduled fetch handed to the workers, not run yet


@dataclass(frozen=True)
class FetchResult:
    outcome: str
    version: int | None
    error: str | None
    message: str  # for the page


def _interval(minutes: int | None) -> int | None:
    if minutes is None:
        return None
    if not MIN_INTERVAL <= int(minutes) <= MAX_INTERVAL:
        raise ValidationFailed(f"Fetch every {MIN_INTERVAL} minutes at the most often and weekly at the least "
                               f"(got {minutes} minutes).")
    return int(minutes)


def _format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValidationFailed(f"Unknown format {fmt!r}: pick one of {', '.join(FORMATS)}.")
    return fmt


def _filename(url: str, ext: str) -> str:
    parts = urlsplit(url)
    leaf = parts.path.rstrip("/").rsplit("/", 1)[-1]
    stem = leaf.rsplit(".", 1)[0] if "." in leaf else leaf
    if not stem or stem in ("export", "pub", "edit", "feed", "api"):
        host = parts.hostname or "feed"
        stem = "Google Sheet" if host == "docs.google.com" else f"{host} {stem}".strip()
    return f"{stem[:200]}{ext}"


def _ingest(store: Store, url: str, fmt: str, content_type: str, body: bytes,
            options: IngestOptions | None) -> tuple[str, IngestResult]:
    ext = detect_format(fmt, url, content_type, body)
    filename = _filename(url, ext)
    return filename, ingest(body, filename, max_bytes=store.settings.max_upload_bytes, options=options)


def _status(s: TenantSession, src: FeedSource) -> FeedStatus:
    rows = s.scalars(select(FeedFetch).where(FeedFetch.source_id == src.id)
                     .order_by(FeedFetch.finished_at.desc()).limit(20)).all()
    def at(value: dt.datetime | None) -> dt.datetime | None:
        return aware(value) if value else None

    return FeedStatus(
        src.dataset_id, src.id, src.url, src.format, src.auth_label, src.interval_minutes, at(src.next_fetch_at),
        src.paused, src.paused_reason, src.consecutive_failures, at(src.last_fetch_at), at(src.last_success_at),
        at(src.last_change_at), src.last_outcome, src.last_error,
        tuple(FetchEntry(aware(f.finished_at), f.trigger, f.outcome, f.http_status, f.size_bytes, f.version, f.error)
              for f in rows), at(src.queued_at))


def _source(s: TenantSession, dataset_id: uuid.UUID, *, lock: bool = False) -> FeedSource:
    stmt = select(FeedSource).where(FeedSource.dataset_id == dataset_id)
    if lock:
        stmt = stmt.with_for_update()
    src = s.scalar(stmt)
    if src is None:
        raise NotFound("This data set is not fed from a URL (upload a new file to change it).")
    return src


@requires(Permission.EDIT)
def create_from_url(store: Store, ctx: Context, url: str, *, name: str | None = None, fmt: str = "auto",
                    auth_kind: str = "none", username: str = "", secret: str = "",
                    interval_minutes: int | None = None, options: IngestOptions | None = None) -> FeedStatus:
    """A new data set from what `url` serves now (version 1), fetched again every `interval_minutes` (None:
    only on demand). Nothing is stored when the first fetch or its reading fails."""
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
    check_printable(name or "", "data set")
    url, fmt, interval = check_url(url), _format(fmt), _interval(interval_minutes)
    creds = entered_login(auth_kind, username, secret)
    got = fetch(url, Policy.from_settings(store.settings), credentials=creds)
    assert got.body is not None  # no validators were sent: never a 304
    filename, result = _ingest(store, got.url, fmt, got.content_type, got.body, options)
    blobs = blob_store(store.settings)
    now = utcnow()
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        wanted = (name or "").strip() or _default_name(filename)
        ds = _create(s, blobs, wanted, filename, result, ctx, content_hash=content_hash(got.body), options=options)
        src = FeedSource(dataset_id=ds.id, url=url, format=fmt, auth_kind=auth_kind if creds else "none",
                         auth_label=feed_secrets.label(creds), credentials_enc=feed_secrets.seal(store.settings, creds),
                         interval_minutes=interval, created_by=ctx.user_id, paused=False, consecutive_failures=0,
                         next_fetch_at=now + dt.timedelta(minutes=interval) if interval else None,
                         last_fetch_at=now, last_success_at=now, last_change_at=now, last_outcome="new_version",
                         etag=got.etag, last_modified=got.last_modified)
        s.add(src)
        s.flush()
        s.add(FeedFetch(source_id=src.id, trigger="create", started_at=now, finished_at=utcnow(),
                        outcome="new_version", http_status=got.status, size_bytes=len(got.body), version=1))
        audit.record(s, "dataset.from_url", object_type="dataset", object_id=ds.id,
                     summary=f"Created {ds.name!r} from {urlsplit(url).hostname} ({result.row_count:,} rows)")
        return _status(s, src)


@requires(Permission.EDIT)
def update_source(store: Store, ctx: Context, dataset_id: uuid.UUID, *, url: str | None = None,
                  fmt: str | None = None, interval_minutes: int | str | None = "keep",
                  auth_kind: str | None = None, username: str = "", secret: str = "") -> FeedStatus:
    """Change the address, format, schedule (None: on demand only) or credentials ("none" removes them)."""
    url = check_url(url) if url is not None else None
    fmt = _format(fmt) if fmt is not None else None
    interval = _interval(interval_minutes) if interval_minutes != "keep" else None  # type: ignore[arg-type]
    creds = entered_login(auth_kind, username, secret) if auth_kind is not None else None
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        src = _source(s, dataset_id, lock=True)
        changed = []
        if url is not None and url != src.url:
            src.url, src.etag, src.last_modified = url, None, None
            changed.append("address")
        if fmt is not None and fmt != src.format:
            src.format, src.etag, src.last_modified = fmt, None, None
            changed.append("format")
        if interval_minutes != "keep" and interval != src.interval_minutes:
            src.interval_minutes = interval
            src.next_fetch_at = utcnow() + dt.timedelta(minutes=interval) if interval else None
            changed.append("schedule")
        if auth_kind is not None:
            src.auth_kind, src.auth_label = (creds.kind, feed_secrets.label(creds)) if creds else ("none", "")
            src.credentials_enc = feed_secrets.seal(store.settings, creds)
            src.etag = src.last_modified = None
            changed.append("credentials")
        src.updated_at = utcnow()
        if changed:
            audit.record(s, "dataset.feed_update", object_type="dataset", object_id=dataset_id,
                         summary=f"Changed the feed's {', '.join(changed)}")
        return _status(s, src)


@requires(Permission.EDIT)
def resume(store: Store, ctx: Context, dataset_id: uuid.UUID) -> FeedStatus:
    """A paused schedule runs again: the next sweep fetches it."""
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        src = _source(s, dataset_id, lock=True)
        src.paused, src.paused_reason, src.consecutive_failures = False, None, 0
        src.next_fetch_at = utcnow() if src.interval_minutes else None
        audit.record(s, "dataset.feed_resume", object_type="dataset", object_id=dataset_id,
                     summary="Resumed the feed's schedule")
        return _status(s, src)


@requires(Permission.VIEW)
def feed_status(store: Store, ctx: Context, dataset_id: uuid.UUID) -> FeedStatus | None:
    """The source of a URL data set with its recent fetches; None for an uploaded one."""
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        src = s.scalar(select(FeedSource).where(FeedSource.dataset_id == dataset_id))
        return _status(s, src) if src is not None else None


@system_only("the feed sweep (workers.feeds) hands due fetches of one workspace to the workers")
def claim_due(store: Store, ctx: Context, *, limit: int, now: dt.datetime | None = None) -> list[uuid.UUID]:
    """Data sets whose schedule is due, at most `limit`; their next time moves on in the same transaction, so
    a second sweep (or a second scheduler) finds nothing to hand out twice."""
    at = now or utcnow()
    with store.session_scope(ctx) as s:
        stmt = (select(FeedSource).where(FeedSource.paused.is_(False), FeedSource.interval_minutes.is_not(None),
                                         FeedSource.next_fetch_at <= at)
                .order_by(FeedSource.next_fetch_at).limit(limit))
        if store.is_postgres:
            stmt = stmt.with_for_update(skip_locked=True)
        claimed = []
        for src in s.scalars(stmt):
            src.queued_at = at
            src.next_fetch_at = at + dt.timedelta(minutes=src.interval_minutes or MIN_INTERVAL)
            claimed.append(src.dataset_id)
        return claimed


@requires(Permission.EDIT)
def refresh(store: Store, ctx: Context, dataset_id: uuid.UUID, *, trigger: str = "manual") -> FetchResult:
    """Fetch the data set's URL once and record the outcome (see the module note). Failures are recorded and
    returned, not raised: the job and the page both report them."""
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        src = _source(s, dataset_id)
        ds = _get(s, dataset_id)
        current = _current(s, ds)
        url, fmt, token, etag, modified = src.url, src.format, src.credentials_enc, src.etag, src.last_modified
        current_hash = current.content_hash
        options = IngestOptions.from_dict((current.info or {}).get("options"))
    started = utcnow()
    body: bytes | None = None
    status: int | None = None
    error: str | None = None
    got = None
    result: IngestResult | None = None
    filename: str | None = None
    try:
        creds = feed_secrets.unseal(store.settings, token)
        got = fetch(url, Policy.from_settings(store.settings), credentials=creds, etag=etag, last_modified=modified)
        status, body = got.status, got.body
        if body is not None and content_hash(body) != current_hash:
            filename, result = _ingest(store, got.url, fmt, got.content_type, body, options)
    except FetchFailed as exc:
        error, status = exc.message, exc.status
    except IngestError as exc:
        error = f"The data could not be read: {exc}"
    return _record(store, ctx, dataset_id, trigger=trigger, started=started, status=status, error=error,
                   body=body, etag=got.etag if got else None, modified=got.last_modified if got else None,
                   filename=filename, result=result, options=options)


def _record(store: Store, ctx: Context, dataset_id: uuid.UUID, *, trigger: str, started: dt.datetime,
            status: int | None, error: str | None, body: bytes | None, etag: str | None, modified: str | None,
            filename: str | None, result: IngestResult | None, options: IngestOptions | None) -> FetchResult:
    from studio import events  # the outbox (studio/events.py); imported here to keep this module's imports light

    blobs = blob_store(store.settings)
    now = utcnow()
    with store.session_scope(ctx) as s:
        ds = _get(s, dataset_id, lock=True)
        src = _source(s, dataset_id, lock=True)
        src.last_fetch_at, src.queued_at, src.updated_at = now, None, now
        if src.interval_minutes and not src.paused:
            src.next_fetch_at = now + dt.timedelta(minutes=src.interval_minutes)
        version = None
        if error is not None:
            outcome = "failed"
            src.consecutive_failures += 1
            src.last_error = error
            base = {"dataset_id": str(ds.id), "dataset": ds.name, "url_host": urlsplit(src.url).hostname}
            events.emit(s, "feed.refresh_failed", {**base, "failures": src.consecutive_failures, "message": error},
                        user_id=src.created_by)
            if src.consecutive_failures >= PAUSE_AFTER and not src.paused:
                src.paused = True
                src.paused_reason = f"Paused after {src.consecutive_failures} failed fetches in a row: {error}"
                events.emit(s, "feed.paused", {**base, "failures": src.consecutive_failures, "message": error},
                            user_id=src.created_by)
        else:
            src.consecutive_failures, src.last_error, src.last_success_at = 0, None, now
            if src.paused:  # a fetch that works again (Fetch now after fixing the feed) ends the pause
                src.paused, src.paused_reason = False, None
                if src.interval_minutes:
                    src.next_fetch_at = now + dt.timedelta(minutes=src.interval_minutes)
            if etag or modified:
                src.etag, src.last_modified = etag, modified
            digest = content_hash(body) if body is not None else None
            if body is None:
                outcome = "not_modified"
            elif result is None or _current(s, ds).content_hash == digest:  # a concurrent fetch stored it first
                outcome = "unchanged"
            else:
                outcome = "new_version"
                latest = _append(s, blobs, ds, filename or "feed", result, ctx, content_hash=digest,
                                 options=options, at=now)
                version = ds.current_version
                src.last_change_at = now
                audit.record(s, "dataset.refresh", object_type="dataset", object_id=ds.id,
                             summary=f"Fetched {ds.name!r} from its URL (version {version}, {result.row_count:,} rows)")
                events.emit(s, "dataset.refreshed", {"dataset_id": str(ds.id), "dataset": ds.name, "version": version,
                                                     "previous_version": latest, "rows": result.row_count,
                                                     "key_column": ds.key_column}, user_id=src.created_by)
        src.last_outcome = outcome
        s.add(FeedFetch(source_id=src.id, trigger=trigger, started_at=started, finished_at=now, outcome=outcome,
                        http_status=status, size_bytes=len(body) if body is not None else None, version=version,
                        error=error))
        s.flush()
        old = select(FeedFetch.id).where(FeedFetch.source_id == src.id).order_by(FeedFetch.finished_at.desc()) \
            .offset(KEEP_FETCHES)
        s.execute(delete(FeedFetch).where(FeedFetch.id.in_(list(s.scalars(old)))))
    message = {"new_version": f"New version {version} stored.",
               "unchanged": "The data has not changed: no new version.",
               "not_modified": "The server says nothing changed (304): no new version.",
               "failed": f"The fetch failed: {error}"}[outcome]
    if version is not None:  # campaign sets following the data set get a diff (studio.set_follow)
        from studio import set_follow

        set_follow.version_added(store, ctx, dataset_id)
    return FetchResult(outcome, version, error, message)
