"""Campaign sets under AppTest with the embedded worker running: Regenerate returns before the run is done,
the panel follows the run from the store, Cancel stops it (issue 14, item 8)."""

from __future__ import annotations

import threading
import uuid

import pytest

from studio import campaigns, datasets
from studio.context import Context
from studio.settings import load_settings
from studio.store.session import Store
from tests.pages.conftest import sign_up, texts
from workers import embedded

CONFIG = {"platform": "reddit", "format": "thread",
          "templates": {"subreddit": "deals", "title": "{{ name }} for {{ price }}", "body": "Only {{ price }}"}}


@pytest.fixture()
def held_worker():
    """The server's embedded worker, held by a first job until the test lets it go."""
    gate = threading.Event()
    workers = embedded.EmbeddedWorkers()
    workers.start()
    workers.submit(gate.wait, (60,), "gate")
    yield workers, gate
    gate.set()
    workers.stop(timeout=30)


def _with_set(at) -> tuple[Store, Context]:
    store = Store(load_settings())
    ctx = Context(user_id=uuid.UUID(at.session_state["dotoro_account"][0]),
                  workspace_id=uuid.UUID(at.session_state["dotoro_workspace_id"]))
    csv = "name,price\n" + "".join(f"Item {i},{i}\n" for i in range(300))
    ds = datasets.upload(store, ctx, "items.csv", csv.encode(), name="Items")
    campaigns.create(store, ctx, "Item threads", ds.id, CONFIG)
    return store, ctx


def _bar(at) -> str:
    return " | ".join(p.proto.text for p in at.get("progress"))


def _click(at, label: str) -> None:
    next(b for b in at.button if b.label == label).click()
    at.run()
    assert not at.exception, at.exception


def test_regenerate_returns_at_once_and_the_panel_shows_the_finished_run(new_app, held_worker):
    workers, gate = held_worker
    at = new_app()
    sign_up(at, name="Rita Runner")
    store, _ = _with_set(at)
    at.switch_page("pages/campaigns.py").run()
    assert "Not generated yet." in texts(at)
    _click(at, "Regenerate")
    assert _bar(at).startswith("Queued… 0 / 300 rows"), "the click returned while the run waits for the worker"
    assert any(b.label == "Cancel generation" for b in at.button)
    gate.set()
    assert workers.wait(120)
    at.run()
    assert _bar(at).startswith("Done 300 / 300 rows")
    assert not any(b.label == "Cancel generation" for b in at.button)
    store.dispose()


def test_cancel_from_the_panel_stops_a_waiting_run(new_app, held_worker):
    workers, gate = held_worker
    at = new_app()
    sign_up(at, name="Carl Cancel")
    store, ctx = _with_set(at)
    at.switch_page("pages/campaigns.py").run()
    _click(at, "Regenerate")
    _click(at, "Cancel generation")
    gate.set()
    assert workers.wait(120)
    at.run()
    assert _bar(at).startswith("Cancelled 0 / 300 rows")
    assert campaigns.latest_run(store, ctx, campaigns.list_sets(store, ctx)[0].id).variations == 0
    store.dispose()
