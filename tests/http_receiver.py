"""A local HTTP receiver for outgoing webhooks and Slack posts: records every request, answers as scripted."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from tests.http_double import LocalServer, QuietHandler


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """`statuses`: the answers to give, in order (the last one repeats); `hold`: requests wait until it is set."""

    url: str = ""
    statuses: list[int] = field(default_factory=lambda: [200])
    requests: list[Received] = field(default_factory=list)
    hold: threading.Event | None = None
    arrived: threading.Event = field(default_factory=threading.Event)
    headers_out: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, req: Received) -> int:
        with self._lock:
            self.requests.append(req)
            index = len(self.requests) - 1
            self.arrived.set()
        if self.hold is not None:
            self.hold.wait(30)
        return self.statuses[min(index, len(self.statuses) - 1)]


@contextmanager
def receiver(statuses: list[int] | None = None, *, hold: threading.Event | None = None,
             headers: dict[str, str] | None = None, tls: tuple[str, str] | None = None) -> Iterator[Receiver]:
    """A receiver on 127.0.0.1 (`tls`: (certificate, key) files to serve https://localhost:<port>/hook)."""
    rec = Receiver(statuses=statuses or [200], hold=hold, headers_out=headers or {})

    class Handler(QuietHandler):  # HTTP/1.0: one request a connection
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            status = rec.answer(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, self._body()))
            payload = b"ok" if status < 300 else b"nope"
            try:
                self.send_response(status)
                for k, v in rec.headers_out.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:  # the client went away (a killed worker)
                pass

    local = LocalServer(Handler)
    rec.url = f"{local.url}/hook"
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
        local.server.socket = context.wrap_socket(local.server.socket, server_side=True)
        rec.url = f"https://localhost:{local.port}/hook"
    local.start()
    try:
        yield rec
    finally:
        if rec.hold is not None:
            rec.hold.set()
        local.stop()
