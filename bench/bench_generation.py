"""Generation end to end (expand + persist) on Postgres + Redis with 1 and 2 RQ workers,
against a bare psycopg COPY of the same rows (the persist floor), printed side by side.

Run: scripts/services.sh run .venv/bin/python bench/bench_generation.py --rows 100000
(1M rows: --rows 1000000; the data set is built with ../shared/data/make_products.py).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CONFIG = {
    "platform": "reddit", "format": "thread",
    "templates": {"subreddit": "{{ category }}",
                  "title": "Best {{ product_name }} in {{ city | default('your area') }} — only ${{ price }}",
                  "body": "{{ description }}\n\nRated {{ rating | default('new') }} by {{ seller }}."},
    "rules": [{"id": "keep", "name": "Only > 100", "enabled": True, "priority": 1,
               "conditions": {"logic": "and", "items": [{"field": "price", "operator": "less_than_or_equal", "value": 100}]},
               "actions": [{"type": "skip", "params": {}}]}],
}


def dataset(rows: int) -> Path:
    out = ROOT / "bench" / "out" / f"products_{rows}.csv"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        gen = ROOT.parent / "shared" / "data" / "make_products.py"
        subprocess.run([sys.executable, str(gen), str(rows), str(out)], check=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=50_000)
    args = parser.parse_args()
    if not os.environ.get("TEST_PG_ADMIN_URL"):
        sys.exit("Run under scripts/services.sh run … (needs the throwaway Postgres and Redis).")
    from sqlalchemy import create_engine, text

    from studio import auth, campaigns, datasets
    from studio.context import Context
    from studio.settings import load_settings
    from studio.store import migrate
    from studio.store.session import Store
    from workers import generation
    from workers.variation_store import COLUMNS

    os.environ.setdefault("DOTORO_HOME", str(ROOT / "bench" / "out" / "home"))
    os.environ.setdefault("MAX_UPLOAD_MB", "1024")  # the 1M-row file is 240 MB
    settings = load_settings()
    migrate.upgrade(settings)
    store = Store(settings)
    account, ws = auth.sign_up(store, f"bench{uuid.uuid4().hex[:6]}@example.com", "Bench", "longenough")
    ctx = Context(user_id=account.id, workspace_id=ws)
    t0 = time.perf_counter()
    ds = datasets.upload(store, ctx, "products.csv", dataset(args.rows).read_bytes())
    print(f"upload+ingest {args.rows:,} rows: {time.perf_counter() - t0:.2f} s")

    timings = {}
    for workers in (1, 2):
        set_id = campaigns.create(store, ctx, f"bench {workers}", ds.id, CONFIG)
        run_id = campaigns.start_run(store, ctx, set_id, chunk_rows=args.chunk)
        info = campaigns.latest_run(store, ctx, set_id)
        generation.enqueue_run(settings, ws, run_id, info.chunks_total)
        t0 = time.perf_counter()
        procs = [subprocess.Popen([sys.executable, "-m", "workers.worker", "--burst", "generation"], cwd=ROOT,
                                  env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL,
                                  stderr=open(ROOT / "bench" / "out" / f"worker-{workers}-{i}.log", "w"))
                 for i in range(workers)]
        for p in procs:
            p.wait()
        timings[workers] = time.perf_counter() - t0
        info = campaigns.latest_run(store, ctx, set_id)
        print(f"{workers} worker(s): {info.variations:,} variations in {timings[workers]:.2f} s "
              f"({info.variations / timings[workers]:,.0f}/s), status {info.status}")

    # the floor: COPY the same number of rows of the same shape, nothing else
    owner = create_engine(settings.database_url)
    with owner.begin() as c:
        c.execute(text("select set_config('app.workspace_id', :w, true)"), {"w": str(ws)})
        sample = c.execute(text("select * from variations where workspace_id = :w limit 1"), {"w": ws}).mappings().one()
        n = c.execute(text("select count(*) from variations where workspace_id = :w"), {"w": ws}).scalar()
        raw = c.connection.driver_connection
        cur = raw.cursor()
        cur.execute("CREATE TEMP TABLE _floor (LIKE variations) ON COMMIT DROP")
        row = [sample[k] for k in COLUMNS]
        row[COLUMNS.index("fields")] = json.dumps(row[COLUMNS.index("fields")])
        t0 = time.perf_counter()
        with cur.copy(f"COPY _floor ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for i in range(n // 2):
                row[0] = uuid.uuid4()
                copy.write_row(row)
        floor = time.perf_counter() - t0
    per_set = n // 2
    print(f"bare COPY of {per_set:,} rows: {floor:.2f} s ({per_set / floor:,.0f}/s)")
    for w, t in timings.items():
        print(f"ratio {w} worker(s) end to end / bare COPY: {t / floor:.1f}x")
    print(f"speed-up 2 workers vs 1: {timings[1] / timings[2]:.2f}x")


if __name__ == "__main__":
    main()
