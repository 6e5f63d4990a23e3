"""Outgoing e-mail (invitations, password resets) over SMTP, with TLS chosen by the SMTP_URL scheme.

- ``smtp+starttls://user:pass@host:587``: plain connection upgraded with STARTTLS (most providers).
- ``smtps://user:pass@host:465``: TLS from the first byte (implicit TLS).
- ``smtp://host:25``: no encryption, for a relay on the same machine or network only.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import unquote, urlparse

from studio.errors import StudioError
from studio.settings import Settings

log = logging.getLogger(__name__)

SCHEMES = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
TIMEOUT_SECONDS = 10


class MailFailed(StudioError):
    """The mail server could not be reached or refused the message; the message says which and what to check."""


@dataclass(frozen=True)
class Server:
    scheme: str
    host: str
    port: int
    username: str
    password: str

    def __repr__(self) -> str:  # never print the password
        return f"Server({self.scheme}://{self.username + '@' if self.username else ''}{self.host}:{self.port})"


def configured(settings: Settings) -> bool:
    return bool(settings.extra.get("SMTP_URL"))


def server(settings: Settings) -> Server:
    """SMTP_URL taken apart; a wrong scheme is named with the ones that work."""
    parsed = urlparse(settings.extra.get("SMTP_URL", ""))
    scheme = parsed.scheme.lower()
    if scheme not in SCHEMES:
        raise MailFailed(f"SMTP_URL must start with smtp+starttls://, smtps:// or smtp:// (got {scheme or 'nothing'}://).")
    return Server(scheme, parsed.hostname or "localhost", parsed.port or SCHEMES[scheme],
                  unquote(parsed.username or ""), unquote(parsed.password or ""))


def _tls(settings: Settings) -> ssl.SSLContext:
    """The system's trusted CAs, or SMTP_CA_FILE for a server with a private or self-signed certificate."""
    return ssl.create_default_context(cafile=settings.extra.get("SMTP_CA_FILE") or None)


def send(settings: Settings, to: str, subject: str, body: str) -> None:
    """Send one plain-text message; raises MailFailed with a reason a person can act on."""
    srv = server(settings)
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = settings.extra.get("SMTP_FROM") or "studio@localhost"
    msg["To"] = to
    msg.set_content(body)
    try:
        if srv.scheme == "smtps":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(srv.host, srv.port, timeout=TIMEOUT_SECONDS, context=_tls(settings))
        else:
            smtp = smtplib.SMTP(srv.host, srv.port, timeout=TIMEOUT_SECONDS)
        with smtp:
            if srv.scheme == "smtp+starttls":
                smtp.ehlo()
                if not smtp.has_extn("starttls"):
                    raise MailFailed(f"The mail server {srv.host}:{srv.port} does not offer STARTTLS; use smtps:// if "
                                     "it expects TLS from the start, or check the port.")
                smtp.starttls(context=_tls(settings))
            if srv.username:
                smtp.ehlo_or_helo_if_needed()
                if not smtp.has_extn("auth"):
                    raise MailFailed(f"The mail server {srv.host}:{srv.port} offers no login (AUTH) on this "
                                     "connection: use smtp+starttls:// or smtps://, or drop the user name from SMTP_URL.")
                smtp.login(srv.username, srv.password)
            smtp.send_message(msg)
    except smtplib.SMTPAuthenticationError as exc:
        raise MailFailed(f"The mail server {srv.host}:{srv.port} refused the SMTP_URL user name or password.") from exc
    except ssl.SSLCertVerificationError as exc:
        raise MailFailed(f"The certificate of {srv.host}:{srv.port} is not trusted ({exc.verify_message}); set "
                         "SMTP_CA_FILE to its CA certificate.") from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise MailFailed(f"The mail server {srv.host}:{srv.port} did not take the message "
                         f"({type(exc).__name__}: {exc}).") from exc
    log.info("mail sent", extra={"event": "mail.sent", "smtp_host": srv.host, "subject": subject})
