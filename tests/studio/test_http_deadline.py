"""The one-port server closes a connection whose request head never completes (issue 15: slow clients)."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import pytest
import uvicorn
import uvicorn.config
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from studio import http_deadline


async def _ok(request: object) -> PlainTextResponse:
    return PlainTextResponse("ok")


def _app_that_installs() -> Starlette:
    """Like server.py: the deadline is installed while uvicorn imports the app (its protocol already chosen)."""
    http_deadline.install()
    return Starlette(routes=[Route("/", _ok)])


@pytest.fixture()
def port(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    monkeypatch.setattr(http_deadline, "HEADER_SECONDS", 0.5)
    monkeypatch.setitem(uvicorn.config.HTTP_PROTOCOLS, "auto", uvicorn.config.HTTP_PROTOCOLS["auto"])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    config = uvicorn.Config(f"{__name__}:_app_that_installs", factory=True, host="127.0.0.1", port=free,
                            log_level="warning", timeout_keep_alive=60)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    while not server.started:
        thread.join(0.05)
    assert config.http_protocol_class is http_deadline.HeaderDeadlineProtocol
    yield free
    server.should_exit = True
    thread.join(10)


def _closed_by_server(sock: socket.socket) -> bool:
    sock.settimeout(30)  # a hang guard: the server closes long before
    try:
        return sock.recv(100) == b""
    except TimeoutError:
        return False


def test_a_client_that_connects_and_sends_nothing_is_disconnected(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        assert _closed_by_server(sock)


def test_a_client_dripping_its_headers_is_disconnected(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        assert _closed_by_server(sock)


def test_whole_requests_are_answered_and_the_connection_kept_alive_until_the_next_deadline(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        for _ in range(2):
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            sock.settimeout(30)
            answer = b""
            while not answer.endswith(b"\r\n\r\nok"):  # the head and the body may come in two writes
                chunk = sock.recv(1000)
                assert chunk, f"closed before the answer: {answer!r}"
                answer += chunk
            assert answer.startswith(b"HTTP/1.1 200")
        assert _closed_by_server(sock)  # idle after the response: the header deadline, not keep-alive's 60 s
