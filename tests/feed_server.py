"""A local feed server for the URL data sets (issue 19): a tests.http_double.LocalServer (127.0.0.1, port 0).

Each path serves a `Route` the test sets and may change between fetches: a body with ETag /
Last-Modified (answered 304 when the request's validators match), a status, a redirect, a delay
(timeouts), an endless body (size caps), or a required header (credentials). Every request is
recorded with its headers, so a test can check what was (not) sent.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field

from tests.http_double import LocalServer, QuietHandler


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "text/csv"
    etag: bool = True
    last_modified: str | None = None
    location: str | None = None  # answer `status` (302 unless set) with this Location
    delay_s: float = 0.0  # before the headers
    drip_s: float = 0.0  # between body chunks of 1 KiB
    endless: bool = False  # stream without end (no Content-Length)
    require: dict[str, str] = field(default_factory=dict)  # headers a request must carry, else 401


@dataclass
class Seen:
    path: str
    headers: dict[str, str]


class FeedServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Seen] = []
        server = self

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                server.requests.append(Seen(self.path, {k.lower(): v for k, v in self.headers.items()}))
                route = server.routes.get(self.path.split("?")[0])
                if route is None:
                    return self._send(404, b"not found", "text/plain")
                if route.delay_s:
                    time.sleep(route.delay_s)
                for name, value in route.require.items():
                    if self.headers.get(name) != value:
                        return self._send(401, b"who are you?", "text/plain")
                if route.location is not None:
                    self.send_response(route.status if route.status in (301, 302, 303, 307, 308) else 302)
                    self.send_header("Location", route.location)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
                if route.status != 200:
                    return self._send(route.status, b"server trouble", "text/plain")
                tag = f'"{hashlib.sha256(route.body).hexdigest()[:16]}"' if route.etag else None
                if tag and self.headers.get("If-None-Match") == tag or \
                        route.last_modified and self.headers.get("If-Modified-Since") == route.last_modified:
                    self.send_response(304)
                    self.send_header("ETag", tag or "")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
                self.send_response(200)
                self.send_header("Content-Type", route.content_type)
                if tag:
                    self.send_header("ETag", tag)
                if route.last_modified:
                    self.send_header("Last-Modified", route.last_modified)
                if route.endless:
                    self.send_header("Connection", "close")
                    self.end_headers()
                    try:
                        while True:
                            self.wfile.write(b"x" * 65536)
                    except OSError:
                        return None
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                try:
                    if route.drip_s:
                        for i in range(0, len(route.body), 1024):
                            self.wfile.write(route.body[i:i + 1024])
                            self.wfile.flush()
                            time.sleep(route.drip_s)
                    else:
                        self.wfile.write(route.body)
                except OSError:
                    return None
                return None

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.local = LocalServer(Handler)
        self.httpd, self.thread = self.local.server, self.local.thread

    @property
    def base(self) -> str:
        return self.local.url

    def url(self, path: str) -> str:
        return self.base + path

    def start(self) -> FeedServer:
        self.local.start()
        return self

    def stop(self) -> None:
        self.local.stop()

    def hits(self, path: str) -> list[Seen]:
        return [r for r in self.requests if r.path.split("?")[0] == path]
