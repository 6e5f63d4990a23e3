"""Keep-first dedup per chunk: the chunks of a run mark exactly the duplicates the whole run marks."""

from __future__ import annotations

import polars as pl
import pyarrow as pa
import pytest

from engine.generation import build_plan
from workers import chunk_ledger

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
    table = chunk_ledger.prepared(frame) if cached else frame  # the worker's kept source, or a plain plan
    with build_plan(table, CONFIG) as plan:
        whole = _whole(plan)
        parts = [chunk_ledger.chunk_ledger(plan, s, min(ROWS, s + chunk), piece=chunk) for s in range(0, ROWS, chunk)]
    got = pa.concat_tables(parts)
    assert sum(whole.column("__duplicate").to_pylist()) > ROWS  # most variations repeat an earlier one
    assert any(whole.column("__dropped").to_pylist())
    assert _columns(got) == _columns(whole)


def test_a_chunk_run_out_of_order_on_a_fresh_worker_still_sees_every_earlier_key():
    frame = _frame()
    with build_plan(chunk_ledger.prepared(frame), CONFIG) as plan:
        whole = _whole(plan)
        last = chunk_ledger.chunk_ledger(plan, 900, ROWS, piece=100)  # nothing of rows 0–899 rendered before
    expected = whole.filter(pa.compute.greater_equal(whole.column("__row"), 900))
    assert _columns(last) == _columns(expected)
    kept = [d for d, dropped in zip(last.column("__duplicate").to_pylist(), last.column("__dropped").to_pylist(),
                                    strict=True) if not dropped]
    assert kept and all(kept)  # every title of rows 900+ was already made by an earlier row


def _fallback_config(fallback: str) -> dict[str, object]:
    """Titles over Reddit's 300 characters get a fallback rendered row by row (a per-plan SQL function)."""
    return {**CONFIG, "constraint_strategy": "fallback", "fallbacks": {"title": fallback}}


def test_each_earlier_piece_is_rendered_once_though_every_chunk_builds_its_own_plan(monkeypatch):
    """A worker builds a plan per chunk; its per-row functions get a new name each time, which must not make
    every chunk render the keys of all earlier rows again (a run's work would grow with the square of its chunks)."""
    from engine.generation.plan import Plan

    rendered: list[str] = []
    query = Plan.query

    def counting(self, sql, *args, **kwargs):  # type: ignore[no-untyped-def]
        if sql == chunk_ledger._keys_sql(self):
            rendered.append(sql)
        return query(self, sql, *args, **kwargs)

    monkeypatch.setattr(Plan, "query", counting)
    source, config = chunk_ledger.prepared(_frame()), _fallback_config("{{ product_name | reverse | truncate(30) }}")
    names = set()
    for start in range(0, ROWS, 100):
        with build_plan(source, config) as plan:
            names.add(chunk_ledger._keys_sql(plan))
            chunk_ledger.chunk_ledger(plan, start, start + 100, piece=100)
    assert len(names) == ROWS // 100 and "__dotoro_" in next(iter(names))  # each plan names its functions anew
    assert rendered == []  # every earlier piece's keys were kept by the chunk that rendered it


def test_sets_differing_only_in_a_fallback_never_share_dedup_keys():
    """Two sets on one data set whose plans differ only in what a per-row function renders: the keys one
    set's chunks kept must not stand in for the other's."""
    source = chunk_ledger.prepared(_frame())
    for fallback in ("{{ product_name | reverse | truncate(3) }} {{ n }}",  # 11 different titles
                     "{{ product_name | reverse | truncate(3) }} {% if n > 100 %}{{ n }}{% endif %}"):  # one
        config = _fallback_config(fallback)
        with build_plan(source, config) as plan:
            whole = _whole(plan)
        parts = {}
        for start in reversed(range(0, ROWS, 250)):  # the last chunk first: earlier pieces come from the cache
            with build_plan(source, config) as plan:
                parts[start] = chunk_ledger.chunk_ledger(plan, start, start + 250, piece=250)
        assert _columns(pa.concat_tables([parts[k] for k in sorted(parts)])) == _columns(whole)
