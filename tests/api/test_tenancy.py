"""A key of workspace A gets 404 for every id of workspace B, on every route of the API (enumerated, so a new
route is covered the day it is added: it needs only a body in BODIES if it takes one)."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest

from studio import campaigns, datasets, rule_sets, templates
from studio.context import Context
from studio.store.campaign_models import GenerationRun, Variation
from studio.store.publishing_models import PublishItem, RedditAccount
from tests.api.conftest import PRODUCTS_CSV, THREAD, bearer, new_workspace

# A valid body for each route that needs one, so the route reaches its service (else it would be a 422).
BODIES: dict[tuple[str, str], dict] = {
    ("PATCH", "/templates/{template_id}"): {"json": {"fields": {"title": "x", "subreddit": "a", "body": "b"}}},
    ("PUT", "/rule-sets/{rule_set_id}"): {"json": {"rules": []}},
    ("POST", "/campaign-sets/{set_id}/generate"): {"json": {}},
    ("POST", "/campaign-sets/{set_id}/regenerate"): {"json": {}},
    ("PATCH", "/variations/{variation_id}"): {"json": {"fields": {"title": "x"}}},
    ("POST", "/campaign-sets/{set_id}/variations/approve"): {"json": {}},
    ("POST", "/campaign-sets/{set_id}/variations/reject"): {"json": {}},
    ("POST", "/campaign-sets/{set_id}/publishing/plan"): {"json": {"options": {}}},
    ("POST", "/datasets/{dataset_id}/versions"): {"files": {"file": ("p.csv", PRODUCTS_CSV, "text/csv")}},
}
# Routes without an id in their path that take one in the body or the query.
BY_BODY: list[tuple[str, str, dict]] = [
    ("POST", "/preview", {"json": {"dataset_id": "{dataset_id}", "config": THREAD}}),
    ("POST", "/campaign-sets", {"json": {"name": "x", "dataset_id": "{dataset_id}", "config": THREAD}}),
    ("GET", "/publishing/items?campaign_set_id={set_id}", {}),
]


def _b_objects(store) -> dict[str, str]:
    """Workspace B with one of everything the API can address."""
    b = new_workspace(store)
    ds = datasets.upload(store, b.owner, "p.csv", PRODUCTS_CSV)
    tpl = templates.create_template(store, b.owner, "B template", "reddit/thread", {"title": "{{ name }}"})
    rules = rule_sets.create_rule_set(store, b.owner, "B rules")
    set_id = campaigns.create(store, b.owner, "B set", ds.id, THREAD)
    with store.session_scope(Context.job(b.owner.workspace_id)) as s:
        run = GenerationRun(campaign_set_id=set_id)
        account = RedditAccount(username=f"u{uuid.uuid4().hex[:8]}", auth_kind="oauth", refresh_token_enc="x")
        s.add_all([run, account])
        s.flush()
        variation = Variation(id=uuid.uuid4(), campaign_set_id=set_id, row_index=0, variation_index=0,
                              fields={"title": "x", "subreddit": "deals", "body": "b"})
        item = PublishItem(campaign_set_id=set_id, dedupe_key=f"thread:{uuid.uuid4()}", kind="thread",
                           account_id=account.id, scheduled_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
        s.add_all([variation, item])
        s.flush()
        ids = {"run": run.id, "variation": variation.id, "item": item.id}
    return {"dataset_id": str(ds.id), "template_id": str(tpl.id), "rule_set_id": str(rules.id), "set_id": str(set_id),
            "job_id": str(ids["run"]), "variation_id": str(ids["variation"]), "item_id": str(ids["item"]),
            "version": "1"}


def _fill(text: str, ids: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], text)


def _api_routes(endpoints) -> list[tuple[str, str, bool]]:
    """(method, path, needs a body) of every operation the app serves, from its own OpenAPI document."""
    paths = endpoints.api.openapi()["paths"]
    return sorted((method.upper(), path, bool(op.get("requestBody", {}).get("required")))
                  for path, ops in paths.items() for method, op in ops.items())


def test_a_key_of_workspace_a_gets_404_for_every_id_of_b(client, endpoints, store, ws):
    secret = ws.key()
    ids = _b_objects(store)
    routes = _api_routes(endpoints)
    with_ids = [(method, path) for method, path, _ in routes if "{" in path]
    assert len(with_ids) >= 20  # the enumeration found the API
    missing = {k for k in ids if not any("{" + k + "}" in p for _, p in with_ids)}
    assert not missing, f"ids no route takes: {missing}"
    wrong = []
    calls = [(method, path, BODIES.get((method, path), {})) for method, path in with_ids] + BY_BODY
    for method, path, body in calls:
        kwargs = {k: ({kk: _fill(vv, ids) if isinstance(vv, str) else vv for kk, vv in v.items()} if k == "json" else v)
                  for k, v in body.items()}
        answer = client.request(method, "/api/v1" + _fill(path, ids), headers=bearer(secret), **kwargs)
        if answer.status_code != 404 or answer.headers["content-type"] != "application/problem+json":
            wrong.append(f"{method} {path}: {answer.status_code} {answer.text[:200]}")
    assert not wrong, "\n".join(wrong)


def test_every_route_with_a_body_has_one_in_the_table(endpoints):
    """A new route with a required body must get an entry in BODIES (else the tenancy test would see 422)."""
    lacking = [f"{method} {path}" for method, path, needs_body in _api_routes(endpoints)
               if "{" in path and needs_body and (method, path) not in BODIES]
    assert not lacking, lacking


@pytest.mark.parametrize("path", ["/datasets", "/templates", "/rule-sets", "/campaign-sets", "/publishing/items"])
def test_lists_show_only_the_keys_workspace(client, store, ws, path):
    _b_objects(store)
    answer = client.get("/api/v1" + path, headers=bearer(ws.key()))
    assert answer.status_code == 200 and answer.json() == {"items": [], "next_cursor": None}
