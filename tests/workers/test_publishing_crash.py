"""SIGKILL a real worker process at every step of a publish; after recovery the post exists exactly once."""

from __future__ import annotations

import datetime as dt
import os
import queue as stdqueue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from studio.publishing.outbox import aware
from tests.studio.test_publishing_support import make_pub, reddit  # noqa: F401
from tests.workers.test_publishing import env, items, plan, work  # noqa: F401
from workers import publishing

ROOT = Path(__file__).resolve().parents[2]
# A real RQ worker process; it announces the step it reached (and the item) and waits there to be killed.
WORKER = """
import sys, time
from redis import Redis
from rq import SimpleWorker, get_current_job
from studio.publishing import execute
from studio.settings import load_settings
from workers import bindings, queues

bindings.install()

def hold(step):
    if step == sys.argv[1]:
        print("AT", step, get_current_job().args[1], flush=True)
        time.sleep(300)

execute.CHECKPOINTS.append(hold)
settings = load_settings()
conn = Redis.from_url(settings.redis_url)
q = queues.queue(settings, "publishing", connection=conn)
SimpleWorker([q], connection=conn, serializer=q.serializer).work(burst=True)
print("DONE", flush=True)
"""
# step -> (what the outbox says right after the kill, is the post on Reddit at that moment)
STEPS = {
    "claimed": ("scheduled", False),      # inside the claiming transaction: it rolls back
    "submitting": ("submitting", False),  # committed, Reddit not called yet
    "answered": ("submitting", True),     # Reddit answered, the answer is not recorded
    "recorded": ("posted", True),         # all done
}


@pytest.fixture()
def pub(pg_store, reddit, env, monkeypatch):  # noqa: F811
    monkeypatch.setenv("REDDIT_SUBMIT_LEASE_SECONDS", "1")
    return make_pub(pg_store, reddit, monkeypatch, REDDIT_SUBMIT_LEASE_SECONDS="1")


def _spawn(step: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", WORKER, step], cwd=ROOT, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(ROOT)})


def _reached(proc: subprocess.Popen[str], out: stdqueue.Queue[tuple[int, str]]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(("AT ", "DONE")):
            out.put((proc.pid, line.strip()))


def _recover(pub) -> None:
    """After the lease of the dead workers: the periodic sweeper, then workers with the scheduler."""
    threading.Event().wait(1.1)
    publishing.sweep_workspace(pub.store, pub.ws, now=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5))
    work(pub)
    work(pub)


def _kill(procs: list[subprocess.Popen[str]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)


def test_sigkill_at_every_step_still_posts_each_item_exactly_once(pub):
    """Four worker processes, four items: each worker is killed at its own step of its own item."""
    set_id = plan(pub, 4, accounts_=("alice", "bob", "carol", "dave"),
                  start=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=30),
                  subreddits=("python", "cooking", "running", "selfonly"))
    assert len(items(pub, set_id)) == 4
    procs = [_spawn(step) for step in STEPS]
    reached: stdqueue.Queue[tuple[int, str]] = stdqueue.Queue()
    for proc in procs:
        threading.Thread(target=_reached, args=(proc, reached), daemon=True).start()
    try:
        at = dict(reached.get(timeout=90)[1].split()[1:] for _ in STEPS)
    finally:
        _kill(procs)
    assert [p.returncode for p in procs] == [-signal.SIGKILL] * 4
    by_id = {str(i.id): i for i in items(pub, set_id)}
    titles = {p["title"] for p in pub.reddit.posts}
    for step, item_id in at.items():
        state, on_reddit = STEPS[step]
        assert (by_id[item_id].state, by_id[item_id].title in titles) == (state, on_reddit), step
    _recover(pub)
    after = items(pub, set_id)
    assert {i.state for i in after} == {"posted"}
    assert sorted(p["title"] for p in pub.reddit.posts) == sorted(i.title for i in after)  # once each
    assert {i.reddit_id for i in after} == {p["id"] for p in pub.reddit.posts}
    assert pub.reddit.count("/api/submit") == 4  # nothing was ever sent twice


def test_sigkill_while_reddit_is_answering_posts_exactly_once(pub):
    """Reddit has accepted the post and holds the answer open; the worker dies waiting for it."""
    pub.reddit.fail_next("submit", "hold", seconds=60)
    set_id = plan(pub)
    proc = _spawn("never")
    try:
        assert pub.reddit.seen.wait(60), "the worker never reached Reddit"
    finally:
        _kill([proc])
        pub.reddit.release.set()
    assert proc.returncode == -signal.SIGKILL
    (item,) = items(pub, set_id)
    assert item.state == "submitting" and len(pub.reddit.posts) == 1
    _recover(pub)
    (item,) = items(pub, set_id)
    (post,) = pub.reddit.posts
    assert item.state == "posted" and item.reddit_id == post["id"] and aware(item.posted_at) is not None
    assert pub.reddit.count("/api/submit") == 1
