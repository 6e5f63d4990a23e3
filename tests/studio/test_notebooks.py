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
    assert result.table.rows() == [("shoes", 2, 109.45), ("jackets", 1, 150.0), ("hats", 2, 22.25)]
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
