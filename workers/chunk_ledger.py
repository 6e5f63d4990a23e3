"""A chunk's ledger: every variation of its rows, with keep-first dedup across the chunks of a run.

Keep-first dedup needs the keys of earlier rows. A worker keeps the prepared data set of the versions it
works on (`prepared`) and, with each, the dedup keys of the pieces of rows it rendered, so each earlier
piece is rendered at most once per process instead of once per later chunk.
"""

from __future__ import annotations

import re
import weakref

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from engine.generation import Plan
from engine.generation.schema import ROW
from engine.generation.source import Source, prepare_source
from engine.templates.sql_values import quote_ident


def chunk_ledger(plan: Plan, start: int, end: int, *, piece: int | None = None) -> pa.Table:
    """Every variation of rows [start, end), generated or not (see CompiledPlan.ledger_sql).

    Keep-first dedup needs the keys of earlier rows only: a variation is a duplicate when an earlier
    one in the chunk or any kept variation of rows [0, start) has its key. Those keys are computed per
    `piece` of rows (the run's chunk size) and kept with the data set in this process, so a worker
    renders each earlier piece at most once instead of the whole prefix for every chunk.
    """
    ledger = plan.query(plan.compiled.ledger_sql(), plan.source.table.slice(start, end - start))
    if not plan.config.dedup_fields:
        return ledger
    keys = list(plan.config.dedup_fields)
    step = max(1, piece or (end - start))
    earlier = [_piece_keys(plan, a, min(a + step, start)) for a in range(0, start, step)]
    _remember_keys(plan, start, end, _distinct_keys(ledger, keys))
    if not earlier or not ledger.num_rows:
        return ledger
    schema = ledger.select(keys).schema
    return _mark_seen(ledger, pa.concat_tables([t.cast(schema) for t in earlier]), keys)


def _keys_key(plan: Plan) -> str:
    """What the dedup keys of a piece depend on besides the data set: the keys query and the config.

    The query names this plan's per-row functions with a prefix unique to the plan (fallback.next_udf_prefix),
    so each chunk's plan writes it differently; with the prefix left out and the config (which says what those
    functions do) added, every chunk of a run finds the pieces the chunks before it rendered."""
    return re.sub(r"__dotoro_\d+_", "__dotoro_", _keys_sql(plan)) + "\n-- " + repr(plan.config)


def _keys_sql(plan: Plan) -> str:
    by_name = {c.name: c for c in plan.compiled.columns}
    cols = ", ".join(f"{by_name[n].final()} AS {quote_ident(n)}" for n in plan.config.dedup_fields)
    return f"{plan.compiled.with_clause('__resolved')}\nSELECT DISTINCT {cols} FROM \"__resolved\" WHERE NOT \"__dropped\""


def _distinct_keys(ledger: pa.Table, keys: list[str]) -> pa.Table:
    import duckdb

    con = duckdb.connect(config={"enable_external_access": False})
    try:
        con.register("ledger", ledger)
        cols = ", ".join(quote_ident(k) for k in keys)
        return con.sql(f'SELECT DISTINCT {cols} FROM ledger WHERE NOT "__dropped"').to_arrow_table()
    finally:
        con.close()


_KEYS_BYTES = 256 * 2**20
"""Dedup keys of earlier pieces a process keeps per data set version (beyond it they are rendered again)."""


def _key_cache(plan: Plan) -> dict[tuple[str, int, int], pa.Table]:
    for _, source, cache in _sources:
        if source is plan.source:
            return cache
    return {}  # a source this process does not keep (a test's plan): nothing to remember across chunks


def _remember_keys(plan: Plan, start: int, end: int, keys: pa.Table) -> None:
    cache = _key_cache(plan)
    cache[(_keys_key(plan), start, end)] = keys
    while len(cache) > 1 and sum(t.nbytes for t in cache.values()) > _KEYS_BYTES:
        cache.pop(next(iter(cache)))


def _piece_keys(plan: Plan, start: int, end: int) -> pa.Table:
    cache = _key_cache(plan)
    found = cache.get((_keys_key(plan), start, end))
    if found is None:
        found = plan.query(_keys_sql(plan), plan.source.table.slice(start, end - start))
        _remember_keys(plan, start, end, found)
    return found


def _mark_seen(ledger: pa.Table, earlier: pa.Table, keys: list[str]) -> pa.Table:
    """`__duplicate` also where a kept variation's key is among `earlier` (NULL matches NULL, as in the
    window's PARTITION BY)."""
    import duckdb

    on = " AND ".join(f"l.{quote_ident(k)} IS NOT DISTINCT FROM e.{quote_ident(k)}" for k in keys)
    cols = ", ".join(quote_ident(k) for k in keys)
    con = duckdb.connect(config={"enable_external_access": False})
    try:
        con.register("ledger", ledger)
        con.register("earlier", earlier)
        seen = con.sql(
            f"SELECT DISTINCT l.\"__row\", l.\"__variation\" FROM (SELECT \"__row\", \"__variation\", {cols} FROM ledger "
            f"WHERE NOT \"__dropped\") l JOIN earlier e ON {on}").to_arrow_table()
    finally:
        con.close()
    if not seen.num_rows:
        return ledger
    # (row, variation) as one number: MAX_VARIATIONS_PER_ROW is far below 2**20
    pair = pc.add(pc.multiply(pc.cast(ledger.column(ROW), pa.int64()), 1 << 20),
                  pc.cast(ledger.column("__variation"), pa.int64()))
    hits = pc.add(pc.multiply(pc.cast(seen.column(ROW), pa.int64()), 1 << 20),
                  pc.cast(seen.column("__variation"), pa.int64()))
    flag = pc.or_(ledger.column("__duplicate"), pc.is_in(pair, value_set=hits))
    return ledger.set_column(ledger.column_names.index("__duplicate"), "__duplicate", flag)


_sources: list[tuple[weakref.ref[pl.DataFrame], Source, dict[tuple[str, int, int], pa.Table]]] = []


def prepared(frame: pl.DataFrame) -> Source:
    """The frame indexed for plans, once per frame this process keeps (see datasets.load_table's `keep`):
    the next chunk of the same version reuses it and only slices its own rows. Held while the frame
    is (weakly), so the store's memory bound is this one's too."""
    for kept, source, _ in _sources:
        if kept() is frame:
            return source
    source = prepare_source(frame)
    _sources[:] = [e for e in [(weakref.ref(frame), source, {}), *_sources] if e[0]() is not None][:2]
    return source
