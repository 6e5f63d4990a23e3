"""Sessions sharing one server: a preview with per-row renders keeps off the shared DuckDB database and
makes way for light previews (bench/bench_hostile_load.py measures the effect)."""

from __future__ import annotations

import threading

import polars as pl

from engine.generation import build_plan, connect, fallback, preview

FRAME = pl.DataFrame({"name": ["Tent", "Shoe", "Cup"], "price": [10, 20, 30]})


def config(body: str) -> dict:
    return {"platform": "reddit", "format": "thread",
            "templates": {"subreddit": "shop", "title": "{{ name }}", "body": body}}


def test_a_plan_with_per_row_renders_gets_its_own_database_and_leaves_the_shared_one_clean() -> None:
    shared = connect()
    try:
        with build_plan(FRAME, config("{% for i in range(2) %}{{ name }}{% endfor %}"), connection=shared) as plan:
            assert plan.fallback_fields  # the loop renders per row
            result = preview(plan, limit=5)
            assert result.variations["body"].to_list() == ["TentTent", "ShoeShoe", "CupCup"]
            udfs = {u.name for u in plan.compiled.udfs}
            registered = {r[0] for r in shared.execute("SELECT function_name FROM duckdb_functions()").fetchall()}
            assert not udfs & registered
        with build_plan(FRAME, config("{{ name }} {{ price }}"), connection=shared) as light:
            assert not light.fallback_fields
            assert preview(light, limit=5).variations["body"].to_list() == ["Tent 10", "Shoe 20", "Cup 30"]
    finally:
        shared.close()


def test_per_row_renders_wait_while_a_light_preview_runs_and_go_on_after() -> None:
    with build_plan(FRAME, config("{% for i in range(2) %}{{ name }}{% endfor %}")) as plan:
        light = fallback.light_work()
        light.__enter__()
        done = threading.Event()
        out: list = []

        def heavy() -> None:
            out.append(preview(plan, limit=5, stats=False).variations["body"].to_list())
            done.set()

        worker = threading.Thread(target=heavy)
        worker.start()
        assert not done.wait(0.3)  # held back while the light preview runs (its deadline is 30 s away)
        light.__exit__(None, None, None)
        worker.join(10)
        assert out == [["TentTent", "ShoeShoe", "CupCup"]]
    assert fallback._LIGHT[0] == 0
