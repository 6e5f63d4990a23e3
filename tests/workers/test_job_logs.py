"""What an operator reads after a generation run and a publish: JSON lines with job id, workspace, duration, outcome.

Run with ``-s`` to see the lines (they are the samples quoted in the README's Logging section).
"""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Iterator

import pytest

from studio import campaigns, logging_setup
from studio.settings import load_settings
from tests.studio.test_publishing_support import (  # noqa: F401
    connect,
    make_pub,
    make_set,
    reddit,
    reddit_env,
    rows,
)
from tests.workers.test_generation import CONFIG, _start, _work, env, workspace  # noqa: F401
from tests.workers.test_publishing import env as pub_env  # noqa: F401
from tests.workers.test_publishing import plan, work


def _capture(level: str = "INFO") -> tuple[io.StringIO, logging.Handler]:
    buffer = io.StringIO()
    settings = load_settings({**os.environ, "LOG_FORMAT": "json", "LOG_LEVEL": level}, dotenv=None)
    return buffer, logging_setup.configure(settings, stream=buffer)


@pytest.fixture()
def json_log() -> Iterator[io.StringIO]:
    buffer, handler = _capture()
    yield buffer
    logging.getLogger().removeHandler(handler)


def _lines(buffer: io.StringIO) -> list[dict]:
    lines = [json.loads(line) for line in buffer.getvalue().splitlines() if line.startswith("{")]
    print("\n".join(json.dumps(line) for line in lines if line.get("event", "").startswith(("job.", "publish."))))
    return lines


def test_a_generation_run_logs_each_chunk_with_job_workspace_and_duration(env, pg_store, workspace, json_log):  # noqa: F811
    ctx, ds = workspace
    set_id = campaigns.create(pg_store, ctx, "Logged run", ds.id, CONFIG)
    _start(pg_store, env, ctx, set_id, chunk_rows=1000)
    _work(env)
    lines = _lines(json_log)
    finished = [line for line in lines if line["event"] == "job.finished" and line["job"] == "generation.chunk"]
    started = [line for line in lines if line["event"] == "job.started" and line["job"] == "generation.chunk"]
    assert len(started) == len(finished) == 2
    assert {line["workspace_id"] for line in finished} == {str(ctx.workspace_id)}
    assert {line["index"] for line in finished} == {"0", "1"}
    assert all(line["job_id"] and line["duration_ms"] > 0 and line["result"]["variations"] > 0 for line in finished)


def test_a_publish_logs_the_attempt_and_the_outcome_and_no_token(pg_store, reddit, pub_env, monkeypatch):  # noqa: F811
    pub = make_pub(pg_store, reddit, monkeypatch)
    buffer, handler = _capture("DEBUG")  # prawcore prints token requests at DEBUG: the worst case for leaks
    try:
        pub.reddit.fail_next("submit", "forbidden")
        plan(pub)
        work(pub)
        set_id = plan(pub)
        work(pub)
    finally:
        logging.getLogger().removeHandler(handler)
    lines = _lines(buffer)
    attempts = [line for line in lines if line["event"] == "publish.attempt"]
    outcomes = [line for line in lines if line["event"] == "publish.outcome"]
    assert len(attempts) == len(outcomes) == 2
    assert [o["outcome"] for o in outcomes] == ["failed", "posted"]
    assert outcomes[0]["level"] == "warning" and "403 Forbidden" in outcomes[0]["reason"]
    assert outcomes[1]["reddit_id"] == "t3_" + pub.reddit.posts[0]["id"] and outcomes[1]["subreddit"] == "python"
    assert all(o["workspace_id"] == str(pub.ctx.workspace_id) and o["account"] == "alice" for o in outcomes)
    jobs = [line for line in lines if line["event"] == "job.finished" and line["job"] == "publish.item"]
    assert jobs and all(j["job_id"] and j["duration_ms"] > 0 for j in jobs)
    assert set_id
    written = buffer.getvalue()
    tokens = [*pub.reddit.refresh_tokens, *pub.reddit.access_tokens]
    assert tokens and not [t for t in tokens if t in written]
