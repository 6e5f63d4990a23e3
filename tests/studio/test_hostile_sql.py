"""The hostile-input corpus, the explore notebook: SQL, results saved as data sets and group-by cells built to
break the studio (the harness: tests/studio/hostile_support.py), and what a person sees for the cases the attack
run reported."""

from __future__ import annotations

import uuid
from typing import Any

import polars as pl
import pytest

from studio import datasets, notebooks
from studio.errors import StudioError
from studio.store.session import Store
from tests.studio.hostile_support import SQL_LIMITS, World, label, make_world, run_bounded


@pytest.fixture(scope="module")
def world(pg_store: Store) -> World:
    return make_world(pg_store)

SQL = [
    "SELECT * FROM items p JOIN items q ON p.name = q.name",
    "SELECT INTERVAL 1 DAY AS i UNION ALL SELECT INTERVAL 2 MONTH", "SELECT 1 AS a UNION SELECT 'x'",
    "SELECT 'infinity'::TIMESTAMP AS ts", "SELECT '290000-01-01'::DATE AS d", "SELECT union_value(k := 1) AS u",
    "SELECT repeat('x', 1000000) AS big FROM range(100)", "SELECT * FROM range(100000000)",
    "SELECT * FROM read_csv('/etc/passwd')", "COPY items TO '/tmp/x.csv'", "ATTACH '/tmp/x.db'", "INSTALL httpfs",
    "SET threads = 64", "PRAGMA version", "SELECT 1; SELECT 2", "", "   ", ";", "SELEC 1", "SELECT * FROM nosuch",
    "SELECT nosuch FROM items", "SELECT 1/0", "SELECT 'a'::INT", "SELECT 9223372036854775807::BIGINT + 1",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT * FROM r",
    "SELECT count(*) FROM range(100000) a, range(100000) b, range(100000) c",
    "SELECT string_agg(repeat('x', 1000), '') FROM range(10000000)", "SELECT range(1000000000)",
    "SELECT " + "(" * 10_000 + "1" + ")" * 10_000, "SELECT 1 -- \x00", "SELECT '\ud800'", "SELECT chr(0) AS nul",
    "SELECT getenv('HOME')", "CALL pragma_version()", "EXPLAIN ANALYZE SELECT 1",
    "SELECT * FROM duckdb_settings()", "SELECT 1 AS " + "x" * 100_000, "SELECT '" + "y" * 1_000_000 + "'",
    "SELECT 170141183460469231731687303715884105727::HUGEINT AS h", "SELECT [1, 2] AS l, {'a': 1} AS s",
]


@pytest.mark.parametrize("sql", SQL, ids=[f"sql-{i}" for i in range(len(SQL))])
def test_hostile_sql(world: World, sql: str) -> None:
    run_bounded(f"sql {sql[:60]!r}", [lambda: notebooks.run_sql(world.store, world.ctx, sql, limits=SQL_LIMITS)])


SAVED_SQL = [
    "SELECT * FROM items p JOIN items q ON p.name = q.name", "SELECT INTERVAL 1 DAY AS i",
    "SELECT 'infinity'::TIMESTAMP AS ts", "SELECT [1, 2] AS l, 12345678901234567890.12::DECIMAL(38, 2) AS d",
    "SELECT 'x' AS a WHERE false", "SELECT chr(0) AS nul",
]


@pytest.mark.parametrize("sql", SAVED_SQL, ids=[f"save-{i}" for i in range(len(SAVED_SQL))])
def test_hostile_results_saved_as_data_sets(world: World, sql: str) -> None:
    name = f"saved {uuid.uuid4().hex[:8]}"
    run_bounded(f"save {sql[:60]!r}",
                [lambda: notebooks.save_as_dataset(world.store, world.ctx, name, {"kind": "sql", "sql": sql})])


GROUP_BYS: list[dict[str, Any]] = [
    {}, {"group_by": "city"}, {"group_by": [None]}, {"group_by": ["nosuch"], "aggregations": [{"op": "COUNT"}]},
    {"group_by": ["city"], "aggregations": [{"op": "EXPLODE", "field": "price"}]},
    {"group_by": ["city"], "aggregations": [{"op": "SUM", "field": "name"}]},
    {"group_by": ["city"], "aggregations": [{"field": "price"}]}, {"group_by": ["city"], "aggregations": "all"},
    {"group_by": ["city"], "aggregations": [None]}, {"group_by": ["city"] * 1000, "aggregations": [{"op": "COUNT"}]},
    {"group_by": ["city"], "aggregations": [{"op": "COUNT", "output": "x" * 10_000}]},
    {"group_by": ["city"], "aggregations": [{"op": "COUNT", "output": "city"}]},
    {"group_by": ["ci\x00ty"], "aggregations": [{"op": "COUNT"}]},
    {"group_by": ["city"], "aggregations": [{"op": "CONCAT", "field": "description"}] * 50},
]


@pytest.mark.parametrize("config", GROUP_BYS, ids=[f"group-by-{i}" for i in range(len(GROUP_BYS))])
def test_hostile_group_by_cells(world: World, config: dict[str, Any]) -> None:
    full = {"dataset_id": str(world.dataset_id)} | config
    run_bounded(f"group by {label(config)}", [lambda: notebooks.run_group_by(world.store, world.ctx, full)])


# --- what a person sees for the cases the attack run reported -------------------------------

def test_a_self_join_in_explore_has_unique_column_names(world: World) -> None:
    result = notebooks.run_sql(world.store, world.ctx, "SELECT * FROM items p JOIN items q ON p.name = q.name",
                               limits=SQL_LIMITS)
    assert result.table.columns[:5] == ["name", "city", "price", "description", "name_2"]


def test_saving_an_out_of_range_timestamp_names_the_column(world: World) -> None:
    with pytest.raises(notebooks.QueryFailed, match="`ts`.*9999"):
        notebooks.save_as_dataset(world.store, world.ctx, f"inf {uuid.uuid4().hex[:6]}",
                                  {"kind": "sql", "sql": "SELECT 'infinity'::TIMESTAMP AS ts"})


def test_a_nul_in_a_cell_is_refused_with_a_message(world: World) -> None:
    with pytest.raises(StudioError, match="NUL"):
        notebooks.add_cell(world.store, world.ctx, "sql", source="SELECT 1 \x00")


def test_a_result_polars_cannot_write_is_refused_when_saved(world: World) -> None:
    odd = pl.DataFrame({"thing": pl.Series([object()], dtype=pl.Object)})
    with pytest.raises(StudioError, match="cannot be saved as a data set"):
        datasets.save_derived(world.store, world.ctx, f"odd {uuid.uuid4().hex[:6]}", odd, {"kind": "sql", "sql": "x"})
