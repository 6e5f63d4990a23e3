"""The tenant-first store: migrations both ways, and workspace isolation enforced twice."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.exc import DBAPIError

from studio import auth
from studio.context import Context, WorkspaceId
from studio.errors import NoWorkspace, PermissionDenied
from studio.store import migrate
from studio.store.base import TenantMixin
from studio.store.models import AuditEvent, Base, Dataset, Workspace, WorkspaceMember
from studio.store.session import Store
from tests.conftest import fresh_pg_database, make_settings
from tests.studio.tenant_rows import ROW_MAKERS, fill_every_table

TENANT_TABLES = sorted(t.name for t in Base.metadata.sorted_tables if "workspace_id" in t.c)
RLS_TABLES = [*TENANT_TABLES, "workspaces"]  # the workspace row itself is isolated by its id


def _user_with_workspace(store: Store) -> tuple[Context, WorkspaceId]:
    account, ws = auth.sign_up(store, f"u{uuid.uuid4().hex[:8]}@example.com", "Test User", "correct horse")
    return Context(user_id=account.id, workspace_id=ws), ws


def test_migrations_up_and_down_on_sqlite(tmp_path):
    settings = make_settings(tmp_path)
    migrate.upgrade(settings)
    engine = create_engine(settings.database_url)
    assert {"users", "workspaces", "workspace_members", "datasets", "dataset_versions", "audit_events"} <= set(inspect(engine).get_table_names())
    migrate.downgrade(settings, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(settings)
    assert "datasets" in inspect(engine).get_table_names()


def test_migrations_up_and_down_on_postgres(services, tmp_path):
    owner, app = fresh_pg_database(services, f"m_{uuid.uuid4().hex[:10]}")
    settings = make_settings(tmp_path, DATABASE_URL=app, MIGRATION_DATABASE_URL=owner)
    migrate.upgrade(settings)
    engine = create_engine(owner)
    with engine.connect() as c:
        rls = dict(c.execute(text("select relname, relrowsecurity and relforcerowsecurity from pg_class where relname = any(:t)"),
                             {"t": TENANT_TABLES}).all())
    assert rls and all(rls.values()), rls
    migrate.downgrade(settings, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(settings)
    engine.dispose()


def test_every_tenant_table_has_rls_and_an_isolation_test(pg_store):
    """A new table with workspace_id fails here until it has RLS (enabled + forced) and a row maker."""
    with pg_store.engine.connect() as c:
        rows = c.execute(text(
            "select c.relname, c.relrowsecurity, c.relforcerowsecurity, "
            "(select count(*) from pg_policy p where p.polrelid = c.oid) "
            "from pg_class c join information_schema.columns i on i.table_name = c.relname "
            "where i.column_name = 'workspace_id' and i.table_schema = 'public' and c.relkind = 'r'")).all()
    assert {r[0] for r in rows} == set(TENANT_TABLES) == set(ROW_MAKERS) - {"workspaces"}
    for name, enabled, forced, policies in rows:
        assert enabled and forced and policies >= 1, name
    with pg_store.engine.connect() as c:
        assert c.execute(text("select relrowsecurity and relforcerowsecurity from pg_class where relname = 'workspaces'")).scalar()


def test_every_policy_reads_the_session_once_per_statement(pg_store):
    """current_setting() outside a scalar subquery runs for every row a policy checks: a count of a 1M-row
    set took 4× as long (migration 0025). Each call must sit in its own (SELECT …), an InitPlan."""
    import re

    with pg_store.engine.connect() as c:
        rows = c.execute(text("select c.relname, p.polname, pg_get_expr(p.polqual, p.polrelid), "
                              "pg_get_expr(p.polwithcheck, p.polrelid) from pg_policy p "
                              "join pg_class c on c.oid = p.polrelid")).all()
    assert {r[0] for r in rows} >= set(TENANT_TABLES) | {"users"}
    # a policy's own clauses survive the rewrite: an API key is read by its hash before its workspace is known
    assert any("key_hash" in (r[2] or "") for r in rows if r[:2] == ("api_keys", "tenant_isolation"))
    for table, policy, *exprs in rows:
        for expr in filter(None, exprs):
            calls = len(re.findall(r"current_setting\(", expr))
            once = len(re.findall(r"SELECT \(*(?:NULLIF\()?current_setting\(", expr))
            assert calls and calls == once, (table, policy, expr)


def test_app_role_owns_nothing_and_cannot_bypass_rls(pg_store):
    with pg_store.engine.connect() as c:
        role = c.execute(text("select rolsuper, rolbypassrls from pg_roles where rolname = current_user")).one()
        # a session's own temp tables (the chunk writer's COPY staging table) are the app's, and private to it
        owned = c.execute(text("select count(*) from pg_tables where tableowner = current_user "
                               "and schemaname not like 'pg\\_temp\\_%'")).scalar()
    assert role == (False, False)
    assert owned == 0


def test_session_without_workspace_fails_before_any_sql(store):
    with pytest.raises(NoWorkspace):
        with store.session_scope(Context(user_id=None, workspace_id=None)):
            pass


def test_raw_sql_without_workspace_sees_nothing(pg_store):
    _user_with_workspace(pg_store)
    with pg_store.engine.connect() as c:
        for table in TENANT_TABLES:
            assert c.execute(text(f"select count(*) from {table}")).scalar() == 0, table


@pytest.mark.parametrize("model", [m for m in (Dataset, AuditEvent, WorkspaceMember)])
def test_repository_reads_only_own_workspace(store, model):
    a, ws_a = _user_with_workspace(store)
    b, ws_b = _user_with_workspace(store)
    for ctx in (a, b):
        with store.session_scope(ctx) as s:
            s.add(Dataset(name="mine", current_version=1))
    with store.session_scope(a) as s:
        rows = s.scalars(select(model)).all()
        assert rows, "workspace A has rows of its own"
        assert {r.workspace_id for r in rows} == {ws_a}


def test_cannot_write_rows_into_another_workspace(store):
    a, _ = _user_with_workspace(store)
    _, ws_b = _user_with_workspace(store)
    with pytest.raises(PermissionDenied):
        with store.session_scope(a) as s:
            s.add(Dataset(workspace_id=ws_b, name="smuggled", current_version=1))


def test_non_member_cannot_open_a_workspace(store):
    a, _ = _user_with_workspace(store)
    _, ws_b = _user_with_workspace(store)
    with pytest.raises(PermissionDenied, match="not a member"):
        with store.session_scope(Context(user_id=a.user_id, workspace_id=ws_b)):
            pass


def _add_one_row_everywhere(store, ctx):
    with store.session_scope(ctx) as s:
        fill_every_table(s)


def _raw_tenant(conn, ws):
    conn.execute(text("select set_config('app.workspace_id', :w, true)"), {"w": str(ws)})


@pytest.mark.parametrize("table", RLS_TABLES)
def test_raw_sql_on_app_role_is_isolated(pg_store, table):
    """As A through raw SQL: B's rows are invisible, untouchable and cannot be inserted."""
    a, ws_a = _user_with_workspace(pg_store)
    b, ws_b = _user_with_workspace(pg_store)
    for ctx in (a, b):
        _add_one_row_everywhere(pg_store, ctx)
    key = "id" if table == "workspaces" else "workspace_id"
    with pg_store.engine.begin() as c:
        _raw_tenant(c, ws_b)
        assert c.execute(text(f"select count(*) from {table} where {key} = :b"), {"b": ws_b}).scalar() >= 1
    with pg_store.engine.begin() as c:
        _raw_tenant(c, ws_a)
        assert c.execute(text(f"select count(*) from {table} where {key} = :b"), {"b": ws_b}).scalar() == 0
        assert c.execute(text(f"update {table} set {key} = {key} where {key} = :b"), {"b": ws_b}).rowcount == 0
        assert c.execute(text(f"delete from {table} where {key} = :b"), {"b": ws_b}).rowcount == 0
    with pytest.raises(DBAPIError, match="row-level security"):
        with pg_store.engine.begin() as c:
            _raw_tenant(c, ws_a)
            c.execute(text("insert into audit_events (id, workspace_id, at, action, detail, summary) "
                           "values (:i, :b, now(), 'x', '{}', '')"), {"i": uuid.uuid4(), "b": ws_b})
    if table != "workspaces":
        with pytest.raises(DBAPIError, match="row-level security"):
            with pg_store.engine.begin() as c:
                _raw_tenant(c, ws_a)
                c.execute(text(f"update {table} set workspace_id = :b where workspace_id = :a"), {"a": ws_a, "b": ws_b})


@pytest.mark.parametrize("table", RLS_TABLES)
def test_isolation_check_fails_when_the_policy_is_dropped(pg_store, pg_settings, table):
    """The isolation assertions above depend on each table's policy: without it A sees B's rows."""
    a, ws_a = _user_with_workspace(pg_store)
    b, ws_b = _user_with_workspace(pg_store)
    _add_one_row_everywhere(pg_store, b)
    key = "id" if table == "workspaces" else "workspace_id"
    owner = create_engine(pg_settings.migration_database_url)
    with owner.begin() as c:
        c.execute(text(f"lock table {table} in access exclusive mode"))
        c.execute(text(f"alter table {table} no force row level security"))
        c.execute(text(f"alter table {table} disable row level security"))
        c.execute(text("select set_config('app.workspace_id', :w, true)"), {"w": str(ws_a)})
        # the owner now reads as the app would without RLS: B's rows show up
        leaked = c.execute(text(f"select count(*) from {table} where {key} = :b"), {"b": ws_b}).scalar()
        c.execute(text(f"alter table {table} enable row level security"))
        c.execute(text(f"alter table {table} force row level security"))
    owner.dispose()
    assert leaked >= 1


def test_workspace_listing_shows_only_own_memberships(store):
    from studio import tenancy
    a, ws_a = _user_with_workspace(store)
    _user_with_workspace(store)
    ws2 = tenancy.create_workspace(store, a.user_id, "Client two")
    names = [(m.workspace_id, m.role.value) for m in tenancy.memberships(store, a.user_id)]
    assert names == [(ws_a, "owner"), (ws2, "owner")]
    with store.account_scope(a.user_id) as s:
        visible = set(s.scalars(select(Workspace.id)))
    if store.is_postgres:
        assert visible == {ws_a, ws2}


def test_tenant_mixin_tables_are_the_rls_tables():
    mixed = {m.__tablename__ for m in TenantMixin.__subclasses__()}
    assert mixed == set(TENANT_TABLES) - {"workspaces"}
