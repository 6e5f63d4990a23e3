"""URL data sets against a local feed server: versions only on change, 304s, failures → paused, events,
credentials never shown, Merchant Center XML, and a sweep that never hands out a fetch twice."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import pytest
from sqlalchemy import select

from studio import auth, dataset_keys, datasets, feeds, invitations
from studio.context import Context, Role
from studio.errors import PermissionDenied
from studio.feed_fetch import AddressRefused, FetchFailed
from studio.store.base import utcnow
from studio.store.feed_models import FeedSource
from studio.store.session import Store
from tests.engine.test_feed_xml import RSS
from tests.feed_server import FeedServer, Route

V1 = b"id,name,price\n1,Shoe,$10.00\n2,Cap,$5.00\n3,Sock,$2.00\n"
V2 = b"id,name,price\n1,Shoe,$12.00\n2,Cap,$5.00\n4,Belt,$9.00\n"


@pytest.fixture()
def server():
    s = FeedServer().start()
    yield s
    s.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def fstore(request):
    """The store, with the operator's permission to reach 127.0.0.1 (the feed server) and short timeouts."""
    base = request.getfixturevalue("sqlite_settings" if request.param == "sqlite" else "pg_settings")
    extra = {**base.extra, "FEED_ALLOWED_NETWORKS": "127.0.0.1", "FEED_READ_TIMEOUT_SECONDS": "0.5"}
    store = Store(dataclasses.replace(base, extra=extra), **({"pool_size": 2} if request.param == "postgres" else {}))
    yield store
    store.dispose()


def _account(store: Store) -> Context:
    account, ws = auth.sign_up(store, f"f{uuid.uuid4().hex[:8]}@example.com", "Fay Feed", "correct horse")
    return Context(user_id=account.id, workspace_id=ws)


def _events(store: Store, ctx: Context, kind: str) -> list[dict]:
    from studio.store.event_models import Event

    with store.session_scope(Context.job(ctx.workspace_id)) as s:
        return [e.data for e in s.scalars(select(Event).where(Event.kind == kind).order_by(Event.created_at))]


def test_a_feed_that_changes_makes_versions_only_when_its_content_changes(fstore, server):
    ctx = _account(fstore)
    server.routes["/products.csv"] = Route(V1, etag=False)  # no validators: the content hash decides
    status = feeds.create_from_url(fstore, ctx, server.url("/products.csv"), interval_minutes=60)
    ds_id = status.dataset_id
    detail = datasets.get_dataset(fstore, ctx, ds_id)
    assert (detail.summary.name, detail.summary.version, detail.summary.row_count) == ("products", 1, 3)
    assert dataset_keys.key_status(fstore, ctx, ds_id).column == "id"

    assert feeds.refresh(fstore, ctx, ds_id).outcome == "unchanged"
    server.routes["/products.csv"] = Route(V2, etag=False)
    result = feeds.refresh(fstore, ctx, ds_id)
    assert (result.outcome, result.version) == ("new_version", 2)
    table = datasets.load_table(fstore, ctx, ds_id)
    assert table["id"].to_list() == [1, 2, 4] and float(table["price"][0]) == 12.0
    assert [v.version for v in datasets.get_dataset(fstore, ctx, ds_id).versions] == [2, 1]
    refreshed = _events(fstore, ctx, "dataset.refreshed")
    assert [(e["version"], e["previous_version"], e["rows"], e["key_column"]) for e in refreshed] == [(2, 1, 3, "id")]
    log = feeds.feed_status(fstore, ctx, ds_id).fetches
    assert [f.outcome for f in log] == ["new_version", "unchanged", "new_version"]


def test_etag_and_last_modified_are_sent_back_and_a_304_stores_nothing(fstore, server):
    ctx = _account(fstore)
    server.routes["/feed.csv"] = Route(V1, last_modified="Mon, 07 Dec 2026 10:00:00 GMT")
    ds_id = feeds.create_from_url(fstore, ctx, server.url("/feed.csv")).dataset_id
    result = feeds.refresh(fstore, ctx, ds_id)
    assert result.outcome == "not_modified" and "304" in result.message
    sent = server.hits("/feed.csv")[-1].headers
    assert sent["if-none-match"].startswith('"') and sent["if-modified-since"] == "Mon, 07 Dec 2026 10:00:00 GMT"
    assert datasets.get_dataset(fstore, ctx, ds_id).summary.version == 1
    assert feeds.feed_status(fstore, ctx, ds_id).fetches[0].http_status == 304


def test_three_failures_in_a_row_pause_the_schedule_until_resumed(fstore, server):
    ctx = _account(fstore)
    server.routes["/feed.csv"] = Route(V1)
    ds_id = feeds.create_from_url(fstore, ctx, server.url("/feed.csv"), interval_minutes=15).dataset_id
    server.routes["/feed.csv"] = Route(status=500)
    first = feeds.refresh(fstore, ctx, ds_id)
    assert first.outcome == "failed" and "answered 500" in first.error
    server.routes["/feed.csv"] = Route(V1, delay_s=1.5)  # read timeout 0.5 s
    assert "stopped sending" in feeds.refresh(fstore, ctx, ds_id).error
    status = feeds.feed_status(fstore, ctx, ds_id)
    assert not status.paused and status.consecutive_failures == 2
    server.routes["/feed.csv"] = Route(b"<html><body>Sign in</body></html>", content_type="text/html")
    assert "web page" in feeds.refresh(fstore, ctx, ds_id).error
    status = feeds.feed_status(fstore, ctx, ds_id)
    assert status.paused and "3 failed fetches" in status.paused_reason and "web page" in status.last_error
    assert [e["failures"] for e in _events(fstore, ctx, "feed.refresh_failed")] == [1, 2, 3]
    assert len(_events(fstore, ctx, "feed.paused")) == 1
    assert feeds.claim_due(fstore, Context.job(ctx.workspace_id), limit=10, now=utcnow() + dt.timedelta(days=1)) == []
    assert datasets.get_dataset(fstore, ctx, ds_id).summary.version == 1  # nothing lost

    server.routes["/feed.csv"] = Route(V2)
    status = feeds.resume(fstore, ctx, ds_id)
    assert not status.paused and status.consecutive_failures == 0
    assert feeds.claim_due(fstore, Context.job(ctx.workspace_id), limit=10) == [ds_id]
    assert feeds.feed_status(fstore, ctx, ds_id).queued_at is not None  # the page says "Queued now"
    assert feeds.refresh(fstore, ctx, ds_id, trigger="schedule").outcome == "new_version"
    assert feeds.feed_status(fstore, ctx, ds_id).queued_at is None


def test_oversized_and_private_redirects_fail_with_the_reason(fstore, server):
    ctx = _account(fstore)
    server.routes["/feed.csv"] = Route(V1)
    ds_id = feeds.create_from_url(fstore, ctx, server.url("/feed.csv")).dataset_id
    server.routes["/feed.csv"] = Route(location="http://169.254.169.254/latest/meta-data/")
    assert "private, local or reserved" in feeds.refresh(fstore, ctx, ds_id).error
    server.routes["/feed.csv"] = Route(endless=True)
    small = dataclasses.replace(fstore.settings, max_upload_mb=1)
    assert "over the 1 MB limit" in feeds.refresh(Store(small), ctx, ds_id).error
    with pytest.raises(AddressRefused):
        feeds.create_from_url(fstore, ctx, "http://10.0.0.1/feed.csv")
    with pytest.raises(FetchFailed, match="starting with https://"):
        feeds.create_from_url(fstore, ctx, "file:///etc/passwd")
    assert len(datasets.list_datasets(fstore, ctx)) == 1  # a failed first fetch stores nothing


def test_merchant_center_xml_with_credentials_that_are_never_shown(fstore, server):
    ctx = _account(fstore)
    server.routes["/gmc.xml"] = Route(RSS, content_type="application/rss+xml", require={"X-Api-Key": "k-123-secret"})
    status = feeds.create_from_url(fstore, ctx, server.url("/gmc.xml"), auth_kind="header", username="X-Api-Key",
                                   secret="k-123-secret", name="Merchant feed")
    assert status.auth_label == "header X-Api-Key"
    assert "k-123-secret" not in repr(status)
    with fstore.session_scope(ctx) as s:
        stored = s.scalar(select(FeedSource).where(FeedSource.dataset_id == status.dataset_id))
        assert stored.credentials_enc and "k-123-secret" not in stored.credentials_enc
    table = datasets.load_table(fstore, ctx, status.dataset_id)
    assert table["id"].to_list() == ["SKU-1", "SKU-2"]
    keys = dataset_keys.key_status(fstore, ctx, status.dataset_id)
    assert keys.column == "id" and keys.report.clean
    assert feeds.refresh(fstore, ctx, status.dataset_id).outcome == "not_modified"  # the key went along again
    feeds.update_source(fstore, ctx, status.dataset_id, auth_kind="none")
    assert "401" in feeds.refresh(fstore, ctx, status.dataset_id).error


def test_viewers_see_the_status_but_cannot_fetch_or_change(fstore, server):
    owner = _account(fstore)
    server.routes["/feed.csv"] = Route(V1)
    ds_id = feeds.create_from_url(fstore, owner, server.url("/feed.csv")).dataset_id
    email = f"v{uuid.uuid4().hex[:8]}@example.com"
    link = invitations.invite(fstore, owner, email, Role.VIEWER)
    account, _ = auth.sign_up(fstore, email, "Vi Ewer", "correct horse")
    viewer = Context(user_id=account.id, workspace_id=invitations.accept(fstore, link.url.split("invite=")[1], account))
    assert feeds.feed_status(fstore, viewer, ds_id).url == server.url("/feed.csv")
    for call in (lambda: feeds.refresh(fstore, viewer, ds_id), lambda: feeds.resume(fstore, viewer, ds_id),
                 lambda: feeds.update_source(fstore, viewer, ds_id, interval_minutes=60),
                 lambda: feeds.create_from_url(fstore, viewer, server.url("/feed.csv"))):
        with pytest.raises(PermissionDenied):
            call()
    other = _account(fstore)
    assert feeds.feed_status(fstore, other, ds_id) is None  # another workspace sees nothing


def _due_now(store: Store, ctx: Context, *ids: uuid.UUID) -> None:
    with store.session_scope(ctx) as s:
        for src in s.scalars(select(FeedSource).where(FeedSource.dataset_id.in_(ids))):
            src.next_fetch_at = utcnow() - dt.timedelta(minutes=1)


def test_the_sweep_fetches_each_due_feed_once_and_is_bounded(fstore, server):
    from workers import feeds as feed_jobs
    from workers.queues import queue

    ctx = _account(fstore)
    server.routes["/a.csv"] = Route(V1)
    server.routes["/b.csv"] = Route(V2)
    a = feeds.create_from_url(fstore, ctx, server.url("/a.csv"), interval_minutes=60).dataset_id
    b = feeds.create_from_url(fstore, ctx, server.url("/b.csv"), interval_minutes=60).dataset_id
    manual = feeds.create_from_url(fstore, ctx, server.url("/a.csv"), name="by hand").dataset_id
    assert feed_jobs.sweep(fstore)["handed"] == 0  # nothing due yet
    _due_now(fstore, ctx, a, b, manual)
    before = len(server.requests)
    first = feed_jobs.sweep(fstore, limit=1)
    assert first["handed"] == 1
    assert feed_jobs.sweep(fstore, limit=5)["handed"] == 1  # the other one; the manual source is never due
    assert feed_jobs.sweep(fstore, limit=5)["handed"] == 0  # and nothing twice
    if fstore.settings.redis_url:  # team mode: one RQ job per data set, with its fixed id
        q = queue(fstore.settings)
        ids = set(q.job_ids)
        assert {feed_jobs.job_id(a), feed_jobs.job_id(b)} <= ids
        for jid in (feed_jobs.job_id(a), feed_jobs.job_id(b)):
            q.remove(jid)
    else:  # embedded without a job thread: the fetch ran inline, once per source
        assert len(server.requests) - before == 2
        assert [feeds.feed_status(fstore, ctx, d).fetches[0].trigger for d in (a, b)] == ["schedule", "schedule"]
        assert feeds.feed_status(fstore, ctx, manual).fetches[0].trigger == "create"


def test_credentials_follow_a_key_rotation(fstore, server):
    from cryptography.fernet import Fernet

    from studio import feed_secrets

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()

    def with_keys(keys: str) -> Store:
        return Store(dataclasses.replace(fstore.settings, extra={**fstore.settings.extra, "ENCRYPTION_KEYS": keys}))

    ctx = _account(fstore)
    server.routes["/p.csv"] = Route(V1, etag=False, require={"Authorization": "Basic dTpw"})
    before = with_keys(old)
    ds_id = feeds.create_from_url(before, ctx, server.url("/p.csv"), auth_kind="basic", username="u", secret="p").dataset_id
    both = with_keys(f"{new},{old}")
    assert feed_secrets.rotate(both).changed >= 1
    after = with_keys(new)  # the old key is gone: the rotated credentials still open
    assert feeds.refresh(after, ctx, ds_id).outcome == "unchanged"
    gone = with_keys(Fernet.generate_key().decode())
    assert "cannot be decrypted" in feeds.refresh(gone, ctx, ds_id).error
    for s in (before, both, after, gone):
        s.dispose()


@pytest.mark.parametrize(("path", "ctype", "body"), [
    ("/spreadsheets/d/abc/export?format=csv", "text/csv; charset=utf-8", b"sku,title\nS1,Mug\nS2,Cup\n"),
    ("/api/items", "application/json", b'[{"sku": "S1", "title": "Mug"}, {"sku": "S2", "title": "Cup"}]'),
    ("/items.tsv", "application/octet-stream", b"sku\ttitle\nS1\tMug\nS2\tCup\n"),
    ("/download", "application/octet-stream", "parquet"),
    ("/download", "application/octet-stream", "xlsx"),
])
def test_sheets_json_and_tsv_addresses_become_data_sets_and_deleting_removes_the_feed(fstore, server, path, ctype,
                                                                                      body):
    ctx = _account(fstore)
    if body in ("parquet", "xlsx"):  # binary formats, detected from their magic bytes
        import io

        import polars as pl

        buf = io.BytesIO()
        frame = pl.DataFrame({"sku": ["S1", "S2"], "title": ["Mug", "Cup"]})
        frame.write_parquet(buf) if body == "parquet" else frame.write_excel(buf)
        body = buf.getvalue()
    server.routes[path.split("?")[0]] = Route(body, content_type=ctype)
    ds_id = feeds.create_from_url(fstore, ctx, server.url(path), interval_minutes=60).dataset_id
    table = datasets.load_table(fstore, ctx, ds_id)
    assert table["sku"].to_list() == ["S1", "S2"] and table["title"].to_list() == ["Mug", "Cup"]
    assert dataset_keys.key_status(fstore, ctx, ds_id).column == "sku"
    datasets.delete(fstore, ctx, ds_id)
    assert feeds.feed_status(fstore, ctx, ds_id) is None
    with fstore.session_scope(ctx) as s:
        assert s.scalar(select(FeedSource).where(FeedSource.dataset_id == ds_id)) is None


def test_a_fetch_that_works_again_ends_the_pause(fstore, server):
    ctx = _account(fstore)
    server.routes["/feed.csv"] = Route(V1)
    ds_id = feeds.create_from_url(fstore, ctx, server.url("/feed.csv"), interval_minutes=60).dataset_id
    server.routes["/feed.csv"] = Route(status=503)
    for _ in range(3):
        feeds.refresh(fstore, ctx, ds_id)
    assert feeds.feed_status(fstore, ctx, ds_id).paused
    server.routes["/feed.csv"] = Route(V2)
    assert feeds.refresh(fstore, ctx, ds_id).outcome == "new_version"
    status = feeds.feed_status(fstore, ctx, ds_id)
    assert not status.paused and status.paused_reason is None and status.next_fetch_at > utcnow()
