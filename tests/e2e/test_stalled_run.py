"""In a real browser: a run whose worker died says so on Campaign sets, and Resume finishes it."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect

from studio import auth, campaigns, datasets
from studio.context import Context
from studio.settings import load_settings
from studio.store import migrate
from studio.store.campaign_models import CampaignSet, GenerationChunk, GenerationRun
from studio.store.session import Store
from tests.e2e.conftest import shot

pytestmark = pytest.mark.browser
DEMO = Path(__file__).resolve().parents[2] / "studio" / "demo" / "reddit_threads_sample.csv"
CONFIG = {"platform": "reddit", "format": "thread",
          "templates": {"subreddit": "{{ subreddit }}", "title": "{{ product_name }} in {{ city }}",
                        "body": "{{ product_name }}: {{ highlight }}, now {{ sale_price }}"}}


def test_a_stalled_run_is_flagged_and_resumed(studio_home, studio_url, page, monkeypatch):
    monkeypatch.setenv("DOTORO_HOME", str(studio_home / ".dotoro"))
    for name in ("DATABASE_URL", "MIGRATION_DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    migrate.upgrade(settings)
    store = Store(settings)
    email = f"stall{uuid.uuid4().hex[:6]}@example.com"
    account, ws = auth.sign_up(store, email, "Sam Stalled", "s3cret-pass")
    ctx = Context(user_id=account.id, workspace_id=ws)
    ds = datasets.upload(store, ctx, DEMO.name, DEMO.read_bytes(), name="Demo products")
    set_id = campaigns.create(store, ctx, "Stalled threads", ds.id, CONFIG)
    campaigns.generate(store, ctx, set_id)
    run_id = campaigns.latest_run(store, ctx, set_id).id
    long_ago = dt.datetime.now(dt.UTC) - campaigns.STALL_AFTER - dt.timedelta(minutes=4)
    with store.session_scope(ctx) as s:  # the server restarted while it rendered the only chunk
        chunk = s.query(GenerationChunk).filter_by(run_id=run_id).one()
        chunk.status, chunk.updated_at = "running", long_ago
        run = s.get(GenerationRun, run_id)
        run.status, run.rows_done, run.variations, run.started_at, run.finished_at = "running", 0, 0, long_ago, None
        s.get(CampaignSet, set_id).status = "generating"
    store.dispose()

    page.goto(studio_url)
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).first.fill("s3cret-pass")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Home").first).to_be_visible()
    page.wait_for_function("document.cookie.includes('dotoro_session=')", timeout=45_000)
    page.get_by_role("link", name="Campaign sets").click()
    expect(page.get_by_text("No progress for 7 minutes")).to_be_visible()
    picker = page.get_by_role("combobox", name="Campaign set")
    expect(picker).to_have_value("Stalled threads · generating · 60 variations")
    page.wait_for_timeout(800)
    shot(page, "13-stalled-run")
    page.get_by_role("button", name="Resume generation").click()
    expect(page.get_by_text("Queued 1 unfinished chunk again")).to_be_visible()
    page.reload()
    expect(page.get_by_text("60 variations match")).to_be_visible()
    expect(picker).to_have_value("Stalled threads · ready · 60 variations")
    expect(page.get_by_text(re.compile(r"Took \d+ min \d+ s"))).to_be_visible()  # the stall counts, in minutes
    expect(page.get_by_text("No progress for")).to_have_count(0)
    page.wait_for_timeout(800)
    shot(page, "13b-resumed-run")
