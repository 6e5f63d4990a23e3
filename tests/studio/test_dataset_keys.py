"""A data set's key column: detected at upload, re-detected on replace until a person picks one, reported."""

from __future__ import annotations

import uuid

import pytest

from studio import auth, dataset_keys, datasets, invitations
from studio.context import Context, Role
from studio.errors import PermissionDenied, ValidationFailed


def _account(store) -> Context:
    account, ws = auth.sign_up(store, f"k{uuid.uuid4().hex[:8]}@example.com", "Kim Key", "correct horse")
    return Context(user_id=account.id, workspace_id=ws)


def test_key_detected_reported_and_changed(store):
    ctx = _account(store)
    ds = datasets.upload(store, ctx, "p.csv", b"Item ID,SKU,name\n1,a,x\n2,a,y\n,b,z\n")
    status = dataset_keys.key_status(store, ctx, ds.id)
    assert status.column == "sku" and not status.chosen
    assert status.report is not None and status.report.duplicate_samples == (("a", 2),)
    assert status.columns[:2] == ("sku", "item_id")  # likely keys first
    status = dataset_keys.set_key_column(store, ctx, ds.id, "item_id")
    assert status.chosen and status.report.empty_rows == 1 and status.report.empty_samples == (3,)
    datasets.replace(store, ctx, ds.id, "p.csv", b"id,item_id,name\n1,a,x\n2,b,y\n")
    status = dataset_keys.key_status(store, ctx, ds.id)
    assert status.column == "item_id" and status.report.clean  # the person's choice outlives the new "id" column
    with pytest.raises(ValidationFailed, match="no column 'nope'"):
        dataset_keys.set_key_column(store, ctx, ds.id, "nope")


def test_detection_follows_new_versions_and_viewers_cannot_change_it(store):
    ctx = _account(store)
    ds = datasets.upload(store, ctx, "p.csv", b"name,price\nx,1\n")
    assert dataset_keys.key_status(store, ctx, ds.id).column is None
    datasets.replace(store, ctx, ds.id, "p.csv", b"g:id,name\nA1,x\nA1,y\n")
    status = dataset_keys.key_status(store, ctx, ds.id)
    assert status.column == "g_id" and status.report.duplicate_keys == 1
    email = f"v{uuid.uuid4().hex[:8]}@example.com"
    link = invitations.invite(store, ctx, email, Role.VIEWER)
    account, _ = auth.sign_up(store, email, "Vi Ewer", "correct horse")
    viewer = Context(user_id=account.id, workspace_id=invitations.accept(store, link.url.split("invite=")[1], account))
    with pytest.raises(PermissionDenied):
        dataset_keys.set_key_column(store, viewer, ds.id, "name")
