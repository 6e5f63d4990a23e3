"""Generation end to end (expand + persist) on Postgres + Redis with 1 and 2 RQ workers, against a
strict persist floor: COPY of the same generated rows, as CSV bytes, into an UNLOGGED copy of
`variations` with only its primary key (no RLS, no other index, no foreign key), timed in the same run,
and against our write path alone (the same rows through the worker's two statements, nothing rendered).
The workers are started first (their start is printed apart): a run is timed from its chunks being
enqueued (the click) to the set being ready.

Run: scripts/services.sh run .venv/bin/python bench/bench_generation.py --rows 100000 --profile
(1M rows: --rows 1000000; the data set is built with ../shared/data/make_products.py).
Absolute times move with the machine's load; compare the ratios printed by one run.
--profile: the stages of one warm chunk (run in this process, chunk 1 of a fresh set).
--page-variations N: time the variations page (count + first page) on a set of N variations.
Each worker count also prints the CPU seconds our workers and our Postgres used, what everything else
on the machine used meanwhile, and what the app's Postgres backends waited on (bench/machine.py):
on a shared 2-core machine that says whether more workers had cores left to use.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import CpuMeter, WaitSampler, process_seconds  # noqa: E402

CONFIG = {
    "platform": "reddit", "format": "thread",
    "templates": {"subreddit": "{{ category }}",
                  "title": "Best {{ product_name }} in {{ city | default('your area') }} — only ${{ price }}",
                  "body": "{{ description }}\n\nRated {{ rating | default('new') }} by {{ seller }}."},
    "rules": [{"id": "keep", "name": "Only > 100", "enabled": True, "priority": 1,
               "conditions": {"logic": "and", "items": [{"field": "price", "operator": "less_than_or_equal", "value": 100}]},
               "actions": [{"type": "skip", "params": {}}]}],
}
STAGES = (("claim", "claim the chunk (its own transaction)"), ("load_table", "load_table (data set, kept per worker)"),
          ("plan", "build_plan (kept per worker for the run)"), ("waited", "waiting for a rendered part"),
          ("copy_temp", "COPY into the temp table"), ("insert", "INSERT into variations"))
BACKGROUND = (("render", "render (ledger + figures)"), ("records", "ids / JSON / md5 + CSV encode"))
"""Stages of the background thread: they overlap the ones above (a part renders while the one before is written)."""


def dataset(rows: int) -> Path:
    out = ROOT / "bench" / "out" / f"products_{rows}.csv"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        gen = ROOT.parent / "shared" / "data" / "make_products.py"
        subprocess.run([sys.executable, str(gen), str(rows), str(out)], check=True)
    return out


def first_job(logs: list[Path], since: dt.datetime) -> float:
    """Seconds from starting the workers to the first job any of them began (Python start-up, imports, Redis)."""
    stamps = []
    for log in logs:
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            if "job.started" in line:
                stamps.append(dt.datetime.fromisoformat(line.split()[0].replace("Z", "+00:00")))
                break
    return (min(stamps) - since).total_seconds() if stamps else 0.0


def load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


FLOOR_CPU: dict[int, float] = {}
"""Postgres CPU seconds of the best floor COPY, by number of parallel connections."""


def execute(engine, *statements: str) -> None:  # type: ignore[no-untyped-def]
    """Run `statements` in one transaction as the schema owner."""
    with engine.begin() as c:
        cur = c.connection.driver_connection.cursor()
        for statement in statements:
            cur.execute(statement)


def copy_out(cur, select: str, params: tuple) -> bytes:  # type: ignore[no-untyped-def,type-arg]
    """The rows of `select` as the CSV bytes COPY sends."""
    buf = bytearray()
    with cur.copy(f"COPY ({select}) TO STDOUT (FORMAT csv)", params) as copy:
        for block in copy:
            buf += block
    return bytes(buf)


def strict_floor(owner_url: str, ws: uuid.UUID, set_id: uuid.UUID, columns: tuple[str, ...],
                 parallel: int = 1) -> tuple[int, float]:
    """Seconds to COPY the set's rows (as CSV bytes) into an UNLOGGED table with only a primary key (best of 2);
    with `parallel` > 1, that many connections COPY a share each at the same time (what the machine's
    Postgres gives to that many writers)."""
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import create_engine

    cols = ", ".join(columns)
    engine = create_engine(owner_url, pool_size=parallel + 1)
    try:
        shares: list[bytes] = []
        with engine.begin() as c:
            cur = c.connection.driver_connection.cursor()
            cur.execute("select set_config('app.workspace_id', %s, true)", (str(ws),))
            for part in range(parallel):
                shares.append(copy_out(cur, f"SELECT {cols} FROM variations WHERE campaign_set_id = %s AND "
                                            "row_index %% %s = %s", (set_id, parallel, part)))
            n = cur.execute("select count(*) from variations where campaign_set_id = %s", (set_id,)).fetchone()[0]

        def copy_in(data: bytes) -> None:
            with engine.begin() as c, c.connection.driver_connection.cursor().copy(
                    f"COPY bench_floor ({cols}) FROM STDIN (FORMAT csv)") as copy:
                copy.write(data)

        best = float("inf")
        for _ in range(2):
            execute(engine, "DROP TABLE IF EXISTS bench_floor",
                    "CREATE UNLOGGED TABLE bench_floor (LIKE variations INCLUDING DEFAULTS)",
                    "ALTER TABLE bench_floor ADD PRIMARY KEY (id)")
            with ThreadPoolExecutor(parallel) as pool:
                t0, cpu = time.perf_counter(), CpuMeter().start()
                list(pool.map(copy_in, shares))
                if time.perf_counter() - t0 < best:
                    best, FLOOR_CPU[parallel] = time.perf_counter() - t0, cpu.stop(0.0).postgres
        execute(engine, "DROP TABLE IF EXISTS bench_floor")
        return n, best
    finally:
        engine.dispose()


def run_ended(con, run_id: uuid.UUID) -> bool:  # type: ignore[no-untyped-def]
    row = con.execute("select status from generation_runs where id = %s", (run_id,)).fetchone()
    return row is not None and row[0] in ("done", "error", "cancelled")


def write_path_floor(owner_url: str, ws: uuid.UUID, set_id: uuid.UUID, chunk: int) -> float:
    """Seconds our write path alone takes for the set's rows, nothing rendered: per chunk of `chunk` rows, the
    records' CSV COPYed into a temp table and INSERTed (one transaction each) into a logged copy of
    `variations` with all its indexes (workers/variation_store._copy's two statements). The gap between
    this and the strict floor is the table's WAL and indexes; the gap above it is ours (best of 2)."""
    from sqlalchemy import create_engine

    from workers.variation_store import VARYING

    cols = ", ".join(VARYING)
    engine = create_engine(owner_url)
    try:
        with engine.begin() as c:
            cur = c.connection.driver_connection.cursor()
            cur.execute("select set_config('app.workspace_id', %s, true)", (str(ws),))
            rows = cur.execute("select max(row_index) + 1 from variations where campaign_set_id = %s", (set_id,)).fetchone()[0]
            chunks: list[bytes] = []
            for start in range(0, rows or 0, chunk):
                chunks.append(copy_out(cur, f"SELECT {cols} FROM variations WHERE campaign_set_id = %s AND "
                                            "row_index >= %s AND row_index < %s", (set_id, start, start + chunk)))
        best = float("inf")
        for _ in range(2):
            execute(engine, "DROP TABLE IF EXISTS bench_path", "CREATE TABLE bench_path (LIKE variations INCLUDING ALL)")
            t0 = time.perf_counter()
            for data in chunks:
                with engine.begin() as c:
                    cur = c.connection.driver_connection.cursor()
                    cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS _bench_rows ON COMMIT DELETE ROWS AS "
                                f"SELECT {cols} FROM variations WITH NO DATA")
                    with cur.copy(f"COPY _bench_rows ({cols}) FROM STDIN (FORMAT csv)") as copy:
                        copy.write(data)
                    cur.execute(f"INSERT INTO bench_path ({cols}, workspace_id, campaign_set_id, status, edited, "
                                f"updated_at) SELECT {cols}, %s, %s, 'pending', false, now() FROM _bench_rows", (ws, set_id))
            best = min(best, time.perf_counter() - t0)
        execute(engine, "DROP TABLE IF EXISTS bench_path")
        return best
    finally:
        engine.dispose()


def profile(store, ctx, ds_id, chunk: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Stages of one warm chunk: chunks 0 and 1 of a fresh set run in this process; chunk 1's are kept (its first
    part was rendered ahead while chunk 0 was written, as a worker does)."""
    from studio import campaigns
    from workers import generation

    set_id = campaigns.create(store, ctx, "bench profile", ds_id, CONFIG)
    run_id = campaigns.start_run(store, ctx, set_id, chunk_rows=chunk)
    out: dict[str, float] = {}
    for index in (0, 1):
        t0 = time.perf_counter()
        result = generation.run_chunk(str(ctx.workspace_id), str(run_id), index)
        out = {**(result.get("stages") or {}), "total": time.perf_counter() - t0, "variations": result.get("variations", 0)}
    return out


def page_timing(settings, store, ctx, ds_id, n: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """A set of `n` variations written in SQL; the variations page's count + first page (best of 3, after a
    warm-up) straight after the write (ANALYZE only) and after a VACUUM (what autovacuum soon gives)."""
    from sqlalchemy import create_engine

    from studio import campaigns, variations

    set_id = campaigns.create(store, ctx, "bench page", ds_id, CONFIG)
    engine = create_engine(settings.migration_database_url)
    with engine.begin() as c:
        cur = c.connection.driver_connection.cursor()
        cur.execute("select set_config('app.workspace_id', %s, true)", (str(ctx.workspace_id),))
        cur.execute(
            "INSERT INTO variations (id, workspace_id, campaign_set_id, row_index, variation_index, fields, title, "
            "subreddit, status, valid, problems, edited, content_hash, tags, groups, updated_at) "
            "SELECT md5(%s || g)::uuid, %s, %s, g, 0, json_build_object('title', 'Best thing ' || g), 'Best thing ' || g, "
            "'deals', 'pending', g %% 7 <> 0, '', false, md5(g::text), '[]', '[]', now() FROM generate_series(0, %s - 1) g",
            (str(set_id), ctx.workspace_id, set_id, n))
        cur.execute("ANALYZE variations")
    f = variations.VariationFilter()

    def best_first_page() -> float:
        variations.page(store, ctx, set_id, f, offset=0, limit=100)
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            page = variations.page(store, ctx, set_id, f, offset=0, limit=100)
            best = min(best, time.perf_counter() - t0)
        assert page.total == n
        return best

    out = {"fresh": best_first_page()}
    raw = engine.raw_connection()
    try:
        raw.driver_connection.autocommit = True
        raw.driver_connection.execute("VACUUM (ANALYZE) variations")
    finally:
        raw.close()
    engine.dispose()
    out["vacuumed"] = best_first_page()
    t0 = time.perf_counter()
    variations.page(store, ctx, set_id, f, offset=n - 100, limit=100)
    out["last"] = time.perf_counter() - t0
    return out


def print_runs(n: int, floor: float, timings: dict[int, float], boots: dict[int, float], floor2: float = 0.0,
               path: float = 0.0) -> None:
    print(f"strict floor: COPY of the same {n:,} rows (CSV) into an UNLOGGED table with only its primary key: "
          f"{floor:.2f} s ({n / floor:,.0f}/s)   (load {load()})")
    if FLOOR_CPU.get(1):
        print(f"    its Postgres CPU: {FLOOR_CPU[1]:.1f} s (compare with each run's Postgres CPU: what the load cannot change)")
    if floor2:
        print(f"the same with 2 connections COPYing half each at once: {floor2:.2f} s ({floor / floor2:.2f}× one)")
    if path:
        print(f"our write path alone (temp COPY + INSERT per chunk into a logged copy of variations with its indexes, "
              f"nothing rendered): {path:.2f} s ({path / floor:.2f}× the strict floor)")
    print("\n| workers | click → set ready s | × strict floor | × write path alone | speed-up vs 1 | pool start s |"
          "\n|---|---|---|---|---|---|")
    one = timings.get(1)
    for w, t in timings.items():
        print(f"| {w} | {t:.2f} | {t / floor:.2f}× | {(t / path if path else float('nan')):.2f}× | "
              f"{(one / t if one else float('nan')):.2f}× | {boots[w]:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=50_000)
    parser.add_argument("--workers", default="1,2", help="worker counts to run, e.g. 1,2,4")
    parser.add_argument("--profile", action="store_true", help="print the stages of one warm chunk")
    parser.add_argument("--page-variations", type=int, default=0, help="time the variations page on a set this big")
    args = parser.parse_args()
    if not os.environ.get("TEST_PG_ADMIN_URL"):
        sys.exit("Run under scripts/services.sh run … (needs the throwaway Postgres and Redis).")

    import psycopg
    from rq import Worker as RqWorker

    from studio import auth, campaigns, datasets
    from studio.context import Context
    from studio.settings import load_settings
    from studio.store import migrate
    from studio.store.session import Store
    from workers import bindings, generation
    from workers.queues import queue, redis_connection
    from workers.variation_store import COLUMNS

    bindings.install()  # an entry point: studio services queue their jobs through studio.jobs
    os.environ.setdefault("DOTORO_HOME", str(ROOT / "bench" / "out" / "home"))
    os.environ.setdefault("MAX_UPLOAD_MB", "1024")  # the 1M-row file is 240 MB
    settings = load_settings()
    migrate.upgrade(settings)
    store = Store(settings)
    redis = redis_connection(settings)
    status_con = psycopg.connect(settings.migration_database_url.replace("postgresql+psycopg://", "postgresql://"),
                                 autocommit=True)
    account, ws = auth.sign_up(store, f"bench{uuid.uuid4().hex[:6]}@example.com", "Bench", "longenough")
    ctx = Context(user_id=account.id, workspace_id=ws)
    status_con.execute("select set_config('app.workspace_id', %s, false)", (str(ws),))
    t0 = time.perf_counter()
    ds = datasets.upload(store, ctx, "products.csv", dataset(args.rows).read_bytes())
    print(f"upload+ingest {args.rows:,} rows: {time.perf_counter() - t0:.2f} s   (load {load()})")

    timings: dict[int, float] = {}
    boots: dict[int, float] = {}
    first_set = None
    for workers in (int(w) for w in args.workers.split(",") if int(w) > 0):  # --workers 0: no runs
        set_id = campaigns.create(store, ctx, f"bench {workers}", ds.id, CONFIG)
        first_set = first_set or set_id
        run_id = campaigns.start_run(store, ctx, set_id, chunk_rows=args.chunk)
        info = campaigns.latest_run(store, ctx, set_id)
        logs = [ROOT / "bench" / "out" / f"worker-{workers}-{i}.log" for i in range(workers)]
        # the pool is started first and timed apart (a team's workers run all day): the run is timed from
        # the click (its chunks enqueued) to the set being ready
        wall0, boot0 = dt.datetime.now(dt.UTC), time.perf_counter()
        procs = [subprocess.Popen([sys.executable, "-m", "workers.worker", "--no-cron", "generation"], cwd=ROOT,
                                  env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL,
                                  stderr=open(log, "w"))
                 for log in logs]
        while len(RqWorker.all(queue=queue(settings, "generation", connection=redis))) < workers:
            time.sleep(0.02)
        boots[workers] = time.perf_counter() - boot0
        booted = sum(process_seconds(p.pid) for p in procs)
        cpu = CpuMeter().start()
        with WaitSampler(os.environ["TEST_PG_ADMIN_URL"]) as waits:
            t0 = time.perf_counter()
            generation.enqueue_run(settings, ws, run_id, info.chunks_total)
            while not run_ended(status_con, run_id):  # one light query per 20 ms: the poll stays out of the figures
                time.sleep(0.02)
            timings[workers] = time.perf_counter() - t0
            info = campaigns.latest_run(store, ctx, set_id)
            worker_cpu = sum(process_seconds(p.pid) for p in procs) - booted
        cpu.stop(worker_cpu)
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=60)
        first = first_job(logs, wall0)
        print(f"{workers} worker(s): {info.variations:,} variations in {timings[workers]:.2f} s "
              f"({info.variations / timings[workers]:,.0f}/s), status {info.status}   (load {load()})\n"
              f"    the pool started in {boots[workers]:.1f} s before (first job {first:.1f} s after the start)\n"
              f"    {cpu.line()}\n    {waits.line()}")

    if first_set is None:
        args.profile = False
    n, floor = (0, 0.0) if first_set is None else strict_floor(settings.migration_database_url, ws, first_set, COLUMNS)
    if first_set is not None:
        floor2 = strict_floor(settings.migration_database_url, ws, first_set, COLUMNS, parallel=2)[1] if len(timings) > 1 else 0.0
        path = write_path_floor(settings.migration_database_url, ws, first_set, args.chunk)
        print_runs(n, floor, timings, boots, floor2, path)

    if args.profile:
        stages = profile(store, ctx, ds.id, args.chunk)
        total = stages.pop("total")
        nvar = int(stages.pop("variations"))
        print(f"\nstages of one warm {args.chunk:,}-row chunk ({nvar:,} variations, {total:.2f} s in all)   (load {load()})")
        print("| stage | s | share |\n|---|---|---|")
        for key, label in STAGES:
            if key in stages:
                print(f"| {label} | {stages[key]:.3f} | {stages[key] / total:.0%} |")
        rest = total - sum(stages.get(k, 0.0) for k, _ in STAGES)
        print(f"| rest (counters, commit, the job's bookkeeping) | {rest:.3f} | {rest / total:.0%} |")
        for key, label in BACKGROUND:
            if key in stages:
                print(f"| in the background, overlapped with the above: {label} | {stages[key]:.3f} | – |")

    if args.page_variations:
        ms = {k: round(v * 1000) for k, v in page_timing(settings, store, ctx, ds.id, args.page_variations).items()}
        print(f"\nvariations page on {args.page_variations:,} variations: count + first page {ms['fresh']} ms right after "
              f"the write, {ms['vacuumed']} ms after VACUUM; last page {ms['last']} ms   (load {load()})")


if __name__ == "__main__":
    main()
