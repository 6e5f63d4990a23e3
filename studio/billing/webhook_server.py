"""`make webhooks`: a small HTTP server (stdlib) that receives Stripe's webhooks: POST /stripe/webhook."""

from __future__ import annotations

import argparse
import logging
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from studio.billing import webhooks
from studio.settings import load_settings
from studio.store.session import Store

PATHS = ("/stripe/webhook", "/stripe/webhook/")
MAX_BODY = 1024 * 1024  # Stripe events are a few KB; refuse anything absurd before reading it

log = logging.getLogger(__name__)


class WebhookServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], store: Store) -> None:
        super().__init__(address, _Handler)
        self.store = store

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}{PATHS[0]}"


class _Handler(BaseHTTPRequestHandler):
    server: WebhookServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        if self.path == "/healthz":
            self._reply(200, "ok")
        else:
            self._reply(404, "not found")

    def do_POST(self) -> None:
        if self.path.split("?")[0] not in PATHS:
            self._reply(404, "not found")
            return
        try:
            length = int(self.headers.get("Content-Length") or "0")
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self._reply(413 if length > MAX_BODY else 400, "bad length")
            return
        body = self.rfile.read(length)
        try:
            result = webhooks.handle(self.server.store, body, self.headers.get("Stripe-Signature"))
        except Exception:
            log.exception("webhook failed")
            self._reply(500, "error; retry")
            return
        log.info("webhook %s: %s", result.status, result.message)
        self._reply(result.status, result.message)

    def _reply(self, status: int, message: str) -> None:
        data = message.encode("utf-8")
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
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    store = Store(load_settings())
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
