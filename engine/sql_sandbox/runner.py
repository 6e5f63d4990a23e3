"""The parent side: stage the tables, start the child, enforce its deadline, read its answer.

Every query gets a process of its own that has served no other. Starting Python and importing
DuckDB and pyarrow takes ~0.2 s, so one child is started ahead of the next query (a spare): it
fences itself, imports, and waits for its request on stdin; a query takes it and a new spare
starts once the answer is in.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pyarrow as pa

from engine.sql_sandbox import protocol
from engine.sql_sandbox.messages import memory_message
from engine.sql_sandbox.models import (
    SandboxLimits,
    SqlError,
    SqlResult,
    SqlTimeout,
    result_too_large,
    seconds_label,
)

log = logging.getLogger(__name__)

_CHILD = Path(__file__).with_name("child.py")
# Starting Python, importing DuckDB and pyarrow and opening the Parquet copies has its own deadline:
# the query's timeout_s only starts when the child says READY.
STARTUP_TIMEOUT_S = 30.0
_READ_CHUNK = 1 << 20
_STDERR_KEPT = 16 * 1024
DEFAULT_LIMITS = SandboxLimits()


def run_sql(sql: str, tables: Mapping[str, Path | bytes], *,
            limits: SandboxLimits = DEFAULT_LIMITS) -> SqlResult:
    """Run one read-only query over ``tables`` (name -> Parquet path or bytes) in a killable child."""
    _check_names(tables)
    child = _SPARE.take()
    try:
        staged = [{"name": name, "file": str(_stage(name, source, child.workdir / f"t{i}.parquet"))}
                  for i, (name, source) in enumerate(tables.items())]
        child.send({"sql": sql, "tables": staged, "limits": asdict(limits)})
        return child.answer(limits)
    finally:
        child.close()
        _SPARE.refill()


def _check_names(tables: Mapping[str, Path | bytes]) -> None:
    """Every table needs a usable name, distinct from the others as DuckDB compares names."""
    seen: dict[str, str] = {}
    for name in tables:
        if not isinstance(name, str) or not name.strip() or "\x00" in name:
            raise SqlError(f"A data set needs a name to be queried, not {name!r}.")
        if name.lower() in seen:
            raise SqlError(f"The data sets `{seen[name.lower()]}` and `{name}` differ only in letter case, "
                           "which SQL cannot tell apart: rename one of them.")
        seen[name.lower()] = name


def _stage(name: str, source: Path | bytes, target: Path) -> Path:
    """A private copy of the table's Parquet: the child may read it and nothing else."""
    try:
        if isinstance(source, (bytes, bytearray, memoryview)):
            target.write_bytes(source)
        else:
            shutil.copyfile(Path(source), target)
    except OSError as exc:
        raise SqlError(f"The data set `{name}` could not be read ({exc.strerror or exc}).") from None
    return target


class _Child:
    """One sandbox process in a private directory, and the frames it writes."""

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="dotoro-sql-")
        self.workdir = Path(self._tmp.name)
        self.owner = os.getpid()
        env = {"PATH": os.defpath, "HOME": str(self.workdir), "TMPDIR": str(self.workdir), "LANG": "C.UTF-8"}
        env |= {k: os.environ[k] for k in ("TZ", "LD_LIBRARY_PATH") if k in os.environ}
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-B", str(_CHILD)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            cwd=self.workdir, env=env, close_fds=True,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None and self.proc.stderr is not None
        self._stdin, self._stdout, self._stderr = self.proc.stdin, self.proc.stdout, self.proc.stderr
        self._frames = protocol.FrameBuffer()
        self._stderr_tail = bytearray()
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._stdout, selectors.EVENT_READ)
        self._selector.register(self._stderr, selectors.EVENT_READ)
        self._stdout_open = True

    @property
    def usable(self) -> bool:
        """Started by this process, still running and not yet given a request."""
        return self.owner == os.getpid() and not self._stdin.closed and self.proc.poll() is None

    def send(self, request: dict[str, Any]) -> None:
        """Hand the child its one request (written next to the tables; the path goes on stdin)."""
        path = self.workdir / "request.json"
        path.write_text(json.dumps(request), encoding="utf-8")
        try:
            self._stdin.write(f"{path}\n".encode())
            self._stdin.close()
        except OSError:  # it died waiting: answer() reports how
            pass

    def answer(self, limits: SandboxLimits) -> SqlResult:
        """Wait for READY, then for the result within ``timeout_s``; kill the child at a deadline."""
        self._frames.max_payload = protocol.wire_limit(limits.max_result_bytes)
        kind, payload = self._next(time.monotonic() + STARTUP_TIMEOUT_S, limits, startup=True)
        if kind == protocol.READY:
            deadline = time.monotonic() + limits.timeout_s
            kind, payload = self._next(deadline, limits, startup=False)
            if kind == protocol.RESULT:
                meta: dict[str, Any] = json.loads(payload)
                kind, payload = self._next(deadline, limits, startup=False)
                if kind == protocol.ARROW:
                    table = pa.ipc.open_stream(payload).read_all()
                    return SqlResult(table=table, total_rows=meta["total_rows"], truncated=meta["truncated"],
                                     elapsed_s=meta["elapsed_s"], columns=list(table.column_names))
        if kind == protocol.ERROR:
            body = json.loads(payload)
            raise SqlError(body["message"], line=body.get("line"), column=body.get("column"))
        raise SqlError(f"The SQL sandbox answered out of turn ({kind!r}).")

    def close(self) -> None:
        """Kill the child if it still runs, reap it, and close the pipes."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._selector.close()
        for stream in (self._stdin, self._stdout, self._stderr):
            with contextlib.suppress(OSError):
                stream.close()
        self._tmp.cleanup()

    def _next(self, deadline: float, limits: SandboxLimits, *, startup: bool) -> tuple[bytes, bytes]:
        """The next frame; at the deadline SIGKILL the child and raise SqlTimeout."""
        while True:
            try:
                frame = self._frames.pop()
            except protocol.FrameTooLarge:  # the child checks first; this is the fence behind it
                self.proc.kill()
                raise SqlError(result_too_large(limits.max_result_mb, 0)) from None
            if frame is not None:
                return frame
            if not self._stdout_open:
                raise self._exit_error(limits)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.proc.kill()
                raise SqlTimeout(_startup_timeout() if startup else _query_timeout(limits.timeout_s))
            for key, _ in self._selector.select(remaining):
                data = os.read(key.fd, _READ_CHUNK)
                if key.fileobj is self._stdout:
                    if data:
                        self._frames.feed(data)
                    else:
                        self._selector.unregister(self._stdout)
                        self._stdout_open = False
                elif data:
                    self._stderr_tail = (self._stderr_tail + data)[-_STDERR_KEPT:]
                else:
                    self._selector.unregister(self._stderr)

    def _exit_error(self, limits: SandboxLimits) -> SqlError:
        """Why the child ended without an answer, said for the analyst; the details go to the log."""
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        log.warning("SQL sandbox child exited with %s: %s", code, self._stderr_tail.decode(errors="replace"))
        if code == -signal.SIGXCPU:
            return SqlTimeout(_query_timeout(limits.timeout_s))
        if code == -signal.SIGKILL:  # not ours (we raise before killing): the kernel ran out of memory
            return SqlError(memory_message(limits.memory_mb))
        if code < 0:
            return SqlError("The SQL engine stopped unexpectedly while running this query; it may have needed more "
                            f"than the {limits.memory_mb} MB of memory it may use. Simplify the query and try again.")
        return SqlError("The SQL sandbox failed before answering; please try again. "
                        "If it keeps happening, report it with the query.")


def _query_timeout(timeout_s: float) -> str:
    """The message for a query killed at its deadline."""
    return (f"The query ran longer than {seconds_label(timeout_s)} and was stopped. Look for a join without "
            "a condition or a recursive query that never ends, or filter the data before joining.")


def _startup_timeout() -> str:
    """The message for a sandbox that could not even load the tables in time."""
    return (f"The SQL sandbox could not load the workspace's tables within {seconds_label(STARTUP_TIMEOUT_S)} "
            "and was stopped; please try again.")


class _Spare:
    """At most one child started ahead of the next query, already fenced and importing."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._child: _Child | None = None

    def take(self) -> _Child:
        """The spare when it is usable, else a child started now."""
        with self._lock:
            child, self._child = self._child, None
        if child is not None and child.usable:
            return child
        if child is not None and child.owner == os.getpid():
            child.close()  # it died while waiting (a forked process's inherited spare is not ours to end)
        return _Child()

    def refill(self) -> None:
        """Start the next spare (unless DOTORO_SQL_SPARE=0)."""
        if os.environ.get("DOTORO_SQL_SPARE", "1") == "0":
            return
        with self._lock:
            if self._child is None or not self._child.usable:
                self._child = _Child()

    def close(self) -> None:
        """End the spare (at exit)."""
        with self._lock:
            child, self._child = self._child, None
        if child is not None and child.owner == os.getpid():
            child.close()


_SPARE = _Spare()
atexit.register(_SPARE.close)
