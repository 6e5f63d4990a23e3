"""Run the store's migrations (as the schema owner) and grant the app role what it needs."""

from __future__ import annotations

import argparse
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, inspect, text

from studio.settings import Settings, SettingsError, load_settings

MIGRATIONS = Path(__file__).parent / "migrations"


def _config(connection: object) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(settings: Settings, revision: str = "head", *, url: str | None = None) -> None:
    """Bring the schema to `revision`; on Postgres, grant DML on every table to the app role."""
    target = url or settings.migration_database_url
    if target.startswith("sqlite"):
        settings.home.mkdir(parents=True, exist_ok=True)
    engine = create_engine(target)
    try:
        with engine.begin() as conn:
            command.upgrade(_config(conn), revision)
            if conn.dialect.name == "postgresql":
                grant_app_role(conn, settings.db_app_role)
    finally:
        engine.dispose()


def downgrade(settings: Settings, revision: str = "base", *, url: str | None = None) -> None:
    engine = create_engine(url or settings.migration_database_url)
    try:
        with engine.begin() as conn:
            command.downgrade(_config(conn), revision)
    finally:
        engine.dispose()


def grant_app_role(conn: object, role: str) -> None:
    """The app role may read and write rows, never change the schema or bypass RLS (it owns nothing)."""
    tables = [t for t in inspect(conn).get_table_names() if t != "alembic_version"]
    quoted = '"' + role.replace('"', '""') + '"'
    for table in tables:
        conn.execute(text(f'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE "{table}" TO {quoted}'))  # type: ignore[attr-defined]
    if "users" in tables:  # column privileges only: no hashes or lockout counters (migration 0009)
        from studio.store.user_security import app_grants_sql

        for stmt in app_grants_sql(quoted, {c["name"] for c in inspect(conn).get_columns("users")}):
            conn.execute(text(stmt))  # type: ignore[attr-defined]
    conn.execute(text(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {quoted}"))  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("action", choices=["upgrade", "downgrade"], nargs="?", default="upgrade")
    parser.add_argument("revision", nargs="?", default=None)
    args = parser.parse_args()
    try:
        settings = load_settings()
    except SettingsError as exc:  # the first command of `make run`: the message alone, no traceback
        raise SystemExit(f"Cannot start: {exc}") from None
    if args.action == "upgrade":
        upgrade(settings, args.revision or "head")
    else:
        downgrade(settings, args.revision or "base")
    print(f"store {args.action}d: {settings.migration_database_url.split('@')[-1]}")


if __name__ == "__main__":
    main()
