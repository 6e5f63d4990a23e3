"""One workspace's walk through the API: upload → preview → campaign set → generate → job → variations → export."""

from __future__ import annotations

import csv
import io
import time

from tests.api.conftest import THREAD, bearer, work


def _wait(client, secret, job_id):
    for _ in range(300):
        job = client.get(f"/api/v1/jobs/{job_id}", headers=bearer(secret)).json()
        if job["finished"]:
            return job
        time.sleep(0.1)
    raise AssertionError(job)


def test_upload_preview_generate_export(client, ws, upload, store):
    secret = ws.key()
    ds = upload(secret)
    assert ds["row_count"] == 3
    h = bearer(secret)
    cols = client.get(f"/api/v1/datasets/{ds['id']}/columns", headers=h).json()
    assert [c["name"] for c in cols] == ["name", "city", "price", "url"]
    assert client.get(f"/api/v1/datasets/{ds['id']}/versions", headers=h).json()["items"][0]["version"] == 1

    pv = client.post("/api/v1/preview", json={"dataset_id": ds["id"], "config": THREAD, "limit": 2}, headers=h)
    assert pv.status_code == 200, pv.text
    assert [v["title"] for v in pv.json()["variations"]] == ["Trail Shoe in Bergen", "City Boot in Oslo"]
    assert pv.json()["figures"]["kept"] == 3

    cs = client.post("/api/v1/campaign-sets", json={"name": "Deals", "dataset_id": ds["id"], "config": THREAD}, headers=h)
    assert cs.status_code == 201, cs.text
    gen = client.post(f"/api/v1/campaign-sets/{cs.json()['id']}/generate", json={}, headers=h)
    assert gen.status_code == 202, gen.text
    job = gen.json()
    work(store)
    assert job["status_url"] == f"/api/v1/jobs/{job['job_id']}"
    done = _wait(client, secret, job["job_id"])
    assert done["status"] == "done" and done["variations"] == 3 and done["progress"] == 1.0

    page = client.get(f"/api/v1/campaign-sets/{cs.json()['id']}/variations?limit=2", headers=h).json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = client.get(f"/api/v1/campaign-sets/{cs.json()['id']}/variations?limit=2&cursor={page['next_cursor']}",
                      headers=h).json()
    assert [v["title"] for v in rest["items"]] == ["Rain Coat in Paris"] and rest["next_cursor"] is None

    first = page["items"][0]["id"]
    assert client.patch(f"/api/v1/variations/{first}", json={"fields": {"title": "Mine"}}, headers=h).status_code == 204
    ok = client.post(f"/api/v1/campaign-sets/{cs.json()['id']}/variations/approve", json={"ids": [first]}, headers=h)
    assert ok.json() == {"changed": 1}
    out = client.get(f"/api/v1/campaign-sets/{cs.json()['id']}/export?format=csv&status=approved", headers=h)
    assert out.status_code == 200 and out.headers["content-disposition"].endswith('.csv"')
    rows = list(csv.DictReader(io.StringIO(out.content.decode("utf-8-sig"))))
    assert [r["title"] for r in rows] == ["Mine"]


def test_rule_set_versions_list_and_restore(client, ws):
    h = bearer(ws.key())
    rule = {"id": "r1", "name": "No sale", "conditions": {"logic": "and", "items": [
        {"field": "sale_price", "operator": "is_empty"}]}, "actions": [{"type": "skip", "params": {}}]}
    made = client.post("/api/v1/rule-sets", json={"name": "Versioned", "rules": []}, headers=h)
    assert made.status_code == 201 and made.json()["version"] == 1
    rid = made.json()["id"]
    saved = client.put(f"/api/v1/rule-sets/{rid}", json={"rules": [rule], "note": "skip no sale"}, headers=h)
    assert saved.json()["version"] == 2
    kept = client.get(f"/api/v1/rule-sets/{rid}/versions", headers=h).json()
    assert [(v["version"], len(v["rules"]), v["note"]) for v in kept] == [(2, 1, "skip no sale"), (1, 0, "")]
    back = client.post(f"/api/v1/rule-sets/{rid}/versions/1/restore", headers=h)
    assert back.status_code == 200 and (back.json()["version"], back.json()["rules"]) == (3, [])
    assert client.post(f"/api/v1/rule-sets/{rid}/versions/7/restore", headers=h).status_code == 404
