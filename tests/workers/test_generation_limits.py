"""Plan limits before generation: refused with the numbers, or generated up to the allowance; usage recorded."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from studio import auth, campaigns, datasets
from studio.billing import LimitExceeded, Metric
from studio.billing.usage import used
from studio.context import Context
from studio.store.campaign_models import Variation
from studio.store.session import Store
from tests.conftest import make_settings
from tests.workers.test_generation import CONFIG


@pytest.fixture()
def billed_store(tmp_path, monkeypatch):
    monkeypatch.setenv("DOTORO_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("STRIPE_API_KEY", "sk_test_dummy")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    settings = make_settings(tmp_path / "home", STRIPE_API_KEY="sk_test_dummy")
    from studio.store import migrate
    migrate.upgrade(settings)
    store = Store(settings)
    yield store
    store.dispose()


def test_over_the_allowance_is_refused_with_the_numbers_or_cut(billed_store, shared_data):
    account, ws = auth.sign_up(billed_store, f"l{uuid.uuid4().hex[:6]}@example.com", "Lim", "longenough")
    ctx = Context(user_id=account.id, workspace_id=ws)
    ds = datasets.upload(billed_store, ctx, "p.csv", (shared_data / "products_2k.csv").read_bytes())
    set_id = campaigns.create(billed_store, ctx, "Too big", ds.id, CONFIG)
    with pytest.raises(LimitExceeded, match=r"1,840 variations.*100 a month"):
        campaigns.generate(billed_store, ctx, set_id)
    assert campaigns.latest_run(billed_store, ctx, set_id) is None  # nothing started, nothing lost
    campaigns.generate(billed_store, ctx, set_id, up_to_allowance=True)
    with billed_store.session_scope(ctx) as s:
        made = s.scalar(select(func.count()).select_from(Variation).where(Variation.campaign_set_id == set_id))
    assert 0 < made <= 100
    with billed_store.session_scope(ctx) as s:
        assert used(s, Metric.VARIATIONS) == made
    with pytest.raises(LimitExceeded, match=f"{made} are used"):
        campaigns.generate(billed_store, ctx, set_id)  # the month's usage counts against the next run
