"""Invitations and password resets arrive through a real SMTP server (aiosmtpd) over STARTTLS and implicit TLS."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from studio import auth, invitations, mail, passwords
from studio.context import Context, Role
from studio.store.session import Store

USER, PASSWORD = "mailer", "s3cret pass"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 / localhost: (cert file, key file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("smtp-tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


@dataclass
class Inbox:
    """What the server received: each message with whether it came over TLS and who logged in."""

    messages: list[tuple[EmailMessage, bool, str]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        msg = message_from_bytes(envelope.content, policy=policy.default)
        user = session.auth_data.login.decode() if session.auth_data else ""
        over_tls = server.transport.get_extra_info("ssl_object") is not None
        self.messages.append((msg, over_tls, user))
        return "250 OK"


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (USER.encode(), PASSWORD.encode())
    return AuthResult(success=ok, handled=False, auth_data=data if ok else None)


class _Server(Controller):
    """aiosmtpd on 127.0.0.1: STARTTLS offered (and required before AUTH), or TLS from the first byte."""

    def __init__(self, handler: Inbox, context: ssl.SSLContext, *, implicit: bool, starttls: bool = True) -> None:
        self.tls, self.starttls, self.implicit = context, starttls, implicit
        with socket.socket() as probe:  # a free port: aiosmtpd checks readiness by connecting to it
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        super().__init__(handler, hostname="127.0.0.1", port=port, ssl_context=context if implicit else None)

    def factory(self) -> SMTP:
        starttls = self.starttls and not self.implicit
        return SMTP(self.handler, tls_context=self.tls if starttls else None, require_starttls=starttls,
                    authenticator=_authenticator, auth_require_tls=not self.implicit, hostname="localhost")


def _serve(certificate: tuple[Path, Path], *, implicit: bool, starttls: bool = True) -> tuple[_Server, Inbox]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*map(str, certificate))
    inbox = Inbox()
    server = _Server(inbox, context, implicit=implicit, starttls=starttls)
    server.start()
    return server, inbox


@pytest.fixture(params=["smtp+starttls", "smtps"])
def mail_server(request: pytest.FixtureRequest, certificate: tuple[Path, Path]) -> Iterator[tuple[str, Inbox]]:
    server, inbox = _serve(certificate, implicit=request.param == "smtps")
    port = server.port
    yield f"{request.param}://{USER}:{PASSWORD.replace(' ', '%20')}@127.0.0.1:{port}", inbox
    server.stop()


def _configure(store: Store, monkeypatch: pytest.MonkeyPatch, url: str, ca: Path | None) -> None:
    monkeypatch.setitem(store.settings.extra, "SMTP_URL", url)
    monkeypatch.setitem(store.settings.extra, "SMTP_FROM", "Studio <studio@example.com>")
    if ca is not None:
        monkeypatch.setitem(store.settings.extra, "SMTP_CA_FILE", str(ca))


def _email() -> str:
    return f"m{uuid.uuid4().hex[:8]}@example.com"


def test_a_password_reset_arrives_over_tls_after_login(sqlite_store, mail_server, certificate, monkeypatch):
    url, inbox = mail_server
    _configure(sqlite_store, monkeypatch, url, certificate[0])
    email = _email()
    account, _ = auth.sign_up(sqlite_store, email, "Ann", "longenough")
    passwords.request_reset(sqlite_store, email)
    ((msg, over_tls, user),) = inbox.messages
    assert over_tls and user == USER
    assert msg["To"] == email and msg["From"] == "Studio <studio@example.com>"
    link = next(word for word in msg.get_content().split() if "?reset=" in word)
    assert passwords.reset_password(sqlite_store, link.split("reset=", 1)[1], "mailed-reset") == account


def test_an_invitation_arrives_over_tls(sqlite_store, mail_server, certificate, monkeypatch):
    url, inbox = mail_server
    _configure(sqlite_store, monkeypatch, url, certificate[0])
    owner, ws = auth.sign_up(sqlite_store, _email(), "Owner", "longenough")
    guest = _email()
    link = invitations.invite(sqlite_store, Context(user_id=owner.id, workspace_id=ws), guest, Role.MEMBER)
    assert link.emailed and link.problem == ""
    ((msg, over_tls, _),) = inbox.messages
    assert over_tls and msg["To"] == guest and link.url in msg.get_content()


def test_an_untrusted_certificate_sends_nothing_and_the_inviter_is_told(sqlite_store, certificate, monkeypatch):
    server, inbox = _serve(certificate, implicit=False)
    try:
        port = server.port
        _configure(sqlite_store, monkeypatch, f"smtp+starttls://{USER}:x@127.0.0.1:{port}", None)
        owner, ws = auth.sign_up(sqlite_store, _email(), "Owner", "longenough")
        link = invitations.invite(sqlite_store, Context(user_id=owner.id, workspace_id=ws), _email(), Role.MEMBER)
    finally:
        server.stop()
    assert not link.emailed and "SMTP_CA_FILE" in link.problem and inbox.messages == []


def test_starttls_against_a_server_without_it_names_the_fix(sqlite_settings, certificate):
    server, inbox = _serve(certificate, implicit=False, starttls=False)
    try:
        port = server.port
        sqlite_settings.extra["SMTP_URL"] = f"smtp+starttls://127.0.0.1:{port}"
        with pytest.raises(mail.MailFailed, match="does not offer STARTTLS"):
            mail.send(sqlite_settings, "a@example.com", "hi", "body")
    finally:
        server.stop()
    assert inbox.messages == []


def test_a_wrong_password_is_named(sqlite_settings, certificate):
    server, inbox = _serve(certificate, implicit=True)
    try:
        port = server.port
        sqlite_settings.extra.update({"SMTP_URL": f"smtps://{USER}:wrong@127.0.0.1:{port}",
                                      "SMTP_CA_FILE": str(certificate[0])})
        with pytest.raises(mail.MailFailed, match="refused the SMTP_URL user name or password"):
            mail.send(sqlite_settings, "a@example.com", "hi", "body")
    finally:
        server.stop()
    assert inbox.messages == []


@pytest.mark.parametrize(("url", "expected"), [
    ("smtp://relay", ("smtp", "relay", 25)),
    ("smtp+starttls://u:p%40ss@mail.example.com", ("smtp+starttls", "mail.example.com", 587)),
    ("smtps://mail.example.com", ("smtps", "mail.example.com", 465)),
    ("SMTPS://mail.example.com:2465", ("smtps", "mail.example.com", 2465)),
])
def test_the_scheme_picks_the_port(sqlite_settings, url, expected):
    sqlite_settings.extra["SMTP_URL"] = url
    srv = mail.server(sqlite_settings)
    assert (srv.scheme, srv.host, srv.port) == expected
    assert "p@ss" not in repr(srv)


def test_an_unknown_scheme_is_refused_with_the_ones_that_work(sqlite_settings):
    sqlite_settings.extra["SMTP_URL"] = "mailto://x"
    with pytest.raises(mail.MailFailed, match=r"smtp\+starttls://, smtps:// or smtp://"):
        mail.server(sqlite_settings)
