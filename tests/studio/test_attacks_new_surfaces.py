"""Attacks on the surfaces added for issues 19-21 (webhooks and Slack addresses, feeds, inline variations)."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from studio import net_guard


@pytest.mark.parametrize("host", ["[2002:7f00:1::]", "[2002:a9fe:a9fe::1]", "[2002:0a00:0001::]",
                                  "[64:ff9b::a9fe:a9fe]", "[::ffff:169.254.169.254]", "[::]", "0.0.0.0",
                                  "2130706433", "0177.0.0.1", "127.1"])
def test_a_webhook_address_cannot_tunnel_to_a_private_ipv4(host):
    """6to4 (2002::/16) carries an IPv4 address inside: a private one there is as private as the IPv4 itself."""
    with pytest.raises(net_guard.UnsafeUrl, match="private or local"):
        net_guard.check_url(f"http://{host}/hook", allow_private=False)


def test_a_public_6to4_address_is_still_accepted():
    assert net_guard.check_url("http://[2002:808:808::1]/hook", allow_private=False).addresses == ("2002:808:808::1",)


def test_a_feed_with_endlessly_many_distinct_elements_is_refused_while_it_is_read():
    """Each <item> may bring new elements: 20,000 items with one new element each would build a table of
    20,000 × 20,000 cells before any column limit looked at it (a few MB of XML filling a worker's memory)."""
    from engine.feed_xml import read_product_feed
    from engine.ingest import MAX_COLUMNS
    from engine.ingest_errors import IngestError

    items = "".join(f"<item><id>{i}</id><f{i}>x</f{i}></item>" for i in range(20_000))
    body = f'<rss version="2.0"><channel>{items}</channel></rss>'.encode()
    with pytest.raises(IngestError, match=f"at most {MAX_COLUMNS}"):
        read_product_feed(body)


@contextlib.contextmanager
def _dripping_server() -> Iterator[int]:
    """A server on 127.0.0.1 that answers one request with a response head one byte every 0.1 s (each within
    a read timeout, ~6 s in all); yields its port, and waits for it when the block ends."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"a" * 40 + b"\r\n":
                time.sleep(0.1)
                try:
                    conn.sendall(bytes([byte]))
                except OSError:  # the client gave up and closed the connection
                    return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        thread.join()
        listener.close()


def test_a_server_that_drips_its_headers_is_stopped_at_the_total_time():
    """A feed server may send its response head one byte at a time, each within the read timeout: the whole
    fetch still ends at the total time, not when the server chooses to stop (here: it hangs up after ~6 s)."""
    from studio.feed_fetch import FetchFailed, Policy, fetch

    policy = Policy((ipaddress.ip_network("127.0.0.1/32"),), 1_000_000, 2.0, 2.0, 1.0)
    with _dripping_server() as port, pytest.raises(FetchFailed, match="longer than 1 s"):
        fetch(f"http://127.0.0.1:{port}/feed.csv", policy)


def test_a_webhook_receiver_that_drips_its_answer_is_cut_off_within_the_timeout(tmp_path):
    """A receiver may answer one byte at a time, each within the timeout: the try still ends within the timeout
    (else it outlives its lease and a second worker sends the same delivery again, while this one waits)."""
    from studio import deliveries
    from studio.settings import load_settings

    settings = load_settings({"DOTORO_HOME": str(tmp_path), "WEBHOOK_ALLOW_PRIVATE": "on",
                              "WEBHOOK_TIMEOUT_SECONDS": "1"}, dotenv=None)
    with _dripping_server() as port:
        outcome = deliveries.send(settings, deliveries.Request("webhook", f"http://127.0.0.1:{port}/hook", b"{}"))
    assert not outcome.ok and outcome.error == "No response within 1 s."
