"""Fetching a data set's URL safely: one GET with limits, for studio.feeds (issue 19).

- Addresses: the host is resolved once, every address it resolves to is checked, and the connection
  goes to a checked address (a guarded httpcore network backend), so a DNS answer cannot change
  between the check and the connection (no rebinding). Private, loopback, link-local, shared,
  multicast and reserved ranges — anything not globally routable — are refused unless the operator
  lists them in FEED_ALLOWED_NETWORKS. TLS still verifies the certificate against the host name.
- Redirects are followed by hand, at most MAX_REDIRECTS, each new address checked the same way;
  credentials are only sent to the origin the person entered.
- Limits: connect and read timeouts, a total time for the whole fetch, and a size cap (the upload
  cap, MAX_UPLOAD_MB) counted on the decoded body as it streams, so neither a slow drip nor a
  gzip bomb holds a worker. No proxy from the environment (it would bypass the address check).
- Conditional requests: an ETag / Last-Modified seen before is sent back; a 304 means unchanged.
"""

from __future__ import annotations

import base64
import ipaddress
import re
import socket
import time
import typing
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from studio.errors import StudioError
from studio.net_guard import DeadlineStream
from studio.settings import Settings

MAX_REDIRECTS = 5
USER_AGENT = "DotoroStudio-Feeds/1.0 (+data set refresh)"
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_FORBIDDEN_HEADERS = {"host", "content-length", "transfer-encoding", "connection", "cookie", "te", "upgrade"}


class FetchFailed(StudioError):
    """A fetch that did not bring data; the message says why in words a person can act on."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AddressRefused(FetchFailed):
    """The address (or one a redirect leads to) is in a range feeds may not reach."""


@dataclass(frozen=True)
class Credentials:
    """Basic auth (`username`, `secret`) or one request header (`username` holds its name, `secret` its value)."""

    kind: str  # "basic" | "header"
    username: str
    secret: str

    def headers(self) -> dict[str, str]:
        if self.kind == "basic":
            token = base64.b64encode(f"{self.username}:{self.secret}".encode()).decode()
            return {"Authorization": f"Basic {token}"}
        return {self.username: self.secret}


def entered_login(kind: str, username: str, secret: str) -> Credentials | None:
    """Credentials as entered, or a clear error; None for "none"."""
    if kind == "none":
        return None
    if kind not in ("basic", "header"):
        raise FetchFailed(f"Unknown kind of credentials {kind!r}: use none, basic or header.")
    username, secret = username.strip(), secret.strip()
    if kind == "basic":
        if not username or ":" in username:
            raise FetchFailed("Basic authentication needs a user name (without ':') and a password.")
    elif not _TOKEN.match(username) or username.lower() in _FORBIDDEN_HEADERS:
        raise FetchFailed(f"{username!r} cannot be used as a header name: use a name such as X-Api-Key or "
                          "Authorization.")
    if not secret:
        raise FetchFailed("Enter the password or header value (it is stored encrypted and never shown again).")
    if any(c in secret for c in "\r\n\x00"):
        raise FetchFailed("The password or header value holds a line break, which no HTTP header can carry.")
    return Credentials(kind, username, secret)


@dataclass(frozen=True)
class Policy:
    allowed: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    max_bytes: int
    connect_s: float
    read_s: float
    total_s: float

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        extra = settings.extra
        allowed = []
        for part in extra.get("FEED_ALLOWED_NETWORKS", "").split(","):
            if part.strip():
                allowed.append(ipaddress.ip_network(part.strip(), strict=False))
        return cls(tuple(allowed), settings.max_upload_bytes, float(extra.get("FEED_CONNECT_TIMEOUT_SECONDS", 10)),
                   float(extra.get("FEED_READ_TIMEOUT_SECONDS", 30)), float(extra.get("FEED_TIMEOUT_SECONDS", 120)))

    def check(self, host: str, address: str) -> None:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if any(ip in net for net in self.allowed):
            return
        if not ip.is_global or ip.is_multicast or any(not v4.is_global for v4 in _embedded_v4(ip)):
            shown = host if host == str(ip) else f"{host} ({ip})"
            raise AddressRefused(f"{shown} is a private, local or reserved address, which feeds may not reach. "
                                 "Use the data's public address (an operator can allow a network with "
                                 "FEED_ALLOWED_NETWORKS).")


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_v4(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address leads to (6to4, Teredo, NAT64): a private one there is private too."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return []
    found = [v for v in (ip.sixtofour, *(ip.teredo or ())) if v is not None]
    if ip in _NAT64:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


@dataclass(frozen=True)
class Fetched:
    status: int  # 200 (body) or 304 (not modified)
    body: bytes | None
    content_type: str
    etag: str | None
    last_modified: str | None
    url: str  # after redirects


class _GuardedBackend(httpcore.SyncBackend):
    """Resolves once, checks every address, connects to a checked one (what the TLS layer then verifies is
    still the host name httpcore was given)."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.deadline = time.monotonic() + policy.total_s  # one backend per fetch: the whole fetch's deadline

    def _too_long(self) -> Exception:
        return FetchFailed(f"The download took longer than {self.policy.total_s:g} s; stopped.")

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: typing.Iterable[typing.Any] | None = None) -> httpcore.NetworkStream:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise FetchFailed(f"The host {host!r} cannot be found ({exc.args[-1] if exc.args else exc}): "
                              "check the address.") from None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        for address in addresses:
            self.policy.check(host, address)
        failure: Exception | None = None
        for address in addresses:
            try:
                return DeadlineStream(super().connect_tcp(address, port, timeout, local_address, socket_options),
                                      self.deadline, self._too_long)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure


class _GuardedTransport(httpx.HTTPTransport):
    def __init__(self, policy: Policy) -> None:
        super().__init__(trust_env=False, retries=0)
        # httpx builds its own pool; the same pool with the guarded backend replaces it (httpx has no
        # parameter for the network backend).
        self._pool = httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(trust_env=False),
                                             network_backend=_GuardedBackend(policy), retries=0)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


def check_url(url: str) -> str:
    """The address trimmed, or a clear error when it cannot be fetched."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchFailed("Enter an address starting with https:// (or http://), like https://shop.example/feed.xml.")
    if parts.username or parts.password:
        raise FetchFailed("Put the user name and password in the credentials fields, not in the address "
                          "(they would be stored and shown in clear).")
    if len(url) > 2000:
        raise FetchFailed("The address is longer than 2,000 characters.")
    return url


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:,.0f} MB"


def fetch(url: str, policy: Policy, *, credentials: Credentials | None = None, etag: str | None = None,
          last_modified: str | None = None) -> Fetched:
    """GET `url` within the policy's limits; FetchFailed (or AddressRefused) says why it did not work."""
    began = time.monotonic()
    start = _origin(check_url(url))
    conditional = {**({"If-None-Match": etag} if etag else {}),
                   **({"If-Modified-Since": last_modified} if last_modified else {})}
    timeout = httpx.Timeout(connect=policy.connect_s, read=policy.read_s, write=policy.read_s, pool=policy.connect_s)
    with httpx.Client(transport=_GuardedTransport(policy), timeout=timeout, follow_redirects=False, trust_env=False,
                      headers={"User-Agent": USER_AGENT}) as client:
        for _hop in range(MAX_REDIRECTS + 1):
            headers = dict(conditional)
            if credentials is not None and _origin(url) == start:  # never hand them to another site
                headers.update(credentials.headers())
            try:
                with client.stream("GET", url, headers=headers) as response:
                    if response.status_code in (301, 302, 303, 307, 308):
                        location = response.headers.get("location", "")
                        if not location:
                            raise FetchFailed(f"The server answered {response.status_code} without saying where to.",
                                              status=response.status_code)
                        url = check_url(urljoin(str(response.url), location))
                        continue
                    return _read(response, policy, began)
            except FetchFailed:
                raise
            except httpx.ConnectTimeout:
                raise FetchFailed(f"The server did not accept a connection within {policy.connect_s:g} s.") from None
            except httpx.ReadTimeout:
                raise FetchFailed(f"The server stopped sending for more than {policy.read_s:g} s.") from None
            except httpx.TimeoutException:
                raise FetchFailed("The server took too long to answer.") from None
            except httpx.ConnectError as exc:
                raise FetchFailed(f"Could not connect to {urlsplit(url).hostname}: {exc}.") from None
            except httpx.HTTPError as exc:  # protocol errors, broken encodings, closed connections
                raise FetchFailed(f"The download failed: {exc.__class__.__name__}: {exc}.") from None
    raise FetchFailed(f"The address redirected more than {MAX_REDIRECTS} times; use the final address.")


def _read(response: httpx.Response, policy: Policy, began: float) -> Fetched:
    status = response.status_code
    headers = response.headers
    if status == 304:
        return Fetched(304, None, "", headers.get("etag"), headers.get("last-modified"), str(response.url))
    if not 200 <= status < 300:
        hint = {401: " Check the credentials.", 403: " Check the credentials or the share settings.",
                404: " Check the address.", 429: " The server asks to fetch less often."}.get(status, "")
        raise FetchFailed(f"The server answered {status} {response.reason_phrase}.{hint}", status=status)
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > policy.max_bytes and "content-encoding" not in headers:
        raise FetchFailed(f"The file is {_mb(int(declared))}, over the {_mb(policy.max_bytes)} limit.", status=status)
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > policy.max_bytes:
            raise FetchFailed(f"The file is over the {_mb(policy.max_bytes)} limit (stopped reading there).",
                              status=status)
        if time.monotonic() - began > policy.total_s:
            raise FetchFailed(f"The download took longer than {policy.total_s:g} s; stopped.", status=status)
        chunks.append(chunk)
    return Fetched(status, b"".join(chunks), headers.get("content-type", ""), headers.get("etag"),
                   headers.get("last-modified"), str(response.url))


# --- what the bytes are ---------------------------------------------------------------------------

_TYPES = {"text/csv": ".csv", "application/csv": ".csv", "text/tab-separated-values": ".tsv",
          "application/json": ".json", "application/x-ndjson": ".jsonl", "application/jsonl": ".jsonl",
          "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
          "application/vnd.apache.parquet": ".parquet", "application/x-parquet": ".parquet",
          "application/rss+xml": ".xml", "application/atom+xml": ".xml", "application/xml": ".xml",
          "text/xml": ".xml"}
_EXTENSIONS = (".csv", ".tsv", ".txt", ".json", ".jsonl", ".ndjson", ".xlsx", ".parquet", ".xml", ".rss", ".atom")
FORMATS = ("auto", "csv", "tsv", "json", "jsonl", "xlsx", "parquet", "xml")


def detect_format(fmt: str, url: str, content_type: str, body: bytes) -> str:
    """The file extension ingest reads these bytes as: the chosen format, else the content itself (binary magic,
    markup), the content type, the address (a Google Sheet's export/publish `format=`/`output=`), plain text."""
    if fmt != "auto":
        if fmt not in FORMATS:
            raise FetchFailed(f"Unknown format {fmt!r}: use one of {', '.join(FORMATS)}.")
        return f".{fmt}"
    head = body[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if body[:4] == b"PAR1":
        return ".parquet"
    if body[:4] == b"PK\x03\x04":
        return ".xlsx"
    lowered = head[:200].lower()
    if lowered.startswith((b"<!doctype html", b"<html")) or b"<html" in lowered[:100]:
        raise FetchFailed("The address returned a web page (HTML), not data. For a Google Sheet, share it as "
                          "'Anyone with the link' (or publish it to the web) and use its CSV export address, "
                          "…/export?format=csv.")
    if head.startswith(b"<"):
        return ".xml"
    mime = content_type.split(";")[0].strip().lower()
    if mime in _TYPES:
        return _TYPES[mime]
    parts = urlsplit(url)
    query = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
    wanted = (query.get("format") or query.get("output") or "").lower()
    if wanted in ("csv", "tsv", "xlsx"):
        return f".{wanted}"
    path = parts.path.lower()
    for ext in _EXTENSIONS:
        if path.endswith(ext):
            return ".xml" if ext in (".rss", ".atom") else ext
    if head.startswith((b"{", b"[")):
        return ".jsonl" if head.startswith(b"{") and b"\n{" in body[:65536].strip() else ".json"
    return ".csv"
