"""The live preview: the first variations and whole-data-set figures for a configuration."""

from __future__ import annotations

import hashlib
import json
import math
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import duckdb

from engine.budgets import MAX_VARIATIONS_PER_ROW, over_budget
from engine.generation import Preview, Source, build_plan, connect, prepare_source, preview
from engine.generation.preview import PreviewStats, structure_of
from engine.generation.structure import Structure
from engine.platforms import FieldSpec, get_format, list_formats
from studio import datasets, word_lists
from studio.context import Context, Permission
from studio.errors import ValidationFailed
from studio.permissions import requires
from studio.store.session import Store


@dataclass(frozen=True)
class PreviewResult:
    preview: Preview
    sql: str
    fallback_fields: dict[str, str]
    structure: Structure | None = None  # campaigns → ad groups → ads of a paid format (counts, first branches)


def format_choices() -> dict[str, str]:
    """"platform/format" → label, for pickers."""
    return {f.key: f"{f.label}" for f in list_formats()}


def format_fields(key: str) -> list[FieldSpec]:
    """The fields of a format ("platform/name")."""
    platform, name = key.split("/", 1)
    return list(get_format(platform, name).fields)


class PreviewCache:
    """Per-process: prepared data sets, by workspace, data set and version (a re-render skips the load).

    Held by the UI with st.cache_resource; every key carries the workspace, and every use first
    re-checks the caller's access through the store, so a cached table never crosses tenants.
    """

    def __init__(self, max_sources: int = 8, max_stats: int = 64) -> None:
        self._sources: OrderedDict[tuple[str, str, int], Source] = OrderedDict()
        # Whole-data-set figures by (workspace, data set, version, configuration): ~80 ms at 100k rows, and
        # a rerun that changes nothing they depend on (a picker elsewhere, a card page) need not pay it again.
        self._stats: OrderedDict[tuple[str, str, int, str], PreviewStats] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_sources
        self._max_stats = max_stats
        self._connection: duckdb.DuckDBPyConnection | None = None

    def connection(self) -> duckdb.DuckDBPyConnection:
        """One DuckDB database for every preview (opening one costs ~20 ms, more than a preview's query);
        plans work on their own cursors of it and name their functions apart."""
        with self._lock:
            if self._connection is None:
                self._connection = connect()
            return self._connection

    def source(self, store: Store, ctx: Context, dataset_id: uuid.UUID) -> Source:
        return self.prepared(store, ctx, dataset_id)[0]

    def prepared(self, store: Store, ctx: Context, dataset_id: uuid.UUID) -> tuple[Source, int]:
        """The prepared current version of a data set, and its version number."""
        version = datasets.get_dataset(store, ctx, dataset_id).summary.version  # checks access every time
        key = (str(ctx.workspace_id), str(dataset_id), version)
        with self._lock:
            hit = self._sources.get(key)
            if hit is not None:
                self._sources.move_to_end(key)
                return hit, version
        prepared = prepare_source(datasets.load_table(store, ctx, dataset_id, version=version))
        with self._lock:
            self._sources[key] = prepared
            while len(self._sources) > self._max:
                self._sources.popitem(last=False)
        return prepared, version

    @staticmethod
    def stats_key(ctx: Context, dataset_id: uuid.UUID, version: int, config: dict[str, Any]) -> tuple[str, str, int, str]:
        """The figures depend on the data (workspace, data set, version) and the whole configuration. The
        configuration, not the compiled SQL, is the key: per-row fallback functions get a new name per plan."""
        canonical = json.dumps(config, sort_keys=True, default=str, separators=(",", ":"))
        return str(ctx.workspace_id), str(dataset_id), version, hashlib.sha256(canonical.encode()).hexdigest()

    def stats(self, key: tuple[str, str, int, str]) -> PreviewStats | None:
        with self._lock:
            hit = self._stats.get(key)
            if hit is not None:
                self._stats.move_to_end(key)
            return hit

    def remember_stats(self, key: tuple[str, str, int, str], stats: PreviewStats) -> None:
        with self._lock:
            self._stats[key] = stats
            while len(self._stats) > self._max_stats:
                self._stats.popitem(last=False)


@requires(Permission.VIEW)
def run_preview(store: Store, ctx: Context, dataset_id: uuid.UUID, config: dict[str, Any], *, limit: int = 20,
                cache: PreviewCache | None = None) -> PreviewResult:
    """Render the first `limit` variations and the figures of the whole data set (viewers may preview)."""
    table: Any
    stats_key = None
    with store.session_scope(ctx) as s:  # the workspace's word list, as a generation run will apply it
        config = word_lists.in_config(s, config)
    if cache:
        table, version = cache.prepared(store, ctx, dataset_id)
        stats_key = cache.stats_key(ctx, dataset_id, version, config)
    else:
        table = datasets.load_table(store, ctx, dataset_id)
    known = cache.stats(stats_key) if cache and stats_key else None
    try:
        with build_plan(table, config, connection=cache.connection() if cache else None) as plan:
            # figures already computed for this version and configuration are reused (their budget check passed)
            result = preview(plan, limit=limit, trace=True, stats=known is None)
            if known is not None:
                result = Preview(result.variations, known)
            elif cache and stats_key and result.stats is not None:
                cache.remember_stats(stats_key, result.stats)
            out = PreviewResult(result, plan.explain(), plan.fallback_fields, structure_of(plan))
        _meter(store, ctx)
        return out
    except ValidationFailed:
        raise
    except Exception as exc:
        from engine.errors import EngineError

        if isinstance(exc, EngineError):
            raise
        raise ValidationFailed(f"The preview failed: {exc}") from exc


def parse_variation_sources(text: str) -> dict[str, list[str]] | str:
    """"name: a | b" lines → {name: [a, b]}; a message naming the line when one is malformed."""
    sources: dict[str, list[str]] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        name, sep, values = line.partition(":")
        name = name.strip()
        items = [v.strip() for v in values.split("|") if v.strip()]
        if not sep or not name.isidentifier() or name.startswith("_") or not items:
            return (f"Variation sources, line {number}: write `name: value one | value two` "
                    f"(the name a single word like `cta`), got {line!r}.")
        if name in sources:
            return f"Variation sources, line {number}: {name!r} is defined twice."
        bad = next((c for c in line if c == "\x00" or "\ud800" <= c <= "\udfff"), None)
        if bad is not None:  # UTF-8 (DuckDB, Postgres, Reddit) cannot carry a lone surrogate; no title may hold NUL
            what = "a NUL character (\\0)" if bad == "\x00" else f"a lone surrogate (U+{ord(bad):04X})"
            return (f"Variation sources, line {number}: {name!r} holds {what}, which no title or body may hold; "
                    "delete it and type the value again.")
        sources[name] = items
    count = math.prod(len(v) for v in sources.values())  # a product of counts: nothing is expanded to check it
    if count > MAX_VARIATIONS_PER_ROW:
        return over_budget("Variation sources", count, MAX_VARIATIONS_PER_ROW, "variations per row",
                           "Use fewer sources or fewer values.")
    return sources


def _meter(store: Store, ctx: Context) -> None:
    """Count one preview call for the workspace's usage (recorded, never blocking a preview)."""
    from studio.billing import Metric, record_usage
    from studio.store.base import new_id

    with store.session_scope(Context.job(ctx.workspace_id) if ctx.workspace_id else ctx) as s:
        record_usage(s, Metric.API_CALLS, 1, f"preview:{new_id()}")
