"""The explore page under AppTest: empty state, add → run → rows, errors, save as data set, undo, viewers.

The page runs on its own with a signed-in session (app.py registers it; its own test renders every
registered page), on a fresh embedded store.
"""

from __future__ import annotations

import uuid

import pytest
from streamlit.testing.v1 import AppTest

from studio import auth, datasets, invitations, notebooks
from studio.context import Context, Role
from studio.settings import load_settings
from studio.store import migrate
from studio.store.session import Store
from tests.pages.conftest import ROOT, texts

CSV = b"Product Name,Category,Price\nTrail Shoe,shoes,129.90\nCity Boot,shoes,89.00\nRain Jacket,jackets,150.00\n"
QUERY = "SELECT category, count(*) AS n\nFROM shop_products\nGROUP BY 1 ORDER BY 1"


@pytest.fixture()
def store(studio_env) -> Store:
    settings = load_settings()
    migrate.upgrade(settings)
    return Store(settings)


def person(store: Store, *, data: bool = True) -> tuple[auth.Account, Context]:
    account, ws = auth.sign_up(store, f"p{uuid.uuid4().hex[:8]}@example.com", "Ada Analyst", "correct horse")
    ctx = Context(user_id=account.id, workspace_id=ws)
    if data:
        datasets.upload(store, ctx, "products.csv", CSV, name="Shop products")
    return account, ctx


def open_page(account: auth.Account, ctx: Context) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / "explore.py"), default_timeout=60)
    at.session_state["dotoro_account"] = (str(account.id), account.email, account.name)
    at.session_state["dotoro_workspace_id"] = str(ctx.workspace_id)
    at.run()
    assert not at.exception, at.exception
    return at


def click(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click()
    at.run()
    assert not at.exception, at.exception
    return at


def test_empty_state_without_data_sets(store):
    at = open_page(*person(store, data=False))
    assert "No data sets yet" in texts(at) and "Upload a table on Data sources" in texts(at)
    assert not at.button and not at.text_area


def test_add_a_sql_cell_run_it_save_the_result_and_undo_a_delete(store):
    account, ctx = person(store)
    at = open_page(account, ctx)
    assert "This notebook is empty" in texts(at) and "`shop_products`" in texts(at)
    click(at, "SQL cell")
    (cell,) = notebooks.open_notebook(store, ctx).cells
    assert at.text_area(key=f"nb_src_{cell.id}").value == "SELECT *\nFROM shop_products\nLIMIT 100"
    at.text_area(key=f"nb_src_{cell.id}").input(QUERY)
    click(at, "Run")
    assert at.dataframe[0].value.shape == (2, 2) and not at.error
    assert any(c.value.startswith("2 rows · ") for c in at.caption)
    assert notebooks.open_notebook(store, ctx).cells[0].source == QUERY  # running saved the edit

    at.text_input(key=f"nb_save_name_{cell.id}").input("Per category")
    click(at, "Save as data set")
    assert "Saved 'Per category' (2 rows)" in texts(at) and "`per_category`" in texts(at)
    assert "Saved from: SELECT category" in texts(at)
    click(at, "Refresh")
    assert "Refreshed 'Per category': 2 rows (version 2)." in texts(at)

    click(at, "✕")
    assert "Deleted cell 1 (SQL)." in texts(at) and not at.text_area
    click(at, "Undo")
    assert at.text_area(key=f"nb_src_{cell.id}").value == QUERY and at.dataframe  # cell and its result are back


def test_bad_sql_shows_line_and_column_and_the_next_run_works(store):
    account, ctx = person(store)
    cell = notebooks.add_cell(store, ctx, "sql", source="SELECT *\nFROM shop_products\nWHER price > 1")
    at = open_page(account, ctx)
    click(at, "Run")
    assert [e.value for e in at.error] == ['Line 3, column 6: Syntax error at or near "price".']
    assert "Traceback" not in texts(at)
    at.text_area(key=f"nb_src_{cell.id}").input("SELECT * FROM read_csv('/etc/passwd')")
    click(at, "Run")
    assert "cannot read files, URLs or other databases" in at.error[0].value
    at.text_area(key=f"nb_src_{cell.id}").input("SELECT count(*) AS n FROM shop_products")
    click(at, "Run")
    assert not at.error and at.dataframe[0].value.iloc[0, 0] == 3


def test_viewer_runs_cells_but_cannot_save_or_change_them(store):
    _, owner = person(store)
    notebooks.add_cell(store, owner, "sql", source=QUERY)
    viewer_account, _ = person(store, data=False)
    token = invitations.invite(store, owner, viewer_account.email, Role.VIEWER).url.split("invite=")[1]
    invitations.accept(store, token, viewer_account)
    at = open_page(viewer_account, Context(user_id=viewer_account.id, workspace_id=owner.workspace_id))
    labels = {b.label for b in at.button}
    assert labels == {"Run", "Run all"}, labels  # no add, move, delete
    click(at, "Run all")
    assert at.dataframe[0].value.shape == (2, 2)
    assert "Viewers can run cells but not save results as data sets." in texts(at)
    assert "Save as data set" not in {b.label for b in at.button}


def test_group_by_cell_runs_without_sql_and_charts_its_result(store):
    account, ctx = person(store)
    at = open_page(account, ctx)
    click(at, "Group by cell")
    (cell,) = notebooks.open_notebook(store, ctx).cells
    assert cell.config["group_by"] == ["category"]  # the text column with the fewest distinct values
    assert at.multiselect(key=f"nb_gb_keys_{cell.id}").value == ["category"]
    click(at, "Run")
    assert at.dataframe[-1].value.values.tolist() == [["shoes", 2], ["jackets", 1]]  # [0]: the aggregations editor; most rows first
    assert any(c.value.startswith("2 rows · ") for c in at.caption)
    assert len(at.get("vega_lite_chart")) == 1
    at.selectbox(key=f"nb_ch_type_{cell.id}").select("line").run()
    assert notebooks.open_notebook(store, ctx).cells[0].config["chart"]["type"] == "line"
    at.multiselect(key=f"nb_gb_keys_{cell.id}").set_value([])
    click(at, "Run")
    assert [e.value for e in at.error] == ["group_by needs at least one column (a list of column names)"]


def test_a_result_is_kept_across_reloads_and_marked_stale_when_the_data_changes(store):
    account, ctx = person(store)
    cell = notebooks.add_cell(store, ctx, "sql", source=QUERY)
    click(open_page(account, ctx), "Run")

    at = open_page(account, ctx)  # a reload: a new session, nothing run yet
    assert at.dataframe[0].value.values.tolist() == [["jackets", 1], ["shoes", 2]]
    assert "Kept from the run of" in texts(at) and not at.warning

    ds = datasets.sql_tables(store, ctx)[0]
    datasets.replace(store, ctx, ds.dataset_id, "products.csv", CSV + b"Wool Hat,hats,25.50\n")
    at = open_page(account, ctx)
    assert [w.value for w in at.warning] == [
        "**Stale** — 'Shop products' has a newer version (v2; this ran on v1). This is the last kept result."]
    assert at.dataframe[0].value.shape == (2, 2), "the old result stays visible until it is run again"
    click(at, "Run again")
    assert not at.warning and at.dataframe[0].value.values.tolist() == [["hats", 1], ["jackets", 1], ["shoes", 2]]

    at = open_page(account, ctx)
    at.text_area(key=f"nb_src_{cell.id}").input(QUERY.replace("ORDER BY 1", "ORDER BY 2 DESC")).run()
    assert [w.value for w in at.warning] == [
        "**Stale** — the cell changed since this ran. This is the last kept result."]


def test_notebooks_are_created_picked_renamed_and_deleted(store):
    account, ctx = person(store)
    at = open_page(account, ctx)
    at.text_input(key="nb_new_name").input("Pricing")
    click(at, "Create notebook")
    (pricing,) = [b for b in notebooks.list_notebooks(store, ctx) if b.name == "Pricing"]
    assert at.selectbox(key="nb_notebook").value == str(pricing.id)
    click(at, "SQL cell")
    assert [c.source.splitlines()[1] for c in notebooks.open_notebook(store, ctx, pricing.id).cells] == \
        ["FROM shop_products"]

    at.text_input(key=f"nb_rename_{pricing.id}").input("Pricing by week")
    click(at, "Rename notebook")
    assert sorted(b.name for b in notebooks.list_notebooks(store, ctx)) == ["Notebook", "Pricing by week"]
    assert "Delete **Pricing by week** and its 1 cell with their results? This cannot be undone." in texts(at)

    at.selectbox(key="nb_notebook").select(str(notebooks.list_notebooks(store, ctx)[0].id)).run()
    assert not at.text_area, "the first notebook has no cells"
    at.selectbox(key="nb_notebook").select(str(pricing.id)).run()
    click(at, "Delete Pricing by week")
    assert [b.name for b in notebooks.list_notebooks(store, ctx)] == ["Notebook"]
    assert at.selectbox(key="nb_notebook").value == str(notebooks.list_notebooks(store, ctx)[0].id)


def test_a_new_cell_starts_from_the_newest_data_set(store):
    account, ctx = person(store)
    datasets.upload(store, ctx, "stock.csv", b"sku,units\nA1,3\n", name="Zeta stock")
    at = open_page(account, ctx)
    click(at, "SQL cell")
    (cell,) = notebooks.open_notebook(store, ctx).cells
    assert cell.source == "SELECT *\nFROM zeta_stock\nLIMIT 100"
