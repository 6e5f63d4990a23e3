"""Team-mode data set bytes: a per-machine copy for jobs, never stale, never outliving its version, bounded."""

from __future__ import annotations

import os
import time
import uuid

import pytest

from studio import auth, datasets, storage
from studio.context import Context
from studio.errors import NotFound
from studio.store.models import DatasetVersion


@pytest.fixture()
def ctx(pg_store):
    account, ws = auth.sign_up(pg_store, f"s{uuid.uuid4().hex[:8]}@example.com", "Store Tester", "longenough")
    return Context(user_id=account.id, workspace_id=ws)


def _upload(pg_store, ctx, name: str, rows: int) -> datasets.DatasetSummary:
    csv = "name,price\n" + "".join(f"item {i},{i}.5\n" for i in range(rows))
    return datasets.upload(pg_store, ctx, name, csv.encode())


def _copies(settings, ctx):
    root = settings.home / "cache" / "blobs" / str(ctx.workspace_id)
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def test_a_job_reads_a_local_copy_equal_to_the_store(pg_store, pg_settings, ctx):
    assert pg_settings.storage == "database"
    ds = _upload(pg_store, ctx, "a.csv", 300)
    table = datasets.load_table(pg_store, ctx, ds.id, local=True)
    assert table.equals(datasets.load_table(pg_store, ctx, ds.id)) and table.height == 300
    with pg_store.session_scope(ctx) as s:
        key = s.query(DatasetVersion.storage_key).filter_by(dataset_id=ds.id).scalar()
        assert (pg_settings.home / "cache" / "blobs" / str(ctx.workspace_id) / key).read_bytes() == \
            storage.blob_store(pg_settings).get(s, key)
    # a new version is a new copy: the old one is never served for it
    datasets.replace(pg_store, ctx, ds.id, "a.csv", b"name,price\nonly,1\n")
    assert datasets.load_table(pg_store, ctx, ds.id, local=True)["name"].to_list() == ["only"]
    assert len(_copies(pg_settings, ctx)) == 2


def test_a_deleted_data_set_is_not_served_from_its_copy(pg_store, pg_settings, ctx):
    ds = _upload(pg_store, ctx, "gone.csv", 10)
    datasets.load_table(pg_store, ctx, ds.id, local=True)
    assert _copies(pg_settings, ctx)
    datasets.delete(pg_store, ctx, ds.id)
    with pytest.raises(NotFound):
        datasets.load_table(pg_store, ctx, ds.id, local=True)


def test_copies_are_bounded_by_size_and_age(pg_store, pg_settings, ctx, monkeypatch):
    first, second = (_upload(pg_store, ctx, f"{n}.csv", 2000) for n in ("one", "two"))
    one, two = (pg_settings.home / "cache" / "blobs" / str(ctx.workspace_id) / n for n in _copies(pg_settings, ctx))
    size = one.stat().st_size
    old = time.time() - storage.CACHE_MAX_AGE_S - 60
    by_age = one if one.stat().st_mtime <= two.stat().st_mtime else two
    os.utime(by_age, (old, old))  # unread for over a day
    monkeypatch.setattr(storage, "CACHE_MAX_BYTES", 10 * size)
    third = _upload(pg_store, ctx, "three.csv", 2000)  # its copy is written: the one unread for a day goes
    assert not by_age.exists() and len(_copies(pg_settings, ctx)) == 2
    monkeypatch.setattr(storage, "CACHE_MAX_BYTES", size + size // 2)  # room for about one copy
    datasets.load_table(pg_store, ctx, first.id, local=True)
    assert len(_copies(pg_settings, ctx)) == 1
    assert datasets.load_table(pg_store, ctx, third.id, local=True).height == 2000  # fetched again when needed


def test_an_upload_leaves_this_machine_a_copy_and_a_failed_one_none(pg_store, pg_settings, ctx, monkeypatch):
    ds = _upload(pg_store, ctx, "here.csv", 50)
    assert len(_copies(pg_settings, ctx)) == 1  # a worker on this machine reads it without fetching it

    def no_fetch(self, s, key):
        raise AssertionError("fetched from the store")

    monkeypatch.setattr(storage.DatabaseBlobs, "get", no_fetch)
    assert datasets.load_table(pg_store, ctx, ds.id, local=True).height == 50
    monkeypatch.undo()
    with pytest.raises(RuntimeError), pg_store.session_scope(ctx) as s:  # the version's transaction fails
        storage.blob_store(pg_settings).put(s, f"{uuid.uuid4().hex}.parquet", b"bytes of a version never kept")
        raise RuntimeError("the upload failed after its bytes were written")
    assert len(_copies(pg_settings, ctx)) == 1


def test_storage_keys_cannot_leave_the_cache(pg_settings):
    for bad in ("../x", "a/b", ".hidden"):
        with pytest.raises(ValueError, match="bad storage key"):
            storage._checked(bad)
