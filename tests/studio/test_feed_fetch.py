"""The guarded fetch of URL data sets against a local server: limits, redirects, private addresses, 304s."""

from __future__ import annotations

import ipaddress

import pytest

from studio.feed_fetch import AddressRefused, Credentials, FetchFailed, Policy, detect_format, fetch
from tests.feed_server import FeedServer, Route

LOCAL = (ipaddress.ip_network("127.0.0.1/32"),)


def _policy(**kw) -> Policy:
    base = {"allowed": LOCAL, "max_bytes": 1_000_000, "connect_s": 2.0, "read_s": 2.0, "total_s": 10.0}
    return Policy(**{**base, **kw})


@pytest.fixture()
def server():
    s = FeedServer().start()
    yield s
    s.stop()


def test_a_fetch_brings_the_body_and_a_second_with_the_etag_gets_304(server):
    server.routes["/feed.csv"] = Route(b"id,name\n1,a\n", last_modified="Mon, 07 Dec 2026 10:00:00 GMT")
    first = fetch(server.url("/feed.csv"), _policy())
    assert (first.status, first.body, first.content_type) == (200, b"id,name\n1,a\n", "text/csv")
    again = fetch(server.url("/feed.csv"), _policy(), etag=first.etag, last_modified=first.last_modified)
    assert again.status == 304 and again.body is None
    assert server.hits("/feed.csv")[1].headers["if-none-match"] == first.etag


def test_loopback_is_refused_unless_the_operator_allows_it(server):
    server.routes["/feed.csv"] = Route(b"id\n1\n")
    with pytest.raises(AddressRefused, match="private, local or reserved"):
        fetch(server.url("/feed.csv"), _policy(allowed=()))
    assert not server.requests  # refused before connecting


@pytest.mark.parametrize("target", [
    "http://10.0.0.1/feed.csv", "http://169.254.169.254/latest/meta-data/", "http://[::1]/feed.csv",
    "http://[::ffff:10.0.0.1]/x", "http://0.0.0.0/x", "http://100.64.0.1/x", "http://[fe80::1]/x",
    "http://2130706434/x",  # 127.0.0.2 spelled as one number: not in the allowed 127.0.0.1
    "http://[64:ff9b::a9fe:a9fe]/x", "http://[2002:a00:1::1]/x",  # NAT64 / 6to4 forms of private IPv4
])
def test_a_redirect_to_a_private_address_is_refused(server, target):
    server.routes["/feed.csv"] = Route(location=target)
    with pytest.raises(AddressRefused):
        fetch(server.url("/feed.csv"), _policy())


def test_redirects_are_bounded_and_credentials_stay_with_their_origin(server):
    for i in range(7):
        server.routes[f"/r{i}"] = Route(location=f"/r{i + 1}")
    server.routes["/r7"] = Route(b"id\n1\n")
    with pytest.raises(FetchFailed, match="more than 5 times"):
        fetch(server.url("/r0"), _policy())
    assert fetch(server.url("/r3"), _policy()).body == b"id\n1\n"  # 4 hops are fine

    port = server.httpd.server_address[1]
    server.routes["/moved"] = Route(location=f"http://localhost:{port}/elsewhere")
    server.routes["/elsewhere"] = Route(b"id\n2\n")
    two = (*LOCAL, ipaddress.ip_network("::1/128"))
    got = fetch(server.url("/moved"), _policy(allowed=two), credentials=Credentials("header", "X-Api-Key", "s3cret"))
    assert got.body == b"id\n2\n"
    assert server.hits("/moved")[0].headers["x-api-key"] == "s3cret"
    assert "x-api-key" not in server.hits("/elsewhere")[0].headers  # another origin never sees them


def test_timeouts_errors_and_oversized_bodies_say_why(server):
    server.routes["/slow"] = Route(b"id\n1\n", delay_s=1.5)
    with pytest.raises(FetchFailed, match="stopped sending for more than 0.5 s"):
        fetch(server.url("/slow"), _policy(read_s=0.5))
    server.routes["/drip"] = Route(b"x" * 8192, drip_s=0.3)
    with pytest.raises(FetchFailed, match="longer than 1 s"):
        fetch(server.url("/drip"), _policy(total_s=1.0))
    server.routes["/boom"] = Route(status=500)
    with pytest.raises(FetchFailed, match="answered 500") as err:
        fetch(server.url("/boom"), _policy())
    assert err.value.status == 500
    server.routes["/huge"] = Route(endless=True)
    with pytest.raises(FetchFailed, match="over the 1 MB limit"):
        fetch(server.url("/huge"), _policy(max_bytes=1024 * 1024))
    server.routes["/big"] = Route(b"x" * 3_000_000)
    with pytest.raises(FetchFailed, match="over the 1 MB limit"):
        fetch(server.url("/big"), _policy(max_bytes=1024 * 1024))
    server.routes["/private"] = Route(b"id\n1\n", require={"Authorization": "Basic dTpw"})
    with pytest.raises(FetchFailed, match="401.*Check the credentials"):
        fetch(server.url("/private"), _policy())
    assert fetch(server.url("/private"), _policy(), credentials=Credentials("basic", "u", "p")).body == b"id\n1\n"


@pytest.mark.parametrize(("fmt", "url", "ctype", "body", "expected"), [
    ("auto", "https://docs.google.com/spreadsheets/d/abc/export?format=csv", "text/csv", b"a,b\n", ".csv"),
    ("auto", "https://docs.google.com/spreadsheets/d/e/x/pub?output=tsv", "text/plain", b"a\tb\n", ".tsv"),
    ("auto", "https://x.example/feed", "application/octet-stream", b"PAR1....", ".parquet"),
    ("auto", "https://x.example/feed", "", b"PK\x03\x04...", ".xlsx"),
    ("auto", "https://x.example/feed", "text/plain", b'\xef\xbb\xbf<?xml version="1.0"?><rss/>', ".xml"),
    ("auto", "https://x.example/items.json", "application/octet-stream", b"[{}]", ".json"),
    ("auto", "https://x.example/items", "", b'{"a":1}\n{"a":2}\n', ".jsonl"),
    ("auto", "https://x.example/feed.tsv", "", b"a\tb\n", ".tsv"),
    ("auto", "https://x.example/x", "", b"a;b\n1;2\n", ".csv"),
    ("tsv", "https://x.example/x.csv", "text/csv", b"a\tb\n", ".tsv"),
])
def test_the_format_is_detected(fmt, url, ctype, body, expected):
    assert detect_format(fmt, url, ctype, body) == expected


def test_a_web_page_is_not_data():
    with pytest.raises(FetchFailed, match="web page.*Anyone with the link"):
        detect_format("auto", "https://docs.google.com/spreadsheets/d/abc/edit", "text/html",
                      b"<!DOCTYPE html><html><head>")


def test_a_token_in_the_address_is_not_logged(server, caplog, tmp_path):
    import logging

    from studio import logging_setup
    from tests.conftest import make_settings

    handler = logging_setup.configure(make_settings(tmp_path))
    try:
        server.routes["/feed.csv"] = Route(b"id\n1\n")
        with caplog.at_level(logging.DEBUG):
            fetch(server.url("/feed.csv?token=sekrit-123"), _policy())
        assert "sekrit-123" not in caplog.text
    finally:
        logging.getLogger().removeHandler(handler)
