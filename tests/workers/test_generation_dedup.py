"""Keep-first dedup per chunk: the chunks of a run mark exactly the duplicates the whole run marks."""

from __future__ import annotations

import polars as pl
import pyarrow as pa
import pytest

from engine.generation import build_plan
from workers import generation

ROWS = 1_000


def _frame() -> pl.DataFrame:
    # few distinct names, so keys repeat across every chunk; some rows too long for a title (dropped,
    # never a duplicate nor a reason for a later one to be), some cities missing
    names = [("Lamp", "Desk", "Chair", "Sofa", "Rug")[i % 5] if i % 97 else "x" * 400 for i in range(ROWS)]
    return pl.DataFrame({"product_name": names, "city": [None if i % 7 == 0 else f"C{i % 3}" for i in range(ROWS)],
                         "n": [i % 11 for i in range(ROWS)]})


CONFIG = {
    "platform": "reddit", "format": "thread",
    "templates": {"subreddit": "deals", "title": "{{ product_name }} in {{ city | default('') }}",
                  "body": "Row {{ n }}"},
    "variation_sources": {"angle": ["a", "b", "a"]},
    "dedup_fields": ["title"],
}


def _whole(plan) -> pa.Table:  # type: ignore[no-untyped-def]
    return plan.query(plan.compiled.ledger_sql())


def _columns(t: pa.Table) -> dict[str, list[object]]:
    return {c: t.column(c).to_pylist() for c in ("__row", "__variation", "title", "__dropped", "__duplicate")}


@pytest.mark.parametrize("chunk", [64, 250, 333, 1_000])
@pytest.mark.parametrize("cached", [False, True])
def test_chunks_mark_exactly_the_duplicates_of_the_whole_run(chunk, cached):
    frame = _frame()
    table = generation._prepared(frame) if cached else frame  # the worker's kept source, or a plain plan
    with build_plan(table, CONFIG) as plan:
        whole = _whole(plan)
        parts = [generation.chunk_ledger(plan, s, min(ROWS, s + chunk), piece=chunk) for s in range(0, ROWS, chunk)]
    got = pa.concat_tables(parts)
    assert sum(whole.column("__duplicate").to_pylist()) > ROWS  # most variations repeat an earlier one
    assert any(whole.column("__dropped").to_pylist())
    assert _columns(got) == _columns(whole)


def test_a_chunk_run_out_of_order_on_a_fresh_worker_still_sees_every_earlier_key():
    frame = _frame()
    with build_plan(generation._prepared(frame), CONFIG) as plan:
        whole = _whole(plan)
        last = generation.chunk_ledger(plan, 900, ROWS, piece=100)  # nothing of rows 0–899 rendered before
    expected = whole.filter(pa.compute.greater_equal(whole.column("__row"), 900))
    assert _columns(last) == _columns(expected)
    kept = [d for d, dropped in zip(last.column("__duplicate").to_pylist(), last.column("__dropped").to_pylist(),
                                    strict=True) if not dropped]
    assert kept and all(kept)  # every title of rows 900+ was already made by an earlier row
