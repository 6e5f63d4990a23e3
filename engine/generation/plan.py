"""A compiled generation plan: one DuckDB query that preview, stats, bulk and keywords all run."""

from __future__ import annotations

import contextlib
import queue
import threading
import time
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Self

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from engine.budgets import MAX_RUN_VARIATIONS, over_budget
from engine.errors import EngineError
from engine.generation.aggregates import with_aggregates
from engine.generation.compiled_plan import CompiledPlan
from engine.generation.compiler import compile_plan
from engine.generation.config import GenerationConfig
from engine.generation.fallback import RowUDF, next_udf_prefix
from engine.generation.rules_stage import SOURCE, build_rules_stage
from engine.generation.schema import ROW
from engine.generation.source import Source, column_facts, prepare_source
from engine.platforms import get_count_method
from engine.platforms.counting import register_sql_functions
from engine.templates.sandbox import preview_note as deadline_note
from engine.templates.sql_facts import text_facts
from engine.templates.sql_guards import sql_refusal

__all__ = ["Plan", "build_plan", "connect"]

SMALL_QUERY_ROWS = 4096
"""Preview prefixes up to this many rows run on a database tuned for small inputs (see `_small_queries`)."""
RULES_MEMO_ROWS = 65_536
"""The rules' output for a preview prefix up to this many rows is kept with the source (see `Plan.head`)."""
_KEEP_OPTIMIZERS = {"cte_inlining", "materialized_cte"}
_POOL: queue.SimpleQueue[duckdb.DuckDBPyConnection] = queue.SimpleQueue()


def connect(*, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection for plans: in memory, no file system or network access."""
    config: dict[str, Any] = {"enable_external_access": False, "autoinstall_known_extensions": False,
                              "autoload_known_extensions": False}
    if threads is not None:
        config["threads"] = threads
    con = duckdb.connect(config=config)
    register_sql_functions(con)  # counting methods whose SQL calls Python (X's weighted length)
    return con


@contextmanager
def _small_queries() -> Iterator[duckdb.DuckDBPyConnection]:
    """A pooled database for preview-sized queries: one thread and no optimizer passes.

    A preview runs a large, freshly edited query over a few hundred rows: planning it costs
    more than running it, and most of the planning is optimizing (about 3 of 10 ms) for data
    too small to gain from it. Those settings are database-wide, hence a database of its own.
    """
    try:
        con = _POOL.get_nowait()
    except queue.Empty:
        con = connect(threads=1)
        names = [r[0] for r in con.execute("SELECT name FROM duckdb_optimizers()").fetchall()]
        off = ",".join(n for n in names if n not in _KEEP_OPTIMIZERS)
        con.execute(f"SET disabled_optimizers = '{off}'")
    try:
        yield con
    finally:
        _POOL.put(con)


@contextmanager
def _interrupted_at(cur: duckdb.DuckDBPyConnection, deadline: float | None) -> Iterator[None]:
    """Interrupt the cursor's query from `deadline` on (a preview's PREVIEW_SECONDS), until it ends.

    DuckDB notices an interrupt between two chunks of work, and one sent before the query starts
    is lost, so it is sent again every 50 ms. Per-row renders stop themselves (RowUDF.deadline).
    """
    if deadline is None:
        yield
        return
    if time.monotonic() >= deadline:
        raise EngineError(deadline_note())
    done = threading.Event()

    def watch() -> None:
        if done.wait(max(0.0, deadline - time.monotonic())):
            return
        while not done.is_set():
            with contextlib.suppress(duckdb.Error):
                cur.interrupt()
            done.wait(0.05)

    watcher = threading.Thread(target=watch, name="dotoro-preview-deadline", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()


class Plan:
    """Data × rules × templates → variations, as one DuckDB query (see `explain`)."""

    def __init__(self, source: Source, compiled: CompiledPlan, connection: duckdb.DuckDBPyConnection,
                 *, owns_connection: bool) -> None:
        self.source = source
        self.compiled = compiled
        self.config = compiled.config
        self.format = compiled.fmt
        self._con = connection
        self._owns = owns_connection
        self._lock = threading.Lock()
        self._registered = False
        self._closed = False
        self.deadline: float | None = None  # time.monotonic() by which queries are interrupted (a preview's)

    # -- lifecycle ------------------------------------------------------------------------

    def close(self) -> None:
        """Drop this plan's UDFs (and its connection if it made one)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._owns:
                self._con.close()
            elif self._registered:
                for udf in self.compiled.udfs:
                    with contextlib.suppress(duckdb.Error):
                        self._con.remove_function(udf.name)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # interpreter shutdown may have torn duckdb down
            self.close()

    # -- facts ----------------------------------------------------------------------------

    @property
    def total_rows(self) -> int:
        """Rows in the data set."""
        return self.source.num_rows

    @property
    def output_columns(self) -> list[str]:
        """Generated column names (hierarchy names then fields), in output order."""
        return [c.name for c in self.compiled.columns]

    @property
    def fallback_fields(self) -> dict[str, str]:
        """Columns rendered per row by Jinja2, with the reason their template is outside the SQL subset."""
        return {c.name: c.fallback_reason for c in self.compiled.columns if c.fallback_reason}

    def explain(self) -> str:
        """The SQL of the bulk run, with a header naming each column's path (compiled or fallback)."""
        cfg = self.config
        header = (f"-- plan: {self.format.label} ({self.format.key}), constraint strategy: "
                  f"{cfg.constraint_strategy}, {cfg.variation_count} variation(s) per row"
                  + (f" × up to {cfg.max_inline_variations} inline [[a|b]] variation(s)" if cfg.inline else ""))
        lines = [header, f"-- source: {SOURCE} ({self.total_rows} rows, {ROW} = row index)"]
        for a in cfg.aggregates:  # computed once over every row before the plan (engine/generation/aggregates.py)
            lines.append(f"-- aggregate column {a.name} = {a.describe()} (a window over all rows, before the rules)")
        if self.compiled.rules.fallback_reason:
            lines.append(f"-- rules: applied per row in Python before the query ({self.compiled.rules.fallback_reason})")
        for c in self.compiled.columns:
            path = (f"per-row Jinja2 fallback via {c.value_sql.split('(')[0]}: {c.fallback_reason}"
                    if c.fallback_reason else "compiled to SQL")
            fix = f"; on violation: {c.fix_note}" if c.fix_note else ""
            lines.append(f"-- column {c.name}: {path}{fix}")
        if cfg.dedup_fields:
            lines.append(f"-- dedup (keep first) on: {', '.join(cfg.dedup_fields)}")
        return "\n".join(lines) + "\n" + self.compiled.bulk_sql()

    # -- execution ------------------------------------------------------------------------

    def _ensure_udfs(self) -> None:
        with self._lock:
            if self._closed:
                raise EngineError("this plan is closed; build a new one")
            if not self._registered:
                if self._counts_in_python():  # a connection from elsewhere than connect() lacks them
                    register_sql_functions(self._con)
                for udf in self.compiled.udfs:
                    udf.register(self._con)
                self._registered = True

    def _counts_in_python(self) -> bool:
        """Does a field count with a method whose SQL calls Python (X's weighted length)? Looking the UDFs up
        on the connection costs ~20 ms, a preview's whole budget for a template edit, so only then."""
        return any(get_count_method(c.spec.count).sql_functions for c in self.compiled.columns if c.spec is not None)

    @contextmanager
    def cursor(self, table: pa.Table | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor with the source (or a prefix of it) registered as "__source"."""
        self._ensure_udfs()
        rows = self.compiled.rules.registered(self.source.table if table is None else table, whole=table is None)
        cur = self._con.cursor()
        try:
            cur.register(SOURCE, rows)
            yield cur
        finally:
            cur.close()

    def _raise(self, exc: Exception) -> None:
        refusal = sql_refusal(exc)  # a template budget guard in the compiled SQL
        if refusal is not None:
            raise refusal from exc
        self._raise_udf_errors(exc)
        raise EngineError(f"generation failed: {str(exc).splitlines()[0]}") from exc

    def _raise_udf_errors(self, exc: Exception) -> None:
        for udf in self.compiled.udfs:
            if isinstance(udf, RowUDF) and udf.errors:
                raise udf.errors.pop() from exc

    def query(self, sql: str, table: pa.Table | None = None) -> pa.Table:
        """Run SQL against the source (or a prefix) and return all rows as Arrow (small results)."""
        with self.cursor(table) as cur:
            return self._fetch(cur, sql)

    def _fetch(self, cur: duckdb.DuckDBPyConnection, sql: str) -> pa.Table:
        try:
            # execute() binds the SQL once; a relation (cur.sql) binds it twice, which costs
            # more than the extra copy of a small result that duckdb warns about.
            with warnings.catch_warnings(), _interrupted_at(cur, self.deadline):
                warnings.filterwarnings("ignore", "Arrow output on a DB-API result", UserWarning)
                return cur.execute(sql).to_arrow_table()
        except duckdb.Error as exc:
            if isinstance(exc, duckdb.InterruptException) and self.deadline is not None:
                self._raise_udf_errors(exc)
                raise EngineError(deadline_note()) from exc
            self._raise(exc)
            raise

    def head(self, limit: int = 50, *, trace: bool = False) -> pa.Table:
        """The first `limit` kept variations, reading only as much of the data as they need
        (`trace`: with `__rules_fired`, see CompiledPlan.output_select).

        Keep-first dedup, rules and constraints depend only on earlier rows, so running the
        plan on a prefix gives exactly the bulk run's first rows; the prefix grows until it
        yields `limit` variations or covers the table.
        """
        total = self.total_rows
        per_row = max(1, self.config.variation_count)  # inline variations: unknown until rendered
        size = min(total, max(256, -(-4 * limit // per_row)))
        while True:
            got = self._head_of_prefix(limit, size, trace)
            if got.num_rows >= limit or size >= total:
                return got
            rate = max(got.num_rows, 1) / size
            size = min(total, max(size * 4, int(limit / rate * 1.5)))

    def _head_of_prefix(self, limit: int, size: int, trace: bool) -> pa.Table:
        """The first `limit` variations of the first `size` rows.

        A template edit leaves the rules alone, so their output for the prefix is kept with the
        source (keyed by their SQL) and the query starts after them: less SQL to plan per edit.
        """
        self._ensure_udfs()
        rules = self.compiled.rules
        if rules.prepared is not None or size > RULES_MEMO_ROWS:
            return self.query(self.compiled.head_sql(limit, trace=trace), self.source.prefix(size))
        ruled, facts = self.source.memo(("rules", rules.select_sql, size), lambda: self._rules_prefix(size))
        sql = self.compiled.head_after_rules_sql(limit, {**facts, **self._variation_facts()}, trace=trace)
        if size > SMALL_QUERY_ROWS or self.compiled.udfs:  # per-row UDFs live on the plan's connection
            with self._over_rules(self._con, ruled) as cur:
                return self._fetch(cur, sql)
        with _small_queries() as con, self._over_rules(con, ruled) as cur:
            return self._fetch(cur, sql)

    def _rules_prefix(self, size: int) -> tuple[pa.Table, dict[str, frozenset[str]]]:
        """The rules' output for the first `size` rows, and what its text columns hold (small prefixes)."""
        ruled = self.query(self.compiled.rules_sql(), self.source.prefix(size))
        facts = column_facts(ruled) if size <= SMALL_QUERY_ROWS else {}
        sql_names = {alias: name for name, alias in self.compiled.rules.aliases.items()}
        facts = {sql_names.get(name, name): f for name, f in facts.items()}  # templates name columns as the data does
        return ruled, facts

    def _variation_facts(self) -> dict[str, frozenset[str]]:
        sources = self.config.variation_sources
        return {name: text_facts(values) for name, values in sources.items()
                if all(isinstance(v, str) or v is None for v in values)}

    @staticmethod
    @contextmanager
    def _over_rules(con: duckdb.DuckDBPyConnection, ruled: pa.Table) -> Iterator[duckdb.DuckDBPyConnection]:
        cur = con.cursor()
        try:
            cur.register("__rules", ruled)
            yield cur
        finally:
            cur.close()

    def batches(self, batch_size: int = 50_000, *, trace: bool = False) -> Iterator[pa.RecordBatch]:
        """Every kept variation as Arrow record batches of `batch_size` rows, in (row, variation) order."""
        with self.cursor() as cur:
            try:
                reader = cur.sql(self.compiled.bulk_sql(trace=trace)).to_arrow_reader(batch_size)
                last = -1
                for batch in reader:
                    if batch.num_rows == 0:
                        continue
                    rows = batch.column(ROW)
                    first = rows[0].as_py()
                    ordered = batch.num_rows == 1 or pc.all(pc.greater_equal(rows[1:], rows[:-1])).as_py()
                    if first < last or not ordered:
                        raise EngineError("internal: bulk output lost its row order")
                    last = rows[-1].as_py()
                    yield batch
            except (duckdb.Error, pa.ArrowException) as exc:  # errors surface through the Arrow stream too
                self._raise(exc)
                raise

    def to_arrow(self, *, trace: bool = False) -> pa.Table:
        """Every kept variation as one Arrow table."""
        batches = list(self.batches(trace=trace))
        if batches:
            return pa.Table.from_batches(batches)
        return self.query(f"{self.compiled.bulk_sql(trace=trace)}\nLIMIT 0")

    def keywords(self) -> pa.Table:
        """Keyword rows of the keyword combinator (empty table if none is configured)."""
        if self.compiled.keyword_sql is None:
            return pa.table({"keyword": pa.array([], pa.string()), "match_type": pa.array([], pa.string())})
        return self.query(self.compiled.keyword_sql)


def build_plan(table: Any, config: GenerationConfig | Mapping[str, Any], *, lookups: Any = None,
               schema: Mapping[str, str] | None = None,
               connection: duckdb.DuckDBPyConnection | None = None) -> Plan:
    """Compile `config` over `table` into a Plan.

    `table` is a polars DataFrame, an Arrow table, an ingest result or a prepared Source
    (prepare it once per data set to keep previews fast). Pass a long-lived `connection`
    (from `connect()`) to avoid opening a DuckDB database per plan.
    """
    cfg = config if isinstance(config, GenerationConfig) else GenerationConfig.from_dict(config)
    # aggregates over every row become columns of the source: prefixes and chunks of it keep the whole-set figures
    source = with_aggregates(prepare_source(table, schema), cfg.aggregates, connection)
    variations = source.num_rows * max(1, cfg.variations_per_row)
    if variations > MAX_RUN_VARIATIONS:
        raise EngineError(over_budget("This run", variations, MAX_RUN_VARIATIONS, "variations (rows × variations "
                                      "per row)", "Use fewer variation source values, a lower maximum of inline "
                                      "variations or split the data set."))
    con = connection if connection is not None else connect()

    stage: list[Any] = []

    def describe(sql: str) -> dict[str, str]:
        cur = con.cursor()
        try:
            empty = source.prefix(0)
            cur.register(SOURCE, stage[0].registered(empty, whole=False) if stage else empty)
            rel = cur.sql(sql)
            return {name: str(t) for name, t in zip(rel.columns, rel.types, strict=True)}
        except duckdb.Error as exc:
            raise EngineError(f"could not compile the plan: {str(exc).splitlines()[0]}") from exc
        finally:
            cur.close()

    try:
        rules = build_rules_stage(cfg.rules, source.kinds, lookups=lookups)
        stage.append(rules)
        compiled = compile_plan(cfg, rules, udf_prefix=next_udf_prefix(), describe=describe)
    except BaseException:
        if connection is None:
            con.close()
        raise
    if connection is not None and any(isinstance(udf, RowUDF) for udf in compiled.udfs):
        # Per-row Python renders run inside DuckDB's worker threads and hold them while they wait for the GIL
        # (or the render slot): on a shared database they would queue every other session's queries behind
        # them. Such a plan gets a one-thread database of its own (~20 ms to open; its renders cost far more).
        return Plan(source, compiled, connect(threads=1), owns_connection=True)
    return Plan(source, compiled, con, owns_connection=connection is None)
