"""Outgoing HTTP to addresses users type in (webhook endpoints, feed URLs): refuse the studio's own network.

`check_url(url, allow_private)` accepts http(s) URLs whose host resolves only to public addresses; a host
that resolves to a private, loopback, link-local, multicast, reserved or unspecified address (or a
hostname like `localhost`) is refused unless the operator allows private addresses. Check again right
before each request (DNS can change between saving and sending), and never follow redirects
automatically: a redirect target is a new URL to check.
"""

from __future__ import annotations

import ipaddress
import socket
import time
import typing
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpcore
import httpx

from studio.errors import StudioError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeUrl(StudioError):
    """A URL the studio will not send to; the message says why and what to do."""


@dataclass(frozen=True)
class CheckedUrl:
    url: str
    host: str
    addresses: tuple[str, ...]


def is_private(address: IPAddress) -> bool:
    """True for every address that is not on the public internet."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if isinstance(address, ipaddress.IPv6Address) and address.sixtofour is not None and is_private(address.sixtofour):
        return True  # 6to4 (2002::/16) tunnels to the IPv4 address inside it (NAT64 and Teredo are not global)
    return (address.is_private or address.is_loopback or address.is_link_local or address.is_multicast
            or address.is_reserved or address.is_unspecified or not address.is_global)


def resolve(host: str, port: int) -> tuple[str, ...]:
    """Every address `host` resolves to (an IP literal: itself)."""
    try:
        return (str(ipaddress.ip_address(host.strip("[]"))),)
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeUrl(f"The host {host} could not be resolved ({exc}); check the address.") from None
    return tuple(dict.fromkeys(str(info[4][0]) for info in infos))


def check_url(url: str, allow_private: bool, *, setting: str = "WEBHOOK_ALLOW_PRIVATE") -> CheckedUrl:
    """The URL if it may be requested; UnsafeUrl naming the reason otherwise (see the module note).

    `setting` names the operator setting that allows private addresses, for the message."""
    text = (url or "").strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl(f"{text[:200]!r} is not a valid URL ({exc}).") from None
    if parts.scheme not in ("http", "https"):
        raise UnsafeUrl(f"Only http:// and https:// addresses can be used (got {parts.scheme or 'no scheme'}://).")
    host = parts.hostname or ""
    if not host:
        raise UnsafeUrl(f"The address {text[:200]!r} has no host name.")
    if parts.username or parts.password:
        raise UnsafeUrl("Put credentials in a header or the path, not in the address (user:password@host).")
    addresses = resolve(host, port or (443 if parts.scheme == "https" else 80))
    if not allow_private:
        blocked = [a for a in addresses if is_private(ipaddress.ip_address(a.split("%")[0]))]
        if blocked or host.lower() == "localhost" or host.lower().endswith(".localhost"):
            shown = ", ".join(blocked) or "a local name"
            raise UnsafeUrl(f"{host} points to a private or local address ({shown}); the studio only sends to "
                            f"public addresses. An operator can allow private ones ({setting}=on).")
    return CheckedUrl(text, host, addresses)


def _ran_out() -> Exception:
    return httpcore.ReadTimeout("the request's total time ran out")  # httpx reports it as a timeout


class DeadlineStream(httpcore.NetworkStream):
    """A connection whose reads all end at one deadline: a server that drips its answer a byte at a time (each
    within the read timeout) cannot hold the worker past the request's total time. `expired()` is raised then."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: float,
                 expired: Callable[[], Exception] = _ran_out) -> None:
        self.stream, self.deadline, self.expired = stream, deadline, expired

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        left = self.deadline - time.monotonic()
        try:
            if left <= 0:
                raise httpcore.ReadTimeout("total time")
            return self.stream.read(max_bytes, left if timeout is None else min(timeout, left))
        except httpcore.ReadTimeout:
            if time.monotonic() < self.deadline:
                raise
            raise self.expired() from None

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.stream.write(buffer, timeout)

    def close(self) -> None:
        self.stream.close()

    def start_tls(self, ssl_context: typing.Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return DeadlineStream(self.stream.start_tls(ssl_context, server_hostname, timeout), self.deadline, self.expired)

    def get_extra_info(self, info: str) -> typing.Any:
        return self.stream.get_extra_info(info)


class DeadlineBackend(httpcore.SyncBackend):
    """Connections that end `seconds` from now (one backend per request)."""

    def __init__(self, seconds: float, expired: Callable[[], Exception] = _ran_out) -> None:
        self.deadline, self.expired = time.monotonic() + seconds, expired

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: typing.Iterable[typing.Any] | None = None) -> httpcore.NetworkStream:
        return DeadlineStream(super().connect_tcp(host, port, timeout, local_address, socket_options),
                              self.deadline, self.expired)


def deadline_transport(seconds: float) -> httpx.HTTPTransport:
    """An httpx transport whose request (connect, send, answer) ends within `seconds` in all. Certificates are
    checked as httpx does by default (SSL_CERT_FILE / SSL_CERT_DIR honoured); a client given a transport uses
    no proxy from the environment."""
    transport = httpx.HTTPTransport(retries=0)
    # httpx has no parameter for the network backend: the same pool with the deadline backend replaces its own
    transport._pool = httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(),
                                              network_backend=DeadlineBackend(seconds), retries=0)
    return transport
