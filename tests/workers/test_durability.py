"""Durability on real services started by the test itself (scripts/services.sh into a temp dir, not the session's):
a Postgres restart during a 10-chunk generation run, and the run still ends with the exact count, once each."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.generation import build_plan
from studio import auth, campaigns, datasets
from studio.context import Context
from studio.store import migrate
from studio.store.campaign_models import Variation
from studio.store.session import Store
from tests.conftest import make_settings
from tests.workers.test_self_healing import CONFIG, spawn_worker, start_run, wait_until

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ROOT / "scripts" / "services.sh"
pytestmark = pytest.mark.slow


@pytest.fixture()
def own_services(tmp_path):
    """A Postgres + Redis pair of this test's own, which it may restart."""
    root = Path("/tmp") / f"dotoro-durable-{uuid.uuid4().hex[:8]}"
    subprocess.run([str(SERVICES), "start", str(root)], check=True, capture_output=True)
    env = {}
    for line in (root / "env").read_text().splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        env[key] = value
    yield root, env
    subprocess.run([str(SERVICES), "stop", str(root)], check=False)
    subprocess.run(["rm", "-rf", str(root)], check=False)


def test_a_postgres_restart_mid_run_still_gives_the_exact_count_once(own_services, tmp_path, monkeypatch, shared_data):
    root, services = own_services
    settings = make_settings(tmp_path / "home", DATABASE_URL=services["DATABASE_URL"],
                             MIGRATION_DATABASE_URL=services["MIGRATION_DATABASE_URL"], REDIS_URL=services["REDIS_URL"])
    migrate.upgrade(settings)
    env = {**os.environ, "DATABASE_URL": services["DATABASE_URL"], "DOTORO_HOME": str(settings.home),
           "REDIS_URL": services["REDIS_URL"], "SECRET_KEY": "test-secret", "STRIPE_API_KEY": "", "BACKGROUND_JOBS": "off"}
    for key in ("DATABASE_URL", "DOTORO_HOME", "REDIS_URL", "SECRET_KEY"):
        monkeypatch.setenv(key, env[key])
    store = Store(settings)  # pool_pre_ping: the test's own connections also outlive the restart
    account, ws = auth.sign_up(store, f"d{uuid.uuid4().hex[:8]}@example.com", "Durable", "longenough")
    ctx = Context(user_id=account.id, workspace_id=ws)
    ds = datasets.upload(store, ctx, "products_2k.csv", (shared_data / "products_2k.csv").read_bytes())
    set_id = campaigns.create(store, ctx, "Through a restart", ds.id, CONFIG)
    run_id = start_run(store, settings, ctx, set_id, chunk_rows=200)
    assert campaigns.latest_run(store, ctx, set_id).chunks_total == 10
    log = tmp_path / "worker.log"
    worker = spawn_worker(env, log)
    try:
        assert wait_until(lambda: campaigns.latest_run(store, ctx, set_id).chunks_done >= 2, 60), log.read_text()
        subprocess.run([str(SERVICES), "restart", str(root), "pg"], check=True)
        midway = campaigns.latest_run(store, ctx, set_id)
        assert midway.chunks_done < 10, "the restart should land mid-run"
        assert wait_until(lambda: campaigns.latest_run(store, ctx, set_id).status == "done", 55), \
            log.read_text()[-4000:]
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    with build_plan(datasets.load_table(store, ctx, ds.id), CONFIG) as plan:
        expected = plan.to_arrow().num_rows
    with store.session_scope(ctx) as s:
        keys = s.execute(select(Variation.row_index, Variation.variation_index)
                         .where(Variation.campaign_set_id == set_id)).all()
    info = campaigns.latest_run(store, ctx, set_id)
    assert (info.id, info.rows_done, info.variations) == (run_id, 2000, expected)
    assert len(keys) == len(set(keys)) == expected, "nothing lost, nothing written twice"
    store.dispose()
