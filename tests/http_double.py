"""What the local HTTP doubles and receivers of the tests share: a threaded server on 127.0.0.1 (port 0) that starts
and stops with the test (LocalServer), a quiet request handler that reads bodies (QuietHandler), one that answers
JSON (JsonHandler), and failures scripted for the next call of a kind (LocalDouble).

The Reddit and Reddit Ads doubles subclass LocalDouble (naming its Failure dataclass) and build their handlers from
JsonHandler; the Stripe double, the feed server and the webhook receiver use the server and the handlers.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Generic, Self, TypeVar
from urllib.parse import parse_qs, urlparse

F = TypeVar("F")


class LocalServer:
    """A threaded server on 127.0.0.1 (port 0: tests never clash) serving `handler` from a daemon thread."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class LocalDouble(LocalServer, Generic[F]):
    """The server's life and the scripted failures; `failure` is the dataclass fail_next builds (mode first)."""

    failure: type[F]

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.lock = threading.RLock()
        self.failures: dict[str, deque[F]] = {}
        self.release = threading.Event()  # set by the test (or stop) to end requests a failure holds open
        super().__init__(handler)

    def stop(self) -> None:
        self.release.set()
        super().stop()

    def fail_next(self, kind: str, mode: str, **kw: Any) -> None:
        """The next call of `kind` fails as `mode` says (the double's Failure lists the modes and their options)."""
        with self.lock:
            self.failures.setdefault(kind, deque()).append(self.failure(mode, **kw))  # type: ignore[call-arg]

    def _next_failure(self, kind: str) -> F | None:
        with self.lock:
            queue = self.failures.get(kind)
            return queue.popleft() if queue else None


class QuietHandler(BaseHTTPRequestHandler):
    """A handler that logs nothing and reads a request's body."""

    def log_message(self, *_args: Any) -> None:
        pass

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""


class JsonHandler(QuietHandler):
    """Keep-alive HTTP/1.1 answering JSON, quiet, reading bodies and bearer tokens."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # keep-alive on loopback: no 40 ms delayed-ACK stalls

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = b"" if status == 204 else json.dumps(body).encode()  # a 204 has no body: the connection is reused
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            if self.headers.get("Connection", "").lower() == "close":
                self.send_header("Connection", "close")  # tell the client's pool not to reuse it
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the client gave up (timeout) or was killed

    def _target(self) -> tuple[str, dict[str, str]]:
        """The request's path (no trailing slash) and its query (the last value of each name)."""
        parsed = urlparse(self.path)
        return parsed.path.rstrip("/"), {k: v[-1] for k, v in parse_qs(parsed.query).items()}

    def _bearer(self) -> str:
        auth = self.headers.get("Authorization", "")
        return auth.split(" ", 1)[1] if " " in auth else ""
