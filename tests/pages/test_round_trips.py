"""Store round trips per rerun stay within a budget (issue 14, item 9): counts, not time.

A rerun of a page used to read the member's role twice per service call and the same data-set version up to
six times (the Preview: 26 statements in 14 units of work). Reads now hold for one rerun (studio/store/
rerun.py). The budgets are the measured counts plus a little slack: a page that starts reading the same
thing again, or a new service that forgets the memo, fails here with the statements listed.
"""

from __future__ import annotations

import collections
import time
import uuid

import pytest
from sqlalchemy import event, update
from sqlalchemy.engine import Engine

from studio.context import Context, Permission, Role
from studio.errors import PermissionDenied
from tests.pages.conftest import sign_up, texts

# page → (SQL statements, units of work) per rerun on the embedded store, measured with a 2k-row data set,
# a saved template, a rule set and a generated campaign set, plus one statement of slack. Measured before
# the per-rerun memo: Home 7/5, Data sources 17/9, Templates 22/13, Rules 18/11, Preview 26/14, Publish 18/13;
# after: Home 5/4, Data sources 10/6, Templates 13/9, Rules 9/7, Preview 11/8, Campaign sets 13/9, Publish 9/8.
# Issues 19–21 added reads a page shows: every page's unread-notifications count in the sidebar (1/1); Data
# sources its feed tab and key-column report (+3/+2); Preview the word list and aggregates (+1/+1); Campaign sets
# the set's data-changes section (follow mode, pending diff, conflicts: +4/+4); Publish the paid results (+0/+1).
BUDGETS = {
    "pages/home.py": (6, 5),
    "pages/data_sources.py": (15, 9),
    "pages/templates.py": (15, 10),
    "pages/rules.py": (11, 8),
    "pages/preview.py": (14, 10),
    "pages/campaigns.py": (20, 14),
    "pages/schedule.py": (12, 10),
}


def _in_script() -> bool:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    return get_script_run_ctx(suppress_warning=True) is not None


class Counter:
    """Every SQL statement a page's script sends, and every unit of work it opens (the embedded background
    thread, which has no script context, is not counted)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from studio.store import session

        self.statements: list[str] = []
        self.units = 0
        original = session.Store._unit_of_work

        def unit(store, info):  # noqa: ANN001, ANN202 - the store's own signature
            if _in_script():
                self.units += 1
            return original(store, info)

        monkeypatch.setattr(session.Store, "_unit_of_work", unit)
        event.listen(Engine, "before_cursor_execute", self._on_statement)

    def _on_statement(self, _conn, _cursor, statement, _params, _context, _many) -> None:  # noqa: ANN001
        if _in_script():
            self.statements.append(" ".join(statement.split())[:120])

    def close(self) -> None:
        event.remove(Engine, "before_cursor_execute", self._on_statement)

    def reset(self) -> None:
        self.statements.clear()
        self.units = 0

    def report(self) -> str:
        return "\n".join(f"{n} × {s}" for s, n in collections.Counter(self.statements).most_common())


@pytest.fixture()
def counter(monkeypatch):
    c = Counter(monkeypatch)
    yield c
    c.close()


def _ctx_store(at):
    from studio.settings import load_settings
    from studio.store.session import Store

    who = at.session_state["dotoro_account"]
    ctx = Context(user_id=uuid.UUID(who[0]), workspace_id=uuid.UUID(at.session_state["dotoro_workspace_id"]))
    return ctx, Store(load_settings())  # the same embedded store the app uses


def _products(rows: int) -> bytes:
    from pathlib import Path

    demo = (Path(__file__).resolve().parents[2] / "studio" / "demo" / "reddit_threads_sample.csv").read_bytes()
    head, *body = demo.splitlines(keepends=True)
    return head + b"".join(body[i % len(body)] for i in range(rows))


def _seeded(new_app):
    """A signed-in owner with the demo, a 2k-row data set, a template, a rule set and a generated campaign set."""
    from studio import campaigns, datasets, rule_sets, templates

    at = new_app()
    sign_up(at)
    next(b for b in at.button if b.label == "Load the demo data set").click()
    at.run()
    ctx, store = _ctx_store(at)
    small = datasets.upload(store, ctx, "products_2k.csv", _products(2000), name="products_2k")
    rule = {"id": "r1", "name": "Cheap", "enabled": True, "priority": 1,
            "conditions": {"logic": "and", "items": [{"field": "price", "operator": "less_than", "value": 20}]},
            "actions": [{"type": "skip", "params": {}}]}
    rule_sets.create_rule_set(store, ctx, "Cheap ones", [rule])
    fields = {"subreddit": "{{ subreddit }}", "title": "{{ product_name }}", "body": "{{ url }}"}
    templates.create_template(store, ctx, "Thread", "reddit/thread", fields)
    set_id = campaigns.create(store, ctx, "Set", small.id,
                              {"platform": "reddit", "format": "thread", "templates": fields, "rules": [rule]})
    campaigns.generate(store, ctx, set_id)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        info = campaigns.latest_run(store, ctx, set_id)
        if info is not None and info.finished:
            break
        time.sleep(0.2)
    store.dispose()
    at.run()
    return at, ctx, small


def test_each_main_page_rerun_stays_within_its_round_trip_budget(new_app, counter):
    at, _ctx, small = _seeded(new_app)
    over = {}
    for page, (max_statements, max_units) in BUDGETS.items():
        at.switch_page(page).run()
        if page == "pages/preview.py":
            at.selectbox(key="pv_dataset").set_value(str(small.id)).run()
        assert not at.exception, (page, at.exception)
        counter.reset()
        at.run()  # the rerun a click on this page causes
        assert not at.exception, (page, at.exception)
        if len(counter.statements) > max_statements or counter.units > max_units:
            over[page] = (f"{len(counter.statements)} statements (budget {max_statements}), {counter.units} units of "
                          f"work (budget {max_units}):\n{counter.report()}")
    assert not over, "\n\n".join(f"{page}: {why}" for page, why in over.items())


def test_the_preview_reads_its_data_set_version_once_per_rerun(new_app, counter):
    at, _ctx, small = _seeded(new_app)
    at.switch_page("pages/preview.py").run()
    at.selectbox(key="pv_dataset").set_value(str(small.id)).run()
    counter.reset()
    at.run()
    versions = [s for s in counter.statements if s.startswith("SELECT dataset_versions.id")]
    roles = [s for s in counter.statements if s.startswith("SELECT workspace_members.role")]
    assert len(versions) <= 2, counter.report()  # the version picked and its list of versions: one get_dataset
    assert roles == [], counter.report()  # the sidebar's memberships already told this rerun the role


def test_a_role_change_takes_effect_on_the_next_rerun(new_app):
    from studio.store.models import WorkspaceMember

    at, ctx, _small = _seeded(new_app)
    at.switch_page("pages/templates.py").run()
    assert "You are a viewer" not in texts(at)
    _, store = _ctx_store(at)
    with store.session_scope(Context.job(ctx.workspace_id)) as s:  # someone else demotes this member
        s.execute(update(WorkspaceMember).where(WorkspaceMember.user_id == ctx.user_id).values(role=Role.VIEWER.value))
    store.dispose()
    at.run()
    assert not at.exception, at.exception
    assert "You are a viewer in this workspace" in texts(at)


def test_within_a_rerun_a_write_is_seen_by_the_next_read(new_app):
    """Reads remembered for the rerun are dropped by a write in it: a rename, and a demotion of the actor."""
    from studio import datasets
    from studio.permissions import check
    from studio.store import rerun
    from studio.store.models import WorkspaceMember

    at, ctx, small = _seeded(new_app)
    _, store = _ctx_store(at)
    with rerun.scope():
        assert datasets.get_dataset(store, ctx, small.id).summary.name == "products_2k"
        datasets.rename(store, ctx, small.id, "products renamed")
        assert datasets.get_dataset(store, ctx, small.id).summary.name == "products renamed"
        check(store, ctx, Permission.EDIT)
        with store.session_scope(ctx) as s:
            s.execute(update(WorkspaceMember).where(WorkspaceMember.user_id == ctx.user_id)
                      .values(role=Role.VIEWER.value))
        with pytest.raises(PermissionDenied, match="viewer"):
            check(store, ctx, Permission.EDIT)
    store.dispose()


def test_a_rerun_that_changes_nothing_reuses_the_preview_figures(new_app, monkeypatch):
    import importlib

    engine_preview = importlib.import_module("engine.generation.preview")  # the package re-exports a function of that name
    at, _ctx, small = _seeded(new_app)
    computed = []
    original = engine_preview.compute_stats

    def counting(plan):  # noqa: ANN001, ANN202
        computed.append(plan.total_rows)
        return original(plan)

    monkeypatch.setattr(engine_preview, "compute_stats", counting)
    at.switch_page("pages/preview.py").run()
    at.selectbox(key="pv_dataset").set_value(str(small.id)).run()
    figures = {m.label: m.value for m in at.metric}
    computed.clear()
    at.run()
    assert computed == [] and {m.label: m.value for m in at.metric} == figures
    at.radio(key="pv_strategy").set_value("truncate").run()  # the configuration changed: figures again
    assert computed == [2000]
