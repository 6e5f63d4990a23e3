"""Shared fixtures: settings, a SQLite store, and a real Postgres (+ Redis) started by scripts/services.sh."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from studio.settings import Settings, load_settings
from studio.store import migrate
from studio.store.session import Store
from workers import bindings

bindings.install()  # every test process binds studio.jobs to workers/, as every entry point of the product does

ROOT = Path(__file__).resolve().parents[1]
TEST_DATA = ROOT / "tests" / "data"
# The studio server's embedded-mode loop (workers.embedded) would publish and run system jobs behind the
# tests' backs; tests that want it start it themselves (the e2e server turns it on).
os.environ.setdefault("BACKGROUND_JOBS", "off")


def _services_env(tmp_root: Path) -> dict[str, str]:
    """Use the services `make test` started; otherwise start a private pair for this run."""
    if os.environ.get("TEST_PG_ADMIN_URL") and os.environ.get("REDIS_URL"):
        return {k: os.environ[k] for k in ("TEST_PG_ADMIN_URL", "MIGRATION_DATABASE_URL", "DATABASE_URL", "REDIS_URL")}
    subprocess.run([str(ROOT / "scripts" / "services.sh"), "start", str(tmp_root)], check=True)
    env: dict[str, str] = {}
    for line in (tmp_root / "env").read_text().splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        env[key] = value
    return env


@pytest.fixture(scope="session")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    started = not (os.environ.get("TEST_PG_ADMIN_URL") and os.environ.get("REDIS_URL"))
    root = Path("/tmp") / f"dotoro-pytest-{uuid.uuid4().hex[:8]}"
    env = _services_env(root)
    yield env
    if started:
        subprocess.run([str(ROOT / "scripts" / "services.sh"), "stop", str(root)], check=False)
        subprocess.run(["rm", "-rf", str(root)], check=False)


def make_settings(home: Path, **env: str) -> Settings:
    base = {"DOTORO_HOME": str(home), "SECRET_KEY": "test-secret", "LOCKOUT_ATTEMPTS": "5", "LOCKOUT_MINUTES": "15", "BCRYPT_ROUNDS": "4"}
    base.update(env)
    return load_settings(base, dotenv=None)


def fresh_pg_database(services: dict[str, str], name: str) -> tuple[str, str]:
    """Create an empty database owned by the schema owner; return (owner_url, app_url)."""
    admin = create_engine(services["TEST_PG_ADMIN_URL"], isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}" OWNER dotoro_owner'))
    admin.dispose()
    owner = services["MIGRATION_DATABASE_URL"].rsplit("/", 1)[0] + f"/{name}"
    app = services["DATABASE_URL"].rsplit("/", 1)[0] + f"/{name}"
    return owner, app


@pytest.fixture(scope="session")
def pg_settings(services: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Settings:
    owner, app = fresh_pg_database(services, f"t_{uuid.uuid4().hex[:10]}")
    settings = make_settings(tmp_path_factory.mktemp("pghome"), DATABASE_URL=app, MIGRATION_DATABASE_URL=owner,
                             REDIS_URL=services["REDIS_URL"])
    migrate.upgrade(settings)
    return settings


@pytest.fixture(scope="session")
def pg_store(pg_settings: Settings) -> Iterator[Store]:
    store = Store(pg_settings, pool_size=5, max_overflow=5)
    yield store
    store.dispose()


@pytest.fixture()
def sqlite_settings(tmp_path: Path) -> Settings:
    settings = make_settings(tmp_path / "home")
    migrate.upgrade(settings)
    return settings


@pytest.fixture()
def sqlite_store(sqlite_settings: Settings) -> Iterator[Store]:
    store = Store(sqlite_settings)
    yield store
    store.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest) -> Store:
    """The same test on the embedded store and on the real Postgres (as the app role)."""
    name = "sqlite_store" if request.param == "sqlite" else "pg_store"
    return request.getfixturevalue(name)


@pytest.fixture(scope="session")
def shared_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample data (products_2k.csv, reddit_threads_sample.csv), built from the repo: never skipped,
    the same bytes as ../shared/data (tests/sample_data.py), so CI and a fresh clone run the same tests."""
    from tests.sample_data import sample_dir

    return sample_dir(tmp_path_factory.mktemp("sample-data"))
