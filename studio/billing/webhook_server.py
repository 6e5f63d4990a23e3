"""`make webhooks`: a small HTTP server (stdlib) that receives Stripe's webhooks: POST /stripe/webhook."""

from __future__ import annotations

import argparse
import contextlib
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from studio import logging_setup
from studio.billing import webhooks
from studio.settings import load_settings
from studio.store.session import Store

PATHS = ("/stripe/webhook", "/stripe/webhook/")
MAX_BODY = 1024 * 1024  # Stripe events are a few KB; refuse anything absurd before reading it
# Each read of a request, and the whole body, must arrive within this: a client that sends 10 of
# 1,000 bytes (or one byte a second) gets a 408 and a closed connection instead of a thread forever.
READ_TIMEOUT_S = 10.0

log = logging.getLogger(__name__)


class WebhookServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], store: Store, *, read_timeout_s: float = READ_TIMEOUT_S) -> None:
        super().__init__(address, _Handler)
        self.store = store
        self.read_timeout_s = read_timeout_s

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}{PATHS[0]}"


class _Handler(BaseHTTPRequestHandler):
    server: WebhookServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.read_timeout_s)  # every socket read (request line, headers)

    def handle_one_request(self) -> None:
        # Per-read timeouts do not stop a client that drips a header line every few seconds: the request
        # line and headers get one deadline in all, after which the connection is shut.
        self._headers_deadline = threading.Timer(self.server.read_timeout_s, self._hang_up)
        self._headers_deadline.daemon = True
        self._headers_deadline.start()
        try:
            super().handle_one_request()
        finally:
            self._headers_deadline.cancel()

    def _hang_up(self) -> None:
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def do_GET(self) -> None:
        self._headers_deadline.cancel()
        if self.path == "/healthz":
            self._reply(200, "ok")
        else:
            self._reply(404, "not found")

    def do_POST(self) -> None:
        self._headers_deadline.cancel()  # the body has a deadline of its own (_read_body)
        if self.path.split("?")[0] not in PATHS:
            self._reply(404, "not found")
            return
        try:
            length = int(self.headers.get("Content-Length") or "0")
        except ValueError:
            length = -1
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self.close_connection = True
            self._reply(411, "send a Content-Length")
            return
        if length < 0 or length > MAX_BODY:
            self.close_connection = True
            self._reply(413 if length > MAX_BODY else 400, "bad length")
            return
        body = self._read_body(length)
        if body is None:
            self.close_connection = True
            self._reply(408, "the request body did not arrive in time")
            return
        try:
            result = webhooks.handle(self.server.store, body, self.headers.get("Stripe-Signature"))
        except Exception:
            log.exception("webhook failed")
            self._reply(500, "error; retry")
            return
        if result.status < 400:
            logging_setup.event(log, "webhook.handled", status=result.status, detail=result.message)
        self._reply(result.status, result.message)

    def _read_body(self, length: int) -> bytes | None:
        """``length`` bytes within one read timeout in all (not per read), or None when they do not come."""
        deadline = time.monotonic() + self.server.read_timeout_s
        chunks: list[bytes] = []
        received = 0
        while received < length:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self.connection.settimeout(remaining)
            try:
                chunk = self.rfile.read1(length - received)
            except TimeoutError:
                return None
            if not chunk:  # the client hung up
                return None
            chunks.append(chunk)
            received += len(chunk)
        self.connection.settimeout(self.server.read_timeout_s)
        return b"".join(chunks)

    def _reply(self, status: int, message: str) -> None:
        if status >= 400:  # every refused request: bad signature, too big, too slow, wrong path
            logging_setup.event(log, "request.refused", level=logging.WARNING, refused="webhook", status=status,
                                reason=message, path=self.path.split("?")[0], client=self.client_address[0])
        data = message.encode("utf-8")
        with contextlib.suppress(OSError):  # a client that hung up (or was hung up on) gets no answer
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        log.debug(format, *args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (put a TLS proxy in front)")
    parser.add_argument("--port", type=int, default=8502)
    args = parser.parse_args()
    store = Store(load_settings())
    logging_setup.configure(store.settings)
    server = WebhookServer((args.host, args.port), store)
    log.info("Stripe webhooks on %s", server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        store.dispose()


if __name__ == "__main__":
    main()
