"""A deadline for a request's headers on the one-port server (uvicorn under `streamlit run server.py`).

uvicorn has no request-start timeout: `timeout_keep_alive` runs only between requests and every byte
received cancels it, so a client that connects and sends nothing, or drips its headers, holds a
connection (a file descriptor) forever — 20,000 of them and nobody can connect. ASGI code cannot help:
it runs only once the headers are complete. `streamlit run` builds uvicorn's Config itself and exposes
none of its HTTP settings, so `install()` (called by server.py) makes uvicorn's "auto" HTTP protocol
this subclass of its h11 protocol. Request bodies have their own
deadline where they are read (studio.http: 408 after READ_TIMEOUT_S).

A connection the server ends while the client is still sending (a refused body: 408, 413) is closed
the "lingering" way: the answer is flushed and the write side shut (FIN), what the client still sends
is read and dropped for up to LINGER_SECONDS, then the socket closes. Closing at once with unread
bytes makes the kernel send a reset, which can destroy the answer in the client's buffer before it is
read — the client would see "connection reset" instead of the 408 that tells it why.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from types import FrameType
from typing import Any

import uvicorn.config
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)

HEADER_SECONDS = 10.0
"""Seconds a client has, from connecting (or from the previous response), to send a whole request head."""

LINGER_SECONDS = 2.0
"""Seconds a closing connection keeps reading (and dropping) what the client still sends, after its answer."""


class _LingeringTransport:
    """The connection's transport, whose close() shuts the write side first and closes LINGER_SECONDS later.

    Everything else is the real transport's; is_closing() is true from the first close(), so the protocol
    and uvicorn treat the connection as closed. The client closing its side ends the linger at once (the
    protocol's eof_received() returns nothing, so asyncio closes the transport).
    """

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self.lingering = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)

    def is_closing(self) -> bool:
        return self.lingering or self._transport.is_closing()

    def close(self) -> None:
        if self.lingering or self._transport.is_closing():
            return
        if not self._transport.can_write_eof():
            self._transport.close()
            return
        self.lingering = True
        self._transport.write_eof()  # after what is buffered: the answer goes out, then FIN
        self._transport.resume_reading()  # flow control may have paused it; the linger must read
        self._loop.call_later(LINGER_SECONDS, self._transport.close)


class HeaderDeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol closing a connection whose request head does not arrive within HEADER_SECONDS."""

    _header_timer: asyncio.TimerHandle | None = None
    _seen_cycle: Any = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_LingeringTransport(transport, self.loop))  # type: ignore[arg-type]
        self._arm()

    def data_received(self, data: bytes) -> None:
        if getattr(self.transport, "lingering", False):
            return  # the answer is sent; what the client still sends is dropped
        super().data_received(data)

    def handle_events(self) -> None:
        super().handle_events()
        if self.cycle is not None and self.cycle is not self._seen_cycle:  # a request head is complete
            self._seen_cycle = self.cycle
            self._disarm()
        elif self.transport.get_protocol() is not self:  # upgraded to a websocket: no longer ours
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()  # the next request on a kept-alive connection has the same deadline

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(HEADER_SECONDS, self._expire)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _expire(self) -> None:
        self._header_timer = None
        if self.transport.get_protocol() is self and not self.transport.is_closing():
            log.warning("closed a connection whose request headers did not arrive within %g s", HEADER_SECONDS)
            self.transport.close()


def install() -> None:
    """Give uvicorn's default ("auto") HTTP protocol the header deadline, from server.py's import.

    `streamlit run server.py` hands uvicorn the import string "server:app": uvicorn's Config.load() has
    already picked its protocol class when it imports server.py, so the Config doing that import (found
    on the stack) gets this protocol too; configs loaded later take it from uvicorn's table.
    """
    uvicorn.config.HTTP_PROTOCOLS["auto"] = f"{__name__}:HeaderDeadlineProtocol"
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        loading = frame.f_locals.get("self")
        if isinstance(loading, uvicorn.config.Config) and loading.http == "auto":
            loading.http_protocol_class = HeaderDeadlineProtocol  # read by uvicorn for each new connection
            return
        frame = frame.f_back
