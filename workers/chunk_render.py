"""Rendering a generation chunk: its rows in parts, each turned into store-ready records while the parts
before it are written (variation_store.Records runs the builds in a background thread).

Two things a worker keeps from one chunk to the next of a run:
- the plan (`plan_for`): compiling templates and rules, registering per-row functions and computing a
  set's aggregates cost ~60 ms per chunk, far more with aggregates over 1M rows;
- a look-ahead: once a chunk's last part is rendered, the background thread renders the first part of
  the run's lowest chunk still queued (`look_ahead`). When the worker's next job is that chunk (always
  with one worker; usually with several, since the worker that finishes first takes the queue's head),
  its first part is ready, so the database goes from one chunk's INSERT to the next chunk's COPY
  without waiting for a render. A guess that another worker took costs one part's render.
"""

from __future__ import annotations

import functools
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import select

from engine.generation import Plan, build_plan
from engine.generation.diff import KEY, attach_keys
from engine.generation.schema import ROW
from engine.generation.source import Source
from engine.platforms.ad_tree import DEDUP_FIGURE, duplicate_skeleton
from engine.templates.sql_values import quote_ident
from studio.context import Context
from studio.store.campaign_models import GenerationChunk
from studio.store.session import Store
from workers.chunk_ledger import chunk_ledger
from workers.variation_store import Records, built

PART_ROWS = 25_000
"""Rows a chunk renders at a time (the chunk's size divided evenly): the next part renders while this one is
written."""
LOOK_AHEAD = True
"""Render the first part of the next chunk ahead (workers/worker.py turns it off with --fork: a job's child
process ends with its job)."""


def part_rows(chunk_rows: int) -> int:
    """The rows of a part of a chunk of `chunk_rows`: a divisor of it, so every chunk of a run splits at the same
    row numbers and dedup finds the keys of earlier parts under the same pieces (workers/chunk_ledger.py)."""
    parts = max(1, round(chunk_rows / PART_ROWS))
    while chunk_rows % parts:
        parts -= 1
    return chunk_rows // parts


class Rendered:
    """A chunk's rows [start, end) rendered part by part, each a build for variation_store.Records, with the
    figures of the parts built so far and the seconds they took (`stages`: render, records)."""

    def __init__(self, plan: Plan, start: int, end: int, chunk_rows: int, set_id: uuid.UUID,
                 keys: pl.Series | None) -> None:
        self.plan, self.start, self.end, self.chunk_rows, self.set_id, self.keys = plan, start, end, chunk_rows, set_id, keys
        self.step = part_rows(max(1, chunk_rows))
        self.figures: dict[str, Any] = {}
        self.stages: dict[str, float] = {}
        self.ready: Future[Any] | None = None  # the first part, built (look_ahead) while the chunk before was written
        self._con = _duckdb()

    def builds(self) -> list[Callable[[], pa.Table]]:
        # an empty chunk (a data set without rows) is one empty part: its figures are still recorded
        ranges = [(a, min(self.end, a + self.step)) for a in range(self.start, max(self.end, self.start + 1), self.step)]
        return [functools.partial(self.part, a, b) for a, b in ranges[1 if self.ready is not None else 0:]]

    def records(self, *, csv: bool) -> Records:
        return Records(self.builds(), csv=csv, ready=self.ready)

    def part(self, a: int, b: int) -> pa.Table:
        mark = time.perf_counter()
        try:
            ledger = chunk_ledger(self.plan, a, b, piece=self.step)
            self.figures = add_figures(self.figures, {**ledger_figures(ledger, b - a), **dedup_figures(ledger)})
            if self.keys is not None:
                ledger = attach_keys(ledger, self.keys)
            rendered = time.perf_counter()
            out = records_of(ledger.filter(kept(ledger)), self.set_id, self._con)
        except Exception as exc:
            raise RenderFailed() from exc
        self.stages["render"] = self.stages.get("render", 0.0) + rendered - mark
        self.stages["records"] = self.stages.get("records", 0.0) + time.perf_counter() - rendered
        return out


class RenderFailed(Exception):
    """A part of the chunk could not be rendered (its cause says why)."""


_lock = threading.Lock()
_duck: tuple[int, duckdb.DuckDBPyConnection] | None = None


def _duckdb() -> duckdb.DuckDBPyConnection:
    """The DuckDB instance that turns this process's parts into records (records_of takes a cursor per part).
    One per process, not per chunk: starting an instance and its thread pool cost ~35 ms per chunk."""
    global _duck
    with _lock:
        if _duck is None or _duck[0] != os.getpid():  # a forked job's child starts its own
            _duck = (os.getpid(), duckdb.connect(config={"enable_external_access": False}))
        return _duck[1]


_plan: tuple[Source, str, Plan] | None = None
_ahead: tuple[uuid.UUID, Future[Any]] | None = None


def plan_for(source: Source, config: Mapping[str, Any]) -> Plan:
    """The plan of `config` over `source`, kept for the next chunk of the same set and version (one per
    process: it holds its data set while kept)."""
    global _plan
    key = json.dumps(config, sort_keys=True, default=str)
    with _lock:
        if _plan is not None and _plan[0] is source and _plan[1] == key:
            return _plan[2]
        old, _plan = _plan, None
    if old is not None:
        _drain()  # a look-ahead may still render with it
        old[2].close()
    plan = build_plan(source, config)
    with _lock:
        _plan = (source, key, plan)
    return plan


def look_ahead(records: Records, store: Store, ctx: Context, run_id: uuid.UUID, index: int, rendered: Rendered) -> None:
    """Once the chunk's parts are built, build the first part of the run's lowest chunk still queued (see the
    module's docstring); `take_ahead` hands it to the job of that chunk. Parts are built as Postgres takes
    them (with their CSV): the embedded store's jobs do not look ahead."""
    global _ahead
    if not LOOK_AHEAD:
        return

    def ahead() -> Rendered | None:
        with store.session_scope(ctx) as s:
            nxt = s.execute(select(GenerationChunk.row_start, GenerationChunk.row_end)
                            .where(GenerationChunk.run_id == run_id, GenerationChunk.status == "queued",
                                   GenerationChunk.index != index)
                            .order_by(GenerationChunk.index).limit(1)).first()
        if nxt is None:
            return None
        out = Rendered(rendered.plan, nxt.row_start, nxt.row_end, rendered.chunk_rows, rendered.set_id, rendered.keys)
        ready: Future[Any] = Future()
        try:
            ready.set_result(built(out.builds()[0], csv=True))
        except Exception as exc:  # noqa: BLE001 — the chunk's own job meets it again and reports it
            ready.set_exception(exc)
        out.ready = ready
        return out

    future = records.after(ahead)
    with _lock:
        _ahead = (run_id, future)


def take_ahead(run_id: uuid.UUID, plan: Plan, start: int, end: int) -> Rendered | None:
    """The chunk rendered ahead for this one, if the guess was right (it waits for a look-ahead still rendering:
    at most one part). None otherwise: the chunk renders from its first part."""
    slot = _drain()
    if slot is None or slot[1] is None:
        return None
    found = slot[1]
    same = slot[0] == run_id and found.plan is plan and (found.start, found.end) == (start, end)
    return found if same and found.ready is not None and found.ready.exception() is None else None


def _drain() -> tuple[uuid.UUID, Rendered | None] | None:
    """Empty the look-ahead slot: (run, what it rendered), waiting for it if it still renders."""
    global _ahead
    with _lock:
        slot, _ahead = _ahead, None
    if slot is None:
        return None
    try:
        return slot[0], slot[1].result()
    except Exception:  # noqa: BLE001 — a failed guess is only a lost head start
        return slot[0], None


def kept(ledger: pa.Table) -> pa.Array:
    """The variations a run stores: neither over a limit nor a duplicate."""
    return pc.and_(pc.invert(ledger.column("__dropped")), pc.invert(ledger.column("__duplicate")))


def ledger_figures(ledger: pa.Table, rows: int) -> dict[str, Any]:
    """The figures of a chunk, counted from its variations (the preview's PreviewStats.figures, per chunk)."""
    kept_ = kept(ledger)
    fields = [n.removeprefix("__why_") for n in ledger.column_names if n.startswith("__why_")]

    def count(mask: pa.Array) -> int:
        return int(pc.sum(pc.cast(mask, pa.int64())).as_py() or 0)

    def has(name: str) -> pa.Array:
        return pc.is_valid(ledger.column(name))

    per: dict[str, dict[str, int]] = {"violations": {}, "fixed": {}, "problems": {}}
    for f in fields:
        why, left = has(f"__why_{f}"), has(f"__left_{f}")
        per["violations"][f] = count(why)
        per["fixed"][f] = count(pc.and_(pc.and_(why, pc.invert(left)), kept_))
        per["problems"][f] = count(left)
    distinct_rows = len(pc.unique(ledger.column(ROW))) if ledger.num_rows else 0
    inline = {f"inline_{name.removeprefix('__il_')}": int(pc.sum(ledger.column(name)).as_py() or 0)
              for name in ("__il_possible", "__il_duplicates", "__il_capped") if name in ledger.column_names}
    return {**inline, "rows": rows, "skipped": rows - distinct_rows, "variations": ledger.num_rows,
            "over_limit": count(ledger.column("__dropped")), "duplicates": count(ledger.column("__duplicate")),
            "kept": count(kept_), "valid": count(pc.and_(kept_, pc.is_null(ledger.column("__violations")))), **per}


def dedup_figures(ledger: pa.Table) -> dict[str, Any]:
    """A paid set's ads that dedup removed are not stored, but their ad groups stay: the run records their
    skeleton (campaign, ad group, keywords → how many; engine/platforms/ad_tree.py), none when nothing was removed."""
    if "ad_group_name" not in ledger.column_names or not ledger.num_rows:
        return {}
    removed = ledger.filter(pc.and_(pc.invert(ledger.column("__dropped")), ledger.column("__duplicate")))
    if not removed.num_rows:
        return {}
    names = [n for n in ("campaign_name", "ad_group_name", "keywords") if n in ledger.column_names]
    return {DEDUP_FIGURE: duplicate_skeleton(removed.select(names).to_pylist())}


def add_figures(total: dict[str, Any] | None, part: dict[str, Any]) -> dict[str, Any]:
    """Run figures plus a chunk's (numbers add; per-field maps add field by field)."""
    out: dict[str, Any] = dict(total or {})
    for key, value in part.items():
        if isinstance(value, dict):
            into = dict(out.get(key) or {})
            for name, n in value.items():
                into[name] = int(into.get(name, 0)) + int(n)
            out[key] = into
        else:
            out[key] = int(out.get(key, 0)) + int(value)
    return out

def key_frame(source: Source, key_column: str) -> pl.DataFrame:
    """The key column of a prepared source (all its rows; an empty frame of that height without it)."""
    if key_column in source.table.column_names:
        return pl.from_arrow(source.table.select([key_column]))  # type: ignore[return-value]
    return pl.DataFrame({ROW: source.table.column(ROW)})

def records_of(produced: pa.Table, set_id: uuid.UUID, con: Any = None) -> pa.Table:
    """Store-ready columns, computed in DuckDB over Arrow (no per-row Python): ids, JSON, hashes.

    `con`: a DuckDB connection to take a cursor of (the parts of one chunk share one database instance
    and its thread pool instead of starting one each); a private one without it."""
    import duckdb

    names = [n for n in produced.column_names if not n.startswith("__")]
    fields = ("to_json(struct_pack(" + ", ".join(f"{quote_ident(n)} := coalesce(CAST({quote_ident(n)} AS VARCHAR), '')" for n in names)
              + "))" if names else "'{}'")
    content = [n for n in names if n not in ("campaign_name", "ad_group_name", "ad_name", "keywords")] or names
    title_src = next((n for n in ("title", "headline", "headline_1", "primary_text", "text", "caption") if n in names),
                     content[0] if content else None)  # an RSA's title is its first headline, not its campaign's name
    title = f"coalesce(CAST({quote_ident(title_src)} AS VARCHAR), '')" if title_src else "''"
    sub_parts = [f'"{c}"' for c in ("subreddit", "__target_subreddit") if c in produced.column_names]
    subreddit = f"coalesce({', '.join(sub_parts)}, '')" if sub_parts else "''"
    violations = '"__violations"' if "__violations" in produced.column_names else "CAST(NULL AS VARCHAR)"
    fixes = '"__fixes"' if "__fixes" in produced.column_names else "CAST(NULL AS VARCHAR)"
    keyed = KEY in produced.column_names
    h = (f"md5('{set_id}:k:' || \"{KEY}\" || ':' || \"__variation\")" if keyed
         else f"md5('{set_id}:' || \"__row\" || ':' || \"__variation\")")
    row_key = f'"{KEY}"' if keyed else "CAST(NULL AS VARCHAR)"
    uid = (f"substr({h},1,8)||'-'||substr({h},9,4)||'-'||substr({h},13,4)||'-'||substr({h},17,4)||'-'||substr({h},21,12)")
    labels = {k: (f"CAST(to_json(coalesce(\"__{k}\", CAST([] AS VARCHAR[]))) AS VARCHAR)"
                  if f"__{k}" in produced.column_names else "'[]'") for k in ("tags", "groups")}
    sql = (f"SELECT {uid} AS id, \"__row\" AS row_index, \"__variation\" AS variation_index, {fields} AS fields, "
           f"substr({title}, 1, 1000) AS title, substr({subreddit}, 1, 64) AS subreddit, "
           f"({violations} IS NULL) AS valid, concat_ws('; ', {violations}, {fixes}) AS problems, "
           f"{labels['tags']} AS tags, {labels['groups']} AS groups, {row_key} AS row_key FROM produced")
    con = duckdb.connect(config={"enable_external_access": False}) if con is None else con.cursor()
    try:
        con.register("produced", produced)
        out = con.sql(f"SELECT *, md5(CAST(fields AS VARCHAR)) AS content_hash FROM ({sql})").to_arrow_table()
    finally:
        con.close()
    return out.cast(pa.schema([pa.field("id", pa.string()), pa.field("row_index", pa.int64()),
                               pa.field("variation_index", pa.int64()), pa.field("fields", pa.string()),
                               pa.field("title", pa.string()), pa.field("subreddit", pa.string()),
                               pa.field("valid", pa.bool_()), pa.field("problems", pa.string()),
                               pa.field("tags", pa.string()), pa.field("groups", pa.string()),
                               pa.field("row_key", pa.string()), pa.field("content_hash", pa.string())]))

