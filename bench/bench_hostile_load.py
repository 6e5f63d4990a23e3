"""Issue 15's bounded load test: 5 sessions preview the worst the budgets allow while a sixth previews normally.

Run: .venv/bin/python bench/bench_hostile_load.py [--rows 100000] [--repeat 3]

One server process, six sessions as threads. A served studio runs every browser session's script
in a thread of the one Streamlit process and `studio.previews.run_preview` there does: check access,
take the prepared data set from the shared `PreviewCache` (cached after the first call), then
`build_plan(..., connection=cache.connection())` + `preview(...)`. This bench calls exactly that
engine work on one shared `PreviewCache` (its DuckDB database) from six threads; the store's access
check and usage meter (two small Postgres queries) are left out because they are not what a hostile
preview makes expensive. Driving a browser would add the harness's own CPU on a 2-core machine
shared with others and measure it, not the server.

Worst case (what the budgets still allow, engine/budgets.py):
- 100,000 rows × 10 variations from variation sources = MAX_PREVIEW_VARIATIONS (1,000,000);
- a template whose loop of string filters forces the per-row path and runs until the preview's
  wall-clock deadline (PREVIEW_SECONDS) stops it;
- regex rules on text columns (RE2, linear).
The sixth session previews an ordinary configuration on the same data set.

Prints the sixth's latency unloaded and loaded (median of its runs), the ratio (target ≤ 2×), the
process's peak RSS against the bound stated below, and the load average (the machine is shared).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import polars as pl  # noqa: E402

from engine.budgets import (  # noqa: E402
    MAX_OUTPUT_CHARS,
    MAX_PREVIEW_VARIATIONS,
    MAX_RENDER_WORK_CHARS,
    PREVIEW_SECONDS,
)
from engine.errors import EngineError  # noqa: E402
from engine.generation import build_plan, prepare_source, preview  # noqa: E402
from studio.previews import PreviewCache  # noqa: E402

NORMAL = {
    "platform": "reddit", "format": "thread",
    "templates": {"subreddit": "{{ category }}",
                  "title": "Best {{ product_name }} in {{ city | default('your area') }} — only ${{ price }}",
                  "body": "{{ description }}\n\nRated {{ rating | default('new') }} by {{ seller }}."},
    "rules": [{"id": "keep", "name": "Only > 100", "enabled": True, "priority": 1,
               "conditions": {"logic": "and",
                              "items": [{"field": "price", "operator": "less_than_or_equal", "value": 100}]},
               "actions": [{"type": "skip", "params": {}}]}],
}
# A loop of string filters over the row's description: per row (no SQL form), ~ms per row, so the whole
# data set's figures run until the preview deadline stops them.
HEAVY_TEMPLATE = ("{% for i in range(200) %}{{ (description ~ i) | upper | lower | replace('a', 'b') "
                  "| truncate(40) }}{% endfor %}")
REGEXES = [r"[aeiou]{2}[^aeiou ]+ing", r"^[A-Z][a-z]+ [a-z]+ [a-z]+", r"(premium|lite|pro)\s+\w+",
           r"[0-9]{2,}\.[0-9]+", r"(tent|book|shoe)s?$"]


def worst_config() -> dict[str, Any]:
    return {
        "platform": "reddit", "format": "thread",
        "templates": {"subreddit": "{{ category }}", "title": "{{ cta }} {{ product_name }} {{ tone }}",
                      "body": HEAVY_TEMPLATE},
        "variation_sources": {"cta": ["Buy", "Get"], "tone": ["now", "today", "soon", "here", "free"]},  # 10 per row
        "rules": [{"id": f"r{i}", "name": f"regex {i}", "enabled": True, "priority": i,
                   "conditions": {"logic": "or", "items": [
                       {"field": field, "operator": "regex", "value": pattern}
                       for field in ("description", "product_name", "seller")]},
                   "actions": [{"type": "set_field", "params": {"field": "city", "value": f"r{i}"}}]}
                  for i, pattern in enumerate(REGEXES)],
    }


def dataset(rows: int) -> Path:
    out = ROOT / "bench" / "out" / f"products_{rows}.csv"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        gen = ROOT.parent / "shared" / "data" / "make_products.py"
        subprocess.run([sys.executable, str(gen), str(rows), str(out)], check=True)
    return out


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def one_preview(cache: PreviewCache, source: Any, config: dict[str, Any]) -> tuple[float, str]:
    """What run_preview does after the access check: the plan on the shared database, 20 variations + figures."""
    start = time.perf_counter()
    outcome = "ok"
    try:
        with build_plan(source, config, connection=cache.connection()) as plan:
            preview(plan, limit=20, trace=True, stats=True)
    except EngineError as exc:
        outcome = f"refused: {str(exc)[:300]}"
    return time.perf_counter() - start, outcome


def normal_run(cache: PreviewCache, source: Any) -> float:
    took, outcome = one_preview(cache, source, NORMAL)
    if outcome != "ok":
        raise SystemExit(f"the normal preview failed: {outcome}")
    return took


def normal_runs(cache: PreviewCache, source: Any, count: int) -> list[float]:
    return [normal_run(cache, source) for _ in range(count)]


def trial(cache: PreviewCache, source: Any, normal_count: int) -> tuple[float, float, list[str], float]:
    """Unloaded median (runs before and after the load: the shared machine drifts), loaded median, what the
    hostile sessions ended with, and their longest time."""
    before = normal_runs(cache, source, normal_count)
    outcomes: list[str] = []
    times: list[float] = []
    started = threading.Barrier(6)

    def hostile() -> None:
        started.wait()
        took, outcome = one_preview(cache, source, worst_config())
        times.append(took)
        outcomes.append(outcome)

    threads = [threading.Thread(target=hostile) for _ in range(5)]
    for t in threads:
        t.start()
    started.wait()
    time.sleep(1.0)  # let the hostile previews get going
    loaded_runs: list[float] = []
    while any(t.is_alive() for t in threads) and len(loaded_runs) < normal_count:
        loaded_runs.append(normal_run(cache, source))
    for t in threads:
        t.join()
    unloaded = statistics.median(before + normal_runs(cache, source, normal_count))
    return unloaded, statistics.median(loaded_runs), outcomes, max(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--normal", type=int, default=5, help="normal previews per phase")
    args = parser.parse_args()
    frame = pl.read_csv(dataset(args.rows), infer_schema_length=10_000)
    cache = PreviewCache()
    source = prepare_source(frame)
    assert args.rows * 10 <= MAX_PREVIEW_VARIATIONS
    baseline = rss_mb()
    normal_runs(cache, source, 5)  # warm: the shared database, the source's memos, the plan's code paths
    print(f"rows {args.rows:,}; RSS after load {baseline:.0f} MB; load average {os.getloadavg()}")
    # The bound, from the budgets: per session one render's intermediates (MAX_RENDER_WORK_CHARS, ≤ 4 bytes a
    # character in CPython) plus its output (MAX_OUTPUT_CHARS); 20 variations and the figures are small; plus
    # 50 MB a session for DuckDB's working set over 100k rows (the hostile plans' own one-thread databases).
    per_session = (MAX_RENDER_WORK_CHARS + MAX_OUTPUT_CHARS) * 4 / 2**20 + 50
    bound = baseline + 6 * per_session
    print(f"memory bound: {baseline:.0f} MB loaded data + 6 sessions × {per_session:.0f} MB = {bound:.0f} MB")
    ratios = []
    started = time.perf_counter()
    for i in range(args.repeat):
        unloaded, loaded, outcomes, longest = trial(cache, source, args.normal)
        ratio = loaded / unloaded
        ratios.append(ratio)
        print(f"trial {i + 1}: normal preview unloaded {unloaded * 1000:.0f} ms, loaded {loaded * 1000:.0f} ms, "
              f"ratio {ratio:.2f}x (target <= 2x); hostile longest {longest:.1f} s "
              f"(deadline {PREVIEW_SECONDS:.0f} s): {sorted(set(outcomes))}; load {os.getloadavg()[0]:.1f}")
    peak = peak_rss_mb()
    print(f"ratios {', '.join(f'{r:.2f}' for r in ratios)} (spread {min(ratios):.2f}-{max(ratios):.2f}); "
          f"peak RSS {peak:.0f} MB, bound {bound:.0f} MB: {'OK' if peak <= bound else 'OVER'}; "
          f"bench {time.perf_counter() - started:.0f} s; load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
