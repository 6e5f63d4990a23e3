"""Property test of the API against its own OpenAPI document (schemathesis): for generated requests, valid
and not, every answer has a documented status code, content type and body schema, and none is a 500.

Path ids are, half of the time, those of objects that exist in the key's workspace (so the success paths are
exercised, not only 404s), else generated. Bounded to MAX_EXAMPLES requests in all."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.applications import Starlette

from studio.api.ratelimit import RateLimiter
from studio.http import Endpoints
from tests.api.conftest import bearer, new_workspace, point_jobs_at
from tests.api.test_tenancy import _b_objects

MAX_EXAMPLES = 200
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_the_api_conforms_to_its_openapi_document(sqlite_store, monkeypatch):
    point_jobs_at(sqlite_store, monkeypatch)
    ws = new_workspace(sqlite_store)
    secret = ws.key()
    other = _b_objects(sqlite_store)  # one of everything, in another workspace: …
    mine = _own_objects(sqlite_store, ws)  # … and in the key's own
    endpoints = Endpoints(store=sqlite_store)
    endpoints.api.state.services._limiter = RateLimiter(10**9)
    app = Starlette(routes=endpoints.routes())
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)

    real = {"dataset_id": mine["own_dataset"], "template_id": mine["own_template"], "rule_set_id": mine["own_rules"],
            "set_id": mine["own_set"], "job_id": mine["own_job"], "variation_id": mine["own_variation"],
            "item_id": other["item_id"], "version": "1"}

    failures: list[str] = []
    answered: dict[str, set[int]] = {}

    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=schema.as_strategy(), use_real=st.booleans())
    def run(case, use_real):  # noqa: ANN001, ANN202
        if use_real and case.path_parameters:  # half of the time, ids that exist in the key's workspace
            case.path_parameters = {k: real.get(k, v) for k, v in case.path_parameters.items()}
        try:
            response = case.call_and_validate(headers=bearer(secret), checks=CHECKS)
            answered.setdefault(f"{case.method} {case.operation.path}", set()).add(response.status_code)
        except Exception as exc:  # noqa: BLE001 - collected: one report of every kind of failure
            failures.append(f"{case.method} {case.path}: {str(exc)[:600]}")

    run()
    endpoints.close()
    assert not failures, "\n\n".join(dict.fromkeys(failures))
    # the generated requests reached the API, not only its 404s and 422s
    succeeded = {op for op, codes in answered.items() if any(200 <= c < 300 for c in codes)}
    assert len(answered) >= 20 and len(succeeded) >= 12, (sorted(answered.items()), sorted(succeeded))


def _own_objects(store, ws) -> dict[str, str]:
    from studio import campaigns, datasets, rule_sets, templates, variations
    from tests.api.conftest import PRODUCTS_CSV, THREAD

    ds = datasets.upload(store, ws.owner, "p.csv", PRODUCTS_CSV)
    tpl = templates.create_template(store, ws.owner, "Mine", "reddit/thread", {"title": "{{ name }}"})
    rules = rule_sets.create_rule_set(store, ws.owner, "Mine")
    set_id = campaigns.create(store, ws.owner, "Mine", ds.id, THREAD)
    run_id = campaigns.generate(store, ws.owner, set_id)
    variation = variations.page(store, ws.owner, set_id, variations.VariationFilter()).rows[0]["id"]
    return {"own_variation": str(variation), "own_dataset": str(ds.id), "own_template": str(tpl.id), "own_rules": str(rules.id),
            "own_set": str(set_id), "own_job": str(run_id)}
