"""Attacks on the public API that a client can make with a valid key: tampered cursors."""

from __future__ import annotations

import base64
import json

import pytest

from tests.api.conftest import THREAD, bearer


def _cursor(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize("offset", [10**30, 2**63, 1e300, float("inf")])
def test_a_forged_cursor_with_a_huge_offset_is_a_400_not_a_server_error(client, ws, upload, offset):
    secret = ws.key()
    h = bearer(secret)
    ds = upload(secret)
    cs = client.post("/api/v1/campaign-sets", json={"name": "Deals", "dataset_id": ds["id"], "config": THREAD}, headers=h)
    assert cs.status_code == 201, cs.text
    for path in (f"/api/v1/campaign-sets/{cs.json()['id']}/variations", "/api/v1/publishing/items",
                 "/api/v1/datasets"):
        r = client.get(path, params={"cursor": _cursor({"o": offset})}, headers=h)
        assert r.status_code == 400, (path, r.status_code, r.text)
        assert "cursor" in r.json()["detail"]


@pytest.mark.parametrize("extra", [{"bogus": 1}, {"hierarchy": {"nope": 1}}, {"keywords": {"nope": 1}}])
def test_an_unknown_setting_in_a_configuration_is_named_without_python_internals(client, ws, upload, extra):
    secret = ws.key()
    ds = upload(secret)
    config = {**THREAD, **extra}
    r = client.post("/api/v1/campaign-sets", json={"name": "Deals", "dataset_id": ds["id"], "config": config},
                    headers=bearer(secret))
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert "__init__" not in detail and "keyword argument" not in detail
    assert ("bogus" if "bogus" in extra else "nope") in detail


@pytest.mark.parametrize(("extra", "named"), [
    ({"templates": 5}, "templates"), ({"templates": {"title": 5}}, "title"), ({"platform": 5}, "platform"),
    ({"structure": 5}, "structure"), ({"keywords": 5}, "keywords"), ({"hierarchy": 5}, "hierarchy"),
    ({"fallbacks": {"title": ["x"]}}, "title"),
])
def test_a_setting_of_the_wrong_type_is_named_without_python_internals(client, ws, upload, extra, named):
    secret = ws.key()
    ds = upload(secret)
    r = client.post("/api/v1/campaign-sets", json={"name": "Deals", "dataset_id": ds["id"],
                                                   "config": {**THREAD, **extra}}, headers=bearer(secret))
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert named in detail
    assert not any(w in detail for w in ("object has no attribute", "is not iterable", "expected string or bytes"))
