"""The explore notebook service: cells, SQL in the sandbox, group by, derived data sets, isolation, roles."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from engine.sql_sandbox import SandboxLimits
from studio import auth, datasets, invitations, notebooks
from studio.context import Context, Role
from studio.errors import NotFound, PermissionDenied, ValidationFailed
from studio.store import migrate
from studio.store.session import Store
from tests.conftest import make_settings

PRODUCTS = (b"Product Name,Category,Price\nTrail Shoe,shoes,129.90\nCity Boot,shoes,89.00\n"
            b"Rain Jacket,jackets,150.00\nWool Hat,hats,25.50\nSun Hat,hats,19.00\n")


def person(store: Store, name: str = "Ada Analyst") -> Context:
    account, ws = auth.sign_up(store, f"u{uuid.uuid4().hex[:8]}@example.com", name, "correct horse")
    return Context(user_id=account.id, workspace_id=ws)


def member(store: Store, owner: Context, role: Role) -> Context:
    account, _ = auth.sign_up(store, f"m{uuid.uuid4().hex[:8]}@example.com", "Vera Viewer", "correct horse")
    token = invitations.invite(store, owner, account.email, role).url.split("invite=")[1]
    invitations.accept(store, token, account)
    return Context(user_id=account.id, workspace_id=owner.workspace_id)


@pytest.fixture(scope="module")
def sstore(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """One embedded store for the module: every test signs up its own workspace in it."""
    settings = make_settings(tmp_path_factory.mktemp("notebooks"))
    migrate.upgrade(settings)
    store = Store(settings)
    yield store
    store.dispose()


@pytest.fixture()
def analyst(sstore: Store) -> Context:
    ctx = person(sstore)
    datasets.upload(sstore, ctx, "products.csv", PRODUCTS, name="Shop products")
    return ctx


def test_cells_keep_their_order_across_add_move_delete_and_undo(store):
    ctx = person(store)
    a = notebooks.add_cell(store, ctx, "markdown", source="# Notes")
    b = notebooks.add_cell(store, ctx, "sql", source="SELECT 1")
    c = notebooks.add_cell(store, ctx, "group_by", config={"group_by": ["x"]})
    first = notebooks.add_cell(store, ctx, "sql", source="SELECT 0", position=0)

    def order() -> list[uuid.UUID]:
        return [cell.id for cell in notebooks.open_notebook(store, ctx).cells]

    assert order() == [first.id, a.id, b.id, c.id]
    notebooks.move_cell(store, ctx, c.id, -1)
    notebooks.move_cell(store, ctx, first.id, -1)  # already first: nothing moves
    assert order() == [first.id, a.id, c.id, b.id]
    notebooks.update_cell(store, ctx, b.id, source="SELECT 2", config={"chart": {"type": "line"}})
    gone = notebooks.delete_cell(store, ctx, a.id)
    assert order() == [first.id, c.id, b.id]
    notebooks.restore_cell(store, ctx, gone)
    cells = notebooks.open_notebook(store, ctx).cells
    assert [cell.id for cell in cells] == [first.id, a.id, c.id, b.id]
    assert [cell.position for cell in cells] == [0, 1, 2, 3]
    assert (cells[1].source, cells[3].source, cells[3].config) == ("# Notes", "SELECT 2", {"chart": {"type": "line"}})
    with pytest.raises(ValidationFailed, match="Unknown cell kind"):
        notebooks.add_cell(store, ctx, "python")


def test_sql_cell_queries_data_sets_by_sql_friendly_names(sstore, analyst):
    book = notebooks.open_notebook(sstore, analyst)
    assert [t.name for t in book.tables] == ["shop_products"] and book.can_edit
    result = notebooks.run_sql(sstore, analyst,
                               "SELECT category, count(*) AS n, sum(price) AS total\nFROM shop_products\n"
                               "GROUP BY category ORDER BY n DESC, category")
    assert result.table.rows() == [("hats", 2, 44.5), ("shoes", 2, 218.9), ("jackets", 1, 150.0)]
    assert result.row_label == "3 rows" and not result.truncated and result.elapsed_s > 0


@pytest.mark.parametrize(("name", "expected"), [
    ("Demo products", "demo_products"), ("Demo products (2)", "demo_products_2"), ("2024 Sales!", "t_2024_sales"),
    ("Café Menü", "cafe_menu"), ("order", "order_data"), ("ÄÖ", "ao"), ("🙂", "data_set"),
])
def test_sql_table_names(name, expected):
    assert datasets.sql_table_name(name) == expected


def test_hostile_sql_fails_clearly_and_the_next_query_works(sstore, analyst):
    with pytest.raises(ValidationFailed, match="cannot read files, URLs or other databases"):
        notebooks.run_sql(sstore, analyst, "SELECT * FROM read_csv('/etc/passwd')")
    with pytest.raises(ValidationFailed, match=r"^Line 3, column 6: Syntax error at or near \"price\""):
        notebooks.run_sql(sstore, analyst, "SELECT *\nFROM shop_products\nWHER price > 10")
    with pytest.raises(ValidationFailed, match="Did you mean shop_products"):
        notebooks.run_sql(sstore, analyst, "SELECT * FROM shop_product")
    assert notebooks.run_sql(sstore, analyst, "SELECT count(*) FROM shop_products").table.item() == 5


def test_a_runaway_query_is_stopped_at_its_time_limit(sstore, analyst):
    bomb = "SELECT count(*) FROM range(100000000) a, range(100000000) b"
    with pytest.raises(ValidationFailed, match="(ran longer than 1 s|needed more than the 512 MB).* was stopped"):
        notebooks.run_sql(sstore, analyst, bomb, limits=SandboxLimits(timeout_s=1.0))
    assert notebooks.run_sql(sstore, analyst, "SELECT 1 AS one").table.item() == 1


def test_group_by_cell(sstore, analyst):
    (table,) = datasets.sql_tables(sstore, analyst)
    config = {"dataset_id": str(table.dataset_id), "group_by": ["category"],
              "aggregations": [{"op": "COUNT"}, {"op": "AVG", "field": "price", "output": "avg_price"}]}
    cell = notebooks.add_cell(sstore, analyst, "group_by", config=config)
    result = notebooks.run_cell(sstore, analyst, cell.kind, cell.source, cell.config)
    assert result is not None
    # the largest groups first, ties by the group key
    assert result.table.rows() == [("hats", 2, 22.25), ("shoes", 2, 109.45), ("jackets", 1, 150.0)]
    with pytest.raises(ValidationFailed, match="SUM needs a number column"):
        notebooks.run_group_by(sstore, analyst, {**config, "aggregations": [{"op": "SUM", "field": "category"}]})
    assert notebooks.run_cell(sstore, analyst, "markdown", "# hi", {}) is None


def test_save_as_data_set_remembers_its_query_and_refreshes(sstore, analyst):
    sql = "SELECT category, count(*) AS n FROM shop_products GROUP BY 1 ORDER BY 1"
    saved = notebooks.save_as_dataset(sstore, analyst, "Per category", {"kind": "sql", "sql": sql})
    assert (saved.row_count, saved.version) == (3, 1)
    detail = datasets.get_dataset(sstore, analyst, saved.id)
    assert detail.info["source"] == "notebook" and detail.info["source_query"] == sql
    tables = {t.name: t for t in datasets.sql_tables(sstore, analyst)}
    assert tables["per_category"].source == {"kind": "sql", "sql": sql}
    assert notebooks.describe_source(tables["per_category"].source) == sql
    # the derived data set is a table too
    assert notebooks.run_sql(sstore, analyst, "SELECT sum(n) FROM per_category").table.item() == 5

    source_id = tables["shop_products"].dataset_id
    datasets.replace(sstore, analyst, source_id, "more.csv", PRODUCTS + b"Beanie,hats,12.00\nBelt,belts,30\n")
    refreshed = notebooks.refresh(sstore, analyst, saved.id)
    assert (refreshed.row_count, refreshed.version) == (4, 2)
    rows = datasets.load_table(sstore, analyst, saved.id).rows()
    assert rows == [("belts", 1), ("hats", 3), ("jackets", 1), ("shoes", 2)]
    assert datasets.get_dataset(sstore, analyst, saved.id).info["source_query"] == sql
    with pytest.raises(ValidationFailed, match="was uploaded, not saved from a query"):
        notebooks.refresh(sstore, analyst, source_id)
    with pytest.raises(ValidationFailed, match="already called 'Per category'"):
        notebooks.save_as_dataset(sstore, analyst, "Per category", {"kind": "sql", "sql": sql})


def test_a_group_by_result_saves_and_refreshes_too(sstore, analyst):
    (table,) = datasets.sql_tables(sstore, analyst)
    result = notebooks.run_group_by(sstore, analyst, {"dataset_id": str(table.dataset_id),
                                                            "group_by": ["category"], "aggregations": [{"op": "COUNT"}]})
    saved = notebooks.save_as_dataset(sstore, analyst, "Counts", result.source)
    assert saved.row_count == 3
    datasets.replace(sstore, analyst, table.dataset_id, "p.csv", PRODUCTS + b"Belt,belts,30\n")
    assert notebooks.refresh(sstore, analyst, saved.id).row_count == 4


def test_a_notebook_sees_only_its_own_workspace(store):
    a, b = person(store, "Ann"), person(store, "Bob")
    datasets.upload(store, b, "secret.csv", b"token\nhunter2\n", name="Secret")
    datasets.upload(store, a, "mine.csv", b"x\n1\n", name="Mine")
    b_cell = notebooks.add_cell(store, b, "sql", source="SELECT * FROM secret")
    book = notebooks.open_notebook(store, a)
    assert book.cells == () and [t.name for t in book.tables] == ["mine"]
    assert list(datasets.current_parquet(store, a)) == ["mine"]
    with pytest.raises(ValidationFailed, match="Table `secret` does not exist.*Tables you can query: mine"):
        notebooks.run_sql(store, a, "SELECT * FROM secret")
    for attempt in (lambda: notebooks.update_cell(store, a, b_cell.id, source="x"),
                    lambda: notebooks.delete_cell(store, a, b_cell.id),
                    lambda: notebooks.move_cell(store, a, b_cell.id, 1)):
        with pytest.raises(NotFound):
            attempt()
    assert notebooks.open_notebook(store, b).cells[0].source == "SELECT * FROM secret"


def test_viewers_run_cells_but_cannot_change_or_save(sstore, analyst):
    cell = notebooks.add_cell(sstore, analyst, "sql", source="SELECT count(*) AS n FROM shop_products")
    viewer = member(sstore, analyst, Role.VIEWER)
    book = notebooks.open_notebook(sstore, viewer)
    assert not book.can_edit and [c.id for c in book.cells] == [cell.id]
    assert notebooks.run_sql(sstore, viewer, cell.source).table.item() == 5
    for attempt in (lambda: notebooks.add_cell(sstore, viewer, "sql"),
                    lambda: notebooks.update_cell(sstore, viewer, cell.id, source="x"),
                    lambda: notebooks.delete_cell(sstore, viewer, cell.id),
                    lambda: notebooks.save_as_dataset(sstore, viewer, "Mine", {"kind": "sql", "sql": cell.source})):
        with pytest.raises(PermissionDenied):
            attempt()


# --- notebooks people keep (issue 14, item 6) ---------------------------------------------------------------

def test_named_notebooks_keep_their_own_cells(store):
    ctx = person(store)
    first = notebooks.list_notebooks(store, ctx)
    assert [(b.name, b.cells) for b in first] == [("Notebook", 0)], "a workspace starts with one notebook"
    notebooks.add_cell(store, ctx, "sql", source="SELECT 1", notebook_id=first[0].id)
    prices = notebooks.create_notebook(store, ctx, "  Prices   by category ")
    assert prices.name == "Prices by category"
    cell = notebooks.add_cell(store, ctx, "sql", source="SELECT 2", notebook_id=prices.id)
    assert [c.source for c in notebooks.open_notebook(store, ctx, prices.id).cells] == ["SELECT 2"]
    assert [c.source for c in notebooks.open_notebook(store, ctx, first[0].id).cells] == ["SELECT 1"]
    assert notebooks.open_notebook(store, ctx).id == prices.id, "without a pick: the one changed last"
    with pytest.raises(ValidationFailed, match="A notebook named 'prices by category' already exists"):
        notebooks.create_notebook(store, ctx, "prices by category")
    with pytest.raises(ValidationFailed, match="Give the notebook a name"):
        notebooks.rename_notebook(store, ctx, prices.id, "   ")
    assert notebooks.rename_notebook(store, ctx, prices.id, "Weekly prices").name == "Weekly prices"
    assert notebooks.delete_notebook(store, ctx, prices.id) == "Weekly prices"
    assert [b.name for b in notebooks.list_notebooks(store, ctx)] == ["Notebook"]
    with pytest.raises(NotFound):
        notebooks.update_cell(store, ctx, cell.id, source="SELECT 3")  # its cells went with it
    with pytest.raises(NotFound, match="This notebook does not exist"):
        notebooks.open_notebook(store, ctx, prices.id)
    notebooks.delete_notebook(store, ctx, first[0].id)
    again = notebooks.list_notebooks(store, ctx)
    assert [(b.name, b.cells) for b in again] == [("Notebook", 0)], "the last one deleted: an empty one next time"


def test_cells_from_before_named_notebooks_join_the_first_one(store):
    from studio.store.notebook_models import NotebookCell

    ctx = person(store)
    with store.session_scope(ctx) as s:  # as 0006 left them: cells without a notebook
        s.add(NotebookCell(position=0, kind="markdown", source="# Old notes", config={}))
    book = notebooks.open_notebook(store, ctx)
    assert (book.name, [c.source for c in book.cells]) == ("Notebook", ["# Old notes"])


def test_a_kept_output_comes_back_and_turns_stale(sstore, analyst):
    from studio import notebook_outputs

    sql = "SELECT category, count(*) AS n FROM shop_products GROUP BY 1 ORDER BY 1"
    cell = notebooks.add_cell(sstore, analyst, "sql", source=sql)
    book = notebooks.open_notebook(sstore, analyst)
    result = notebooks.run_cell(sstore, analyst, "sql", sql, {})
    notebook_outputs.save(sstore, analyst, cell.id, "sql", sql, {}, result, book.tables)
    kept = notebooks.open_notebook(sstore, analyst).outputs[cell.id]
    assert kept.table.rows() == [("hats", 2), ("jackets", 1), ("shoes", 2)] and kept.error is None
    assert kept.rows_shown == kept.rows_kept == 3 and not kept.capped
    assert kept.stale_reason("sql", sql + "\n", {"chart": {"type": "line"}}, book.tables) is None, \
        "a trailing newline or a chart choice does not change the result"
    assert kept.stale_reason("sql", sql.replace("ORDER BY 1", "ORDER BY 2"), {}, book.tables) == \
        "the cell changed since this ran"
    ds = next(t for t in book.tables if t.name == "shop_products")
    datasets.replace(sstore, analyst, ds.dataset_id, "products.csv", PRODUCTS + b"Beanie,hats,12.00\n")
    tables = notebooks.open_notebook(sstore, analyst).tables
    assert kept.stale_reason("sql", sql, {}, tables) == "'Shop products' has a newer version (v2; this ran on v1)"


def test_errors_are_kept_and_big_results_are_capped(sstore, analyst, monkeypatch):
    from studio import notebook_outputs

    book = notebooks.open_notebook(sstore, analyst)
    bad = notebooks.add_cell(sstore, analyst, "sql", source="SELECT nope FROM shop_products")
    notebook_outputs.save(sstore, analyst, bad.id, "sql", bad.source, {}, "Column nope does not exist", book.tables)
    big_sql = "SELECT range AS n, md5(range::VARCHAR) || md5((range * 7)::VARCHAR) AS pad FROM range(5000)"
    big = notebooks.add_cell(sstore, analyst, "sql", source=big_sql)
    result = notebooks.run_cell(sstore, analyst, "sql", big_sql, {})
    monkeypatch.setattr(notebook_outputs, "KEEP_BYTES", 10_000)
    notebook_outputs.save(sstore, analyst, big.id, "sql", big_sql, {}, result, book.tables)
    outputs = notebooks.open_notebook(sstore, analyst).outputs
    assert outputs[bad.id].error == "Column nope does not exist" and outputs[bad.id].table is None
    kept = outputs[big.id]
    assert kept.rows_shown == 5000 and kept.capped and 0 < kept.rows_kept < notebook_outputs.KEEP_ROWS
    assert kept.table.height == kept.rows_kept and kept.table["n"].to_list()[:3] == [0, 1, 2]


def test_kept_outputs_stay_in_their_workspace(store):
    from studio import notebook_outputs

    owner, other = person(store), person(store, "Eve Elsewhere")
    cell = notebooks.add_cell(store, owner, "sql", source="SELECT 1 AS one")
    result = notebooks.run_cell(store, owner, "sql", "SELECT 1 AS one", {})
    notebook_outputs.save(store, owner, cell.id, "sql", "SELECT 1 AS one", {}, result, [])
    assert notebooks.open_notebook(store, other).outputs == {}
    with pytest.raises(NotFound):
        notebook_outputs.save(store, other, cell.id, "sql", "SELECT 1 AS one", {}, result, [])
    viewer = member(store, owner, Role.VIEWER)
    with pytest.raises(PermissionDenied):
        notebook_outputs.save(store, viewer, cell.id, "sql", "SELECT 1 AS one", {}, result, [])
    assert notebooks.open_notebook(store, viewer).outputs[cell.id].table.item() == 1


def test_new_cells_start_from_the_newest_data_set(sstore, analyst):
    datasets.upload(sstore, analyst, "zeta.csv", b"a,b\n1,2\n", name="Zeta later upload")
    book = notebooks.open_notebook(sstore, analyst)
    assert [t.name for t in book.tables][0] == "shop_products" and book.newest.name == "zeta_later_upload"
