"""Outgoing webhooks: signed as documented, retried with backoff until one success, replayed, refused for private
addresses, never lost or doubled by a worker that dies in the middle of a request."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
from typing import Any

import pytest
from sqlalchemy import select, update

from studio import deliveries, events, net_guard, webhooks
from studio.context import Context, Role
from studio.errors import PermissionDenied, ValidationFailed
from studio.store.base import utcnow
from studio.store.event_models import Delivery, DeliveryAttempt, WebhookEndpoint
from studio.store.session import Store
from tests.http_receiver import receiver
from tests.studio.events_fixtures import estore, held, member, owner, with_settings  # noqa: F401
from workers.dispatch import sweep_workspace

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _emit(store: Store, ctx: Context, kind: str = "generation.completed", data: dict[str, Any] | None = None) -> None:
    with store.session_scope(ctx) as s:
        events.emit(s, kind, data or {"set_name": "Spring", "variations": 3})


def _rows(store: Store, ctx: Context) -> tuple[list[Delivery], list[DeliveryAttempt]]:
    with store.session_scope(Context.job(ctx.workspace_id)) as s:
        return (list(s.scalars(select(Delivery).order_by(Delivery.created_at))),
                list(s.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.number))))


def test_a_receiver_verifies_the_signature_of_what_it_got(estore, held):  # noqa: F811 (fixtures)
    o = owner(estore)
    with receiver() as rec:
        endpoint, secret = webhooks.create_endpoint(estore, o, rec.url, ["generation.completed"])
        _emit(estore, o)
        _emit(estore, o, "post.failed", {"title": "not subscribed"})
        held.run()
    assert secret.startswith("whsec_") and len(rec.requests) == 1
    got = rec.requests[0]
    assert deliveries.verify(secret, got.headers["dotoro-signature"], got.body)
    assert not deliveries.verify("whsec_wrong", got.headers["dotoro-signature"], got.body)
    assert not deliveries.verify(secret, got.headers["dotoro-signature"], got.body + b" ")
    assert not deliveries.verify(secret, got.headers["dotoro-signature"], got.body, now=dt.datetime.now().timestamp() + 3600)
    body = json.loads(got.body)
    assert body["type"] == "generation.completed" and body["data"] == {"set_name": "Spring", "variations": 3}
    assert got.headers["dotoro-event-id"] == body["id"] and got.headers["dotoro-event-type"] == "generation.completed"
    log = webhooks.delivery_log(estore, o, endpoint)
    assert [(d.state, d.last_status, d.attempts) for d in log] == [("succeeded", 200, 1)]


def test_a_receiver_failing_three_times_gets_exactly_one_successful_delivery(estore, held):  # noqa: F811 (fixtures)
    o = owner(estore)
    with receiver([500, 502, 503, 200]) as rec:
        endpoint, _ = webhooks.create_endpoint(estore, o, rec.url, ["generation.completed"])
        _emit(estore, o)
        held.run()  # the dispatch and the first try
        for _ in range(6):  # the periodic sweep: due retries (WEBHOOK_RETRY_BASE_SECONDS=0 in the tests)
            sweep_workspace(estore, o.workspace_id)
            held.run()
    assert len(rec.requests) == 4
    assert len({r.headers["dotoro-event-id"] for r in rec.requests}) == 1
    rows, tries = _rows(estore, o)
    assert [(d.state, d.attempts, d.last_status) for d in rows] == [("succeeded", 4, 200)]
    assert [(a.status, a.ok) for a in tries] == [(500, False), (502, False), (503, False), (200, True)]
    assert all(a.latency_ms is not None for a in tries) and "HTTP 500" in tries[0].error
    assert webhooks.list_endpoints(estore, o)[0].delivered == 1


def test_backoff_grows_and_a_delivery_is_given_up_after_the_retry_window(estore, held):  # noqa: F811 (fixtures)
    store = with_settings(estore, WEBHOOK_RETRY_BASE_SECONDS="30", WEBHOOK_RETRY_HOURS="1")
    o = owner(store)
    waits = [deliveries.backoff_s(store.settings, n) for n in (1, 2, 3, 10)]
    assert 24 <= waits[0] <= 36 and 48 <= waits[1] <= 72 and 96 <= waits[2] <= 144 and waits[3] <= 3600 * 1.2
    with receiver([500]) as rec:
        webhooks.create_endpoint(store, o, rec.url, ["generation.completed"])
        _emit(store, o)
        held.run()
        rows, _ = _rows(store, o)
        assert rows[0].state == "pending" and deliveries.due(store, o.workspace_id) == []  # not before its time
        later = utcnow() + dt.timedelta(hours=2)
        assert deliveries.due(store, o.workspace_id, now=later) == [rows[0].id]
        result = deliveries.deliver(store, o.workspace_id, rows[0].id, now=later)
    assert result is not None and result.state == "failed" and len(rec.requests) == 2
    store.dispose()


def test_replay_sends_again_and_is_logged_as_manual(estore, held):  # noqa: F811 (fixtures)
    o = owner(estore)
    with receiver([500]) as rec:
        webhooks.create_endpoint(estore, o, rec.url, ["post.published"])
        _emit(estore, o, "post.published", {"title": "Launch", "url": "https://reddit.com/r/x/1"})
        held.run()
        rec.statuses[:] = [200]
        delivery = webhooks.delivery_log(estore, o)[0]
        result = webhooks.replay(estore, o, delivery.id)
        assert result.outcome.ok and result.state == "succeeded"
        again = webhooks.replay(estore, o, delivery.id)  # a succeeded one can be replayed too
    assert again.state == "succeeded" and len(rec.requests) == 3
    assert [(a.ok, a.manual) for a in webhooks.attempts(estore, o, delivery.id)] == [(False, False), (True, True),
                                                                                    (True, True)]
    with pytest.raises(PermissionDenied):
        webhooks.replay(estore, member(estore, o, Role.MEMBER), delivery.id)


def test_rotation_sends_both_signatures_for_a_day(estore, held):  # noqa: F811 (fixtures)
    o = owner(estore)
    with receiver() as rec:
        endpoint, old = webhooks.create_endpoint(estore, o, rec.url, ["generation.completed"])
        new = webhooks.rotate_secret(estore, o, endpoint)
        _emit(estore, o)
        held.run()
        header, body = rec.requests[0].headers["dotoro-signature"], rec.requests[0].body
        assert header.count("v1=") == 2 and deliveries.verify(old, header, body) and deliveries.verify(new, header, body)
        assert webhooks.list_endpoints(estore, o)[0].rotating_until is not None
        with estore.session_scope(o) as s:
            s.execute(update(WebhookEndpoint).values(previous_secret_expires_at=utcnow() - dt.timedelta(seconds=1)))
        _emit(estore, o)
        held.run()
        header, body = rec.requests[1].headers["dotoro-signature"], rec.requests[1].body
    assert header.count("v1=") == 1 and deliveries.verify(new, header, body) and not deliveries.verify(old, header, body)


def test_test_send_reports_the_outcome_and_redirects_are_not_followed(estore):  # noqa: F811 (fixtures)
    o = owner(estore)
    with receiver([302], headers={"Location": "http://169.254.169.254/latest"}) as rec:
        endpoint, _ = webhooks.create_endpoint(estore, o, rec.url, ["diff.ready"])
        result = webhooks.test_send(estore, o, endpoint)
    assert not result.outcome.ok and result.outcome.status == 302 and "not followed" in result.outcome.error
    assert len(rec.requests) == 1 and json.loads(rec.requests[0].body)["type"] == "webhook.test"
    with receiver() as rec:
        webhooks.update_endpoint(estore, o, endpoint, enabled=False)
        endpoint2, _ = webhooks.create_endpoint(estore, o, rec.url, ["diff.ready"])
        assert webhooks.test_send(estore, o, endpoint2).outcome.status == 200


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/hook", "http://localhost/hook", "http://10.1.2.3/",
                                 "http://[::1]/", "http://169.254.169.254/latest/meta-data", "http://192.168.0.1/",
                                 "http://0.0.0.0/", "http://[::ffff:127.0.0.1]/"])
def test_private_addresses_are_refused_unless_the_operator_allows_them(sqlite_store, url):
    o = owner(sqlite_store)
    with pytest.raises(ValidationFailed, match="private or local address"):
        webhooks.create_endpoint(sqlite_store, o, url, ["generation.completed"])
    assert net_guard.check_url(url, True).url == url


@pytest.mark.parametrize("url, message", [("ftp://example.com/x", "Only http"), ("https://", "no host"),
                                          ("https://user:pw@example.com/", "credentials"),
                                          ("not a url", "Only http")])
def test_malformed_endpoint_urls_are_refused_with_a_reason(url, message):
    with pytest.raises(net_guard.UnsafeUrl, match=message):
        net_guard.check_url(url, False)


def test_a_public_address_passes_the_guard():
    assert net_guard.check_url("https://93.184.216.34/hook", False).addresses == ("93.184.216.34",)


def test_an_endpoint_that_became_private_is_refused_at_send_time(estore, held):  # noqa: F811 (fixtures)
    o = owner(estore)
    with receiver() as rec:
        webhooks.create_endpoint(estore, o, rec.url, ["generation.completed"])
        strict = with_settings(estore, WEBHOOK_ALLOW_PRIVATE="off")
        _emit(strict, o)
        held.run()
        strict.dispose()
    assert rec.requests == []
    _, tries = _rows(estore, o)
    assert "private or local address" in tries[0].error


def test_only_admins_manage_endpoints_and_kinds_are_checked(estore):  # noqa: F811 (fixtures)
    o = owner(estore)
    m = member(estore, o, Role.MEMBER)
    with pytest.raises(PermissionDenied):
        webhooks.create_endpoint(estore, m, "https://93.184.216.34/", ["generation.completed"])
    with pytest.raises(ValidationFailed, match="Unknown event kind"):
        webhooks.create_endpoint(estore, o, "https://93.184.216.34/", ["account.reconnect_needed"])
    with pytest.raises(ValidationFailed, match="at least one"):
        webhooks.create_endpoint(estore, o, "https://93.184.216.34/", [])
    other = owner(estore)
    endpoint, _ = webhooks.create_endpoint(estore, o, "https://93.184.216.34/", ["diff.ready"])
    with pytest.raises(Exception, match="does not exist"):
        webhooks.rotate_secret(estore, other, endpoint)
    assert webhooks.list_endpoints(estore, other) == []


_KILLED_WORKER = """
import sys, uuid
from studio import deliveries
from studio.settings import load_settings
from studio.store.session import Store
env = dict(a.split("=", 1) for a in sys.argv[3:])
store = Store(load_settings(env, dotenv=None))
deliveries.deliver(store, uuid.UUID(sys.argv[1]), uuid.UUID(sys.argv[2]))
"""


def test_a_worker_killed_mid_delivery_neither_loses_nor_doubles_the_delivery(estore, held):  # noqa: F811 (fixtures)
    """A real process is killed with SIGKILL while the receiver holds its request; the sweep tries again once
    the lease ran out, and the log keeps one delivery with the lost try and the successful one."""
    o = owner(estore)
    hold = threading.Event()
    with receiver(hold=hold) as rec:
        webhooks.create_endpoint(estore, o, rec.url, ["generation.completed"])
        _emit(estore, o)
        before = len(held.waiting)
        from studio import notifications
        made = notifications.dispatch(estore, o.workspace_id)
        assert made.events == 1 and len(made.deliveries) == 1 and len(held.waiting) == before
        s = estore.settings
        env = {"DOTORO_HOME": str(s.home), "DATABASE_URL": estore.url, "SECRET_KEY": s.secret_key,
               "STORAGE": s.storage, **{k: v for k, v in s.extra.items() if k.startswith("WEBHOOK_")}}
        worker = subprocess.Popen([sys.executable, "-c", _KILLED_WORKER, str(o.workspace_id), str(made.deliveries[0]),
                                   *(f"{k}={v}" for k, v in env.items())], cwd=ROOT)
        try:
            assert rec.arrived.wait(60), "the worker never sent its request"
        finally:
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(30)
        hold.set()
        rows, tries = _rows(estore, o)
        assert [(d.state, d.attempts) for d in rows] == [("delivering", 1)]
        assert deliveries.due(estore, o.workspace_id) == []  # the lease still runs: nobody doubles the try
        later = utcnow() + dt.timedelta(hours=1)  # past any lease
        assert deliveries.due(estore, o.workspace_id, now=later) == [rows[0].id]
        result = deliveries.deliver(estore, o.workspace_id, rows[0].id, now=later)
        assert deliveries.deliver(estore, o.workspace_id, rows[0].id, now=later) is None  # done: not again
    assert result is not None and result.state == "succeeded"
    rows, tries = _rows(estore, o)
    assert [(d.state, d.attempts) for d in rows] == [("succeeded", 2)]
    assert [(a.number, a.ok, a.error == deliveries.LOST_TRY) for a in tries] == [(1, False, True), (2, True, False)]
    assert len(rec.requests) == 2


def test_the_readme_verification_snippet_accepts_our_signature_and_refuses_a_forged_one():
    """Docs and code agree: the README's receiver code verifies what deliveries.signature_header makes."""
    import re
    import time
    from pathlib import Path

    readme = (Path(ROOT) / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Notifications, Slack and outgoing webhooks"):]
    snippet = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    body, now = b'{"type":"diff.ready"}', int(time.time())
    for secrets, expected in ((["whsec_new", "whsec_old"], True), (["whsec_forged"], False)):
        scope = {"header": deliveries.signature_header(secrets, now, body), "body": body, "secret": "whsec_old"}
        exec(snippet, scope)  # noqa: S102 - the README's own code
        assert scope["ok"] is expected


def test_a_disabled_endpoint_gets_nothing_until_enabled_and_replayed(estore, held):  # noqa: F811 (fixtures)
    o = owner(estore)
    with receiver() as rec:
        endpoint, _ = webhooks.create_endpoint(estore, o, rec.url, ["generation.completed"])
        _emit(estore, o)
        held.run()  # delivered while enabled
        webhooks.update_endpoint(estore, o, endpoint, enabled=False)
        _emit(estore, o)  # no new delivery for a disabled endpoint
        held.run()
        with estore.session_scope(o) as s:  # one made before the switch, still waiting
            s.execute(update(Delivery).values(state="pending", attempts=1, next_attempt_at=utcnow()))
        sweep_workspace(estore, o.workspace_id)
        held.run()
        assert len(rec.requests) == 1
        log = webhooks.delivery_log(estore, o, endpoint)
        assert [d.state for d in log] == ["failed"] and "disabled" in log[0].last_error
        webhooks.update_endpoint(estore, o, endpoint, enabled=True)
        assert webhooks.replay(estore, o, log[0].id).state == "succeeded"
    assert len(rec.requests) == 2


@pytest.fixture(scope="module")
def localhost_cert(tmp_path_factory):
    """A self-signed certificate for the name localhost only (not for 127.0.0.1)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("webhook-tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_file), str(key_file)


def test_https_goes_to_the_checked_address_with_the_name_verified(sqlite_store, localhost_cert, monkeypatch):
    """The request is sent to the address the guard resolved (no second DNS lookup to rebind), while the
    Host header and the certificate check still use the endpoint's name."""
    monkeypatch.setenv("SSL_CERT_FILE", localhost_cert[0])  # httpx trusts it like a system CA
    store = with_settings(sqlite_store, WEBHOOK_ALLOW_PRIVATE="on")
    o = owner(store)
    with receiver(tls=localhost_cert) as rec:
        endpoint, secret = webhooks.create_endpoint(store, o, rec.url, ["diff.ready"])
        result = webhooks.test_send(store, o, endpoint)
        assert result.outcome.ok, result.outcome.error
        port = rec.url.split(":")[2].split("/")[0]
        assert rec.requests[0].headers["host"] == f"localhost:{port}"
        assert deliveries.verify(secret, rec.requests[0].headers["dotoro-signature"], rec.requests[0].body)
        wrong_name, _ = webhooks.create_endpoint(store, o, rec.url.replace("localhost", "127.0.0.1"), ["diff.ready"])
        refused = webhooks.test_send(store, o, wrong_name)
    assert not refused.outcome.ok and "certificate" in refused.outcome.error.lower()
    store.dispose()


@pytest.mark.parametrize("addresses, url, expected", [
    (("93.184.216.34",), "https://hooks.example.com/x?a=1", ("https://93.184.216.34/x?a=1", "hooks.example.com",
                                                             {"sni_hostname": "hooks.example.com"})),
    (("2606:2800:220:1::1",), "http://hooks.example.com:8080", ("http://[2606:2800:220:1::1]:8080/",
                                                                "hooks.example.com:8080", {})),
])
def test_the_pinned_request_keeps_the_name(addresses, url, expected):
    checked = net_guard.CheckedUrl(url, urlsplit_host(url), addresses)
    assert deliveries.pinned(checked) == expected


def urlsplit_host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).hostname or ""
