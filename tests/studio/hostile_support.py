"""The hostile-input corpus's harness (no tests here): the shared workspace and data set, and the check every case
passes through.

Every case must end in the project's own error (StudioError or EngineError) with a message a person
can act on — not empty, no Python class names, no traceback — or succeed harmlessly, and it must
finish within BOUND_S (run in a thread, so a hang fails the case instead of the whole run). The
store is the real Postgres: it is the one that refuses NUL bytes and lone surrogates.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.errors import EngineError
from engine.sql_sandbox import SandboxLimits
from studio import auth, datasets, templates
from studio.context import Context
from studio.errors import StudioError
from studio.store.session import Store

BOUND_S = 60.0  # a hang detector, not a speed test: a case that never ends fails here instead of stalling CI
SQL_LIMITS = SandboxLimits(timeout_s=3.0, memory_mb=256, max_rows=1_000, max_result_mb=8)
# What must never reach a person: Python class names, tracebacks, reprs, library names.
LEAK = re.compile(r"Traceback|\b[A-Z][A-Za-z]*(Error|Exception|Warning)\b|object at 0x|<class |NoneType|"
                  r"object is not (iterable|subscriptable|callable)|has no attribute|"
                  r"\bsqlalchemy\b|\bpsycopg\b|\bjinja2\.|\bpolars\.|\bduckdb\.|\bpyarrow\b")
LONG_WORD = "abcdefghij" * 4_000  # a 40,000-letter cell: the quadratic regex trace of the attack list


@dataclass(frozen=True)
class World:
    store: Store
    ctx: Context
    dataset_id: uuid.UUID
    columns: list[Any]


def make_world(store: Store) -> World:
    """A new workspace with the data set `items` (one row has a 40,000-letter description); each test module
    makes one in its module-scoped `world` fixture."""
    account, ws = auth.sign_up(store, f"h{uuid.uuid4().hex[:8]}@example.com", "Hana Hostile", "correct horse")
    ctx = Context(user_id=account.id, workspace_id=ws)
    rows = ["name,city,price,description"] + [f"Item {i},Oslo,{i}.5,plain words {i}" for i in range(8)]
    rows.append(f"Long,Rome,3,{LONG_WORD}")
    ds = datasets.upload(store, ctx, "items.csv", "\n".join(rows).encode(), name="items")
    detail = datasets.get_dataset(store, ctx, ds.id)
    return World(store, ctx, ds.id, list(detail.columns))


def check_message(message: str, case: str) -> None:
    assert message and message.strip(), f"{case}: empty message"
    assert len(message.strip()) >= 15, f"{case}: a message too short to act on: {message!r}"
    leak = LEAK.search(message)
    assert leak is None, f"{case}: the message leaks {leak.group(0)!r}: {message[:300]!r}"


def run_bounded(case: str, steps: list[Callable[[], Any]]) -> list[str]:
    """Run each step in a thread within BOUND_S; each ends harmlessly or in a project error. Returns the messages."""
    messages: list[str] = []
    outcome: dict[str, BaseException] = {}

    def body() -> None:
        for step in steps:
            try:
                result = step()
            except (StudioError, EngineError) as exc:
                messages.append(str(exc))
            except BaseException as exc:  # noqa: BLE001 — anything else is the failure we are looking for
                outcome["error"] = exc
                return
            else:
                messages.extend(messages_in(result))

    thread = threading.Thread(target=body, daemon=True, name=f"hostile {case[:40]}")
    thread.start()
    thread.join(BOUND_S)
    assert not thread.is_alive(), f"{case}: still running after {BOUND_S:g} s"
    if "error" in outcome:
        exc = outcome["error"]
        raise AssertionError(f"{case}: raised {type(exc).__name__}, not a project error: {str(exc)[:300]}") from exc
    for message in messages:
        check_message(message, case)
    return messages


def messages_in(result: Any) -> list[str]:
    """Messages a successful call still shows (a field check's problems and render error)."""
    if isinstance(result, templates.FieldCheck):
        found = [issue.message for issue in result.report.errors]
        return found + ([result.render_error] if result.render_error else [])
    return []


def label(value: Any) -> str:
    """A short description of a case (repr would recurse as deep as the case does)."""
    try:
        return json.dumps(value, default=str)[:80]
    except (RecursionError, ValueError):
        return f"<{type(value).__name__} nested too deep to print>"
