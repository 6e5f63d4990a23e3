"""A worker keeps a data set version in memory across a run's chunks: read once, served only after RLS says yes."""

from __future__ import annotations

import uuid

import pytest

from studio import auth, datasets, storage
from studio.context import Context
from studio.errors import NotFound


@pytest.fixture()
def ctx(pg_store):
    storage.forget_in_memory()
    account, ws = auth.sign_up(pg_store, f"m{uuid.uuid4().hex[:8]}@example.com", "Memory Tester", "longenough")
    yield Context(user_id=account.id, workspace_id=ws)
    storage.forget_in_memory()


def _upload(pg_store, ctx, name: str, rows: int) -> datasets.DatasetSummary:
    csv = "name,price\n" + "".join(f"item {i},{i}.5\n" for i in range(rows))
    return datasets.upload(pg_store, ctx, name, csv.encode())


def test_the_next_chunk_reuses_the_version_without_reading_its_file(pg_store, pg_settings, ctx):
    ds = _upload(pg_store, ctx, "kept.csv", 500)
    first = datasets.load_table(pg_store, ctx, ds.id, local=True, keep=True)
    for copy in (pg_settings.home / "cache" / "blobs" / str(ctx.workspace_id)).iterdir():
        copy.unlink()  # a re-read would have to fetch it again: the kept frame is served instead
    again = datasets.load_table(pg_store, ctx, ds.id, local=True, keep=True)
    assert again is first and again.height == 500
    # a new version is never answered with the old one's frame
    datasets.replace(pg_store, ctx, ds.id, "kept.csv", b"name,price\nonly,1\n")
    assert datasets.load_table(pg_store, ctx, ds.id, local=True, keep=True)["name"].to_list() == ["only"]


def test_a_kept_version_is_not_served_after_delete_or_to_another_workspace(pg_store, ctx):
    ds = _upload(pg_store, ctx, "secret.csv", 20)
    datasets.load_table(pg_store, ctx, ds.id, local=True, keep=True)
    account, other_ws = auth.sign_up(pg_store, f"o{uuid.uuid4().hex[:8]}@example.com", "Other", "longenough")
    with pytest.raises(NotFound):
        datasets.load_table(pg_store, Context(user_id=account.id, workspace_id=other_ws), ds.id, local=True, keep=True)
    datasets.delete(pg_store, ctx, ds.id)
    with pytest.raises(NotFound):
        datasets.load_table(pg_store, ctx, ds.id, local=True, keep=True)


def test_kept_versions_are_bounded(pg_store, ctx, monkeypatch):
    monkeypatch.setattr(storage, "MEMORY_ENTRIES", 2)
    sets = [_upload(pg_store, ctx, f"{n}.csv", 50) for n in ("one", "two", "three")]
    frames = [datasets.load_table(pg_store, ctx, d.id, local=True, keep=True) for d in sets]
    assert datasets.load_table(pg_store, ctx, sets[2].id, local=True, keep=True) is frames[2]
    assert datasets.load_table(pg_store, ctx, sets[0].id, local=True, keep=True) is not frames[0]  # dropped, read again
