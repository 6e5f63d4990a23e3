"""A set following its data: a new version with 1 % of rows changed → time to diff, time to apply, rows
written, against a full Regenerate of the same set on the same new version, in the same run.

Run: scripts/services.sh run .venv/bin/python bench/bench_feed_apply.py --rows 100000 --changed 0.01
The data set is ../shared/data/make_products.py's (key column `id`); v2 raises the price of every
1/changed-th row (the title uses the price, so each such row re-renders). Rows written are the
variations whose updated_at moved (every write path sets it). Jobs run on one in-process RQ worker.
Absolute times move with the machine's load; compare the ratios printed by one run.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_generation import CONFIG, dataset, load  # noqa: E402


def written(store, ctx, since) -> int:  # type: ignore[no-untyped-def]
    """Variation rows inserted or updated since `since` (every write path sets updated_at)."""
    from sqlalchemy import func, select

    from studio.store.campaign_models import Variation

    with store.session_scope(ctx) as s:
        return int(s.scalar(select(func.count()).select_from(Variation).where(Variation.updated_at >= since)) or 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--changed", type=float, default=0.01, help="share of rows whose price changes in v2")
    args = parser.parse_args()
    admin = os.environ.get("TEST_PG_ADMIN_URL")
    if not admin:
        sys.exit("Run under scripts/services.sh run … (needs the throwaway Postgres and Redis).")

    import polars as pl
    from redis import Redis
    from rq import SimpleWorker

    from studio import auth, campaigns, datasets, set_follow
    from studio.context import Context
    from studio.settings import load_settings
    from studio.store import migrate
    from studio.store.base import utcnow
    from studio.store.campaign_models import CampaignSet
    from studio.store.session import Store
    from workers import bindings, generation, queues

    bindings.install()  # an entry point: set_follow.apply queues its chunks through studio.jobs
    os.environ.setdefault("DOTORO_HOME", str(ROOT / "bench" / "out" / "home"))
    os.environ.setdefault("MAX_UPLOAD_MB", "1024")
    settings = load_settings()
    migrate.upgrade(settings)
    store = Store(settings)
    conn = Redis.from_url(settings.redis_url)
    q = queues.queue(settings, "generation", connection=conn)

    def work() -> None:
        SimpleWorker([q], connection=conn, serializer=q.serializer).work(burst=True)

    account, ws = auth.sign_up(store, f"bench{uuid.uuid4().hex[:6]}@example.com", "Bench", "longenough")
    ctx = Context(user_id=account.id, workspace_id=ws)
    v1 = dataset(args.rows).read_bytes()
    ds = datasets.upload(store, ctx, "products.csv", v1)
    follower = campaigns.create(store, ctx, "follows", ds.id, CONFIG)
    regen = campaigns.create(store, ctx, "regenerates", ds.id, CONFIG, follow_mode="off")
    for set_id in (follower, regen):
        run_id = campaigns.start_run(store, ctx, set_id)
        generation.enqueue_run(settings, ws, run_id, campaigns.latest_run(store, ctx, set_id).chunks_total)
        work()
    with store.session_scope(ctx) as s:
        n_var = s.get(CampaignSet, follower).variation_count
    print(f"{args.rows:,} rows → {n_var:,} variations per set   (load {load()})")

    frame = pl.read_csv(io.BytesIO(v1), infer_schema_length=10_000)
    step = max(1, round(1 / args.changed))
    frame = frame.with_columns(pl.when(pl.int_range(pl.len()) % step == 0).then(pl.col("price") + 1)
                               .otherwise(pl.col("price")).alias("price"))
    buf = io.BytesIO()
    frame.write_csv(buf)
    t0 = time.perf_counter()
    datasets.replace(store, ctx, ds.id, "products.csv", buf.getvalue())
    upload_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    diff_id = set_follow.prepare(store, ctx, follower)  # what the queued job does (it then finds this diff)
    diff_s = time.perf_counter() - t0
    work()
    assert diff_id is not None
    d = set_follow.get_diff(store, ctx, diff_id)
    print(f"v2 upload+ingest {upload_s:.2f} s; diff {diff_s:.2f} s: " + ", ".join(f"{k} {v:,}" for k, v in d.counts.items())
          + f"; by field {d.by_field}")

    since = utcnow()
    t0 = time.perf_counter()
    chunks = set_follow.apply(store, ctx, diff_id)
    worker = SimpleWorker([q], connection=conn, serializer=q.serializer)
    jobs = q.job_ids
    worker.work(burst=True)
    apply_s = time.perf_counter() - t0
    apply_rows = written(store, ctx, since)
    d = set_follow.get_diff(store, ctx, diff_id)
    assert d.status == "applied", d
    stages: dict[str, float] = {}
    for job_id in jobs:
        got = q.fetch_job(job_id)
        for k, v in ((got.return_value() or {}).get("seconds") or {}).items() if got is not None else ():
            stages[k] = stages.get(k, 0.0) + v
    print(f"apply ({chunks} chunks): {apply_s:.2f} s, {apply_rows:,} variation rows written (updated_at); "
          f"result {d.result}; seconds per stage, all chunks: {({k: round(v, 2) for k, v in stages.items()})}   "
          f"(load {load()})")

    with store.session_scope(ctx) as s:  # the old way: Regenerate the whole set on the new version
        s.get(CampaignSet, regen).dataset_version = 2
    since = utcnow()
    t0 = time.perf_counter()
    run_id = campaigns.start_run(store, ctx, regen)
    generation.enqueue_run(settings, ws, run_id, campaigns.latest_run(store, ctx, regen).chunks_total)
    work()
    regen_s = time.perf_counter() - t0
    regen_rows = written(store, ctx, since)
    print(f"full regenerate on v2: {regen_s:.2f} s, {regen_rows:,} variation rows written   (load {load()})")
    print(f"\n| | seconds | rows written |\n|---|---|---|\n| diff | {diff_s:.2f} | 0 |\n"
          f"| apply | {apply_s:.2f} | {apply_rows:,} |\n| diff + apply | {diff_s + apply_s:.2f} | {apply_rows:,} |\n"
          f"| full regenerate | {regen_s:.2f} | {regen_rows:,} |\n"
          f"| ratio regenerate / (diff + apply) | {regen_s / (diff_s + apply_s):.1f}x | "
          f"{regen_rows / max(1, apply_rows):.0f}x |")


if __name__ == "__main__":
    main()
