"""Sending deliveries (issue 20 item 3, issue 19 item 5): signed webhooks, Slack posts and notification e-mails.

A delivery is one event to one destination. Each try is three steps, so a worker killed at any point loses
nothing and duplicates nothing:

1. **claim** (one transaction): the row is due (pending and its time has come, or `delivering` with a
   lease that ran out because its worker died); it becomes `delivering` with a lease, its try counter goes
   up and a try row is written saying "no response recorded" until step 3 replaces that.
2. **send**, outside any transaction: the URL is checked again (studio.net_guard), POSTed with httpx
   with a timeout and no redirects followed; an e-mail goes through studio.mail.
3. **record** (one transaction): the try's status code, latency and error; the delivery becomes
   `succeeded`, or `pending` again after an exponential, jittered wait (WEBHOOK_RETRY_BASE_SECONDS × 2ⁿ,
   at most an hour), or `failed` once WEBHOOK_RETRY_HOURS passed since the event. Only the try that
   holds the delivery (its number is the latest) moves the state.

Signatures work like Stripe's: `Dotoro-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "t.body">`; while a
rotated-out secret is still valid (24 h) a second `v1=` made with it is sent too. `verify` is what a
receiver does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import random
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from sqlalchemy import or_, select

from studio import mail, net_guard
from studio.context import Context, WorkspaceId
from studio.errors import StudioError, ValidationFailed
from studio.notifications import email_of, render
from studio.permissions import system_only
from studio.publishing import endpoint_secrets
from studio.settings import Settings
from studio.store.base import aware, utcnow
from studio.store.event_models import Delivery, DeliveryAttempt, Event, WebhookEndpoint
from studio.store.session import Store

SIGNATURE_HEADER = "Dotoro-Signature"
MAX_BACKOFF_S = 3600.0
USER_AGENT = "DotoroStudio-Webhooks/1.0"
ANSWER_BYTES = 4096
LOST_TRY = "No response recorded: the worker stopped during this try (it is tried again)."


def _setting(settings: Settings, name: str, default: float) -> float:
    try:
        return float(settings.extra.get(name, default))
    except ValueError:
        return default


def allow_private(settings: Settings) -> bool:
    return settings.extra.get("WEBHOOK_ALLOW_PRIVATE", "off").lower() in ("on", "true", "1", "yes")


def timeout_s(settings: Settings) -> float:
    return _setting(settings, "WEBHOOK_TIMEOUT_SECONDS", 10)


def lease_s(settings: Settings) -> float:
    """How long a try owns its delivery: the request's timeout twice over, plus the e-mail's."""
    return 2 * timeout_s(settings) + mail.TIMEOUT_SECONDS + 5


def backoff_s(settings: Settings, tries: int) -> float:
    """The wait after `tries` failed tries: base × 2^(tries-1), at most an hour, ±20 % jitter."""
    base = _setting(settings, "WEBHOOK_RETRY_BASE_SECONDS", 30)
    return min(MAX_BACKOFF_S, base * 2 ** max(0, tries - 1)) * random.uniform(0.8, 1.2)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secrets: list[str], timestamp: int, body: bytes) -> str:
    return ",".join([f"t={timestamp}", *(f"v1={sign(s, timestamp, body)}" for s in secrets)])


def verify(secret: str, header: str, body: bytes, *, tolerance_s: int = 300, now: float | None = None) -> bool:
    """What a receiver does: one `v1` matches HMAC(secret, "t.body") and `t` is within the tolerance."""
    parts = [p.partition("=") for p in header.split(",")]
    stamps = [v for k, _, v in parts if k.strip() == "t"]
    if len(stamps) != 1 or not stamps[0].isdigit():
        return False
    ts = int(stamps[0])
    if abs((time.time() if now is None else now) - ts) > tolerance_s:
        return False
    expected = sign(secret, ts, body)
    return any(k.strip() == "v1" and hmac.compare_digest(v.strip(), expected) for k, _, v in parts)


def payload(event: Event) -> bytes:
    """The JSON body of a signed webhook: the event's id, type, time, workspace and data."""
    return json.dumps({"id": str(event.id), "type": event.kind, "created_at": aware(event.created_at).isoformat(),
                       "workspace_id": str(event.workspace_id), "data": event.data},
                      separators=(",", ":"), sort_keys=True).encode()


def slack_text(value: str) -> str:
    """Text for Slack mrkdwn as text: `<!channel>`, `<https://…|Click>` and `<@U…>` in a name or an error stay
    visible characters instead of pinging everyone or adding a link (Slack's three escapes)."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(settings: Settings, event: Event) -> bytes:
    """The Slack message of an event: its title and line (names, messages: escaped) and the studio's own link."""
    msg = render(event.kind, event.data)
    link = f"{settings.public_url.rstrip('/')}/{msg.link}"
    title, body = slack_text(msg.title), slack_text(msg.body)
    text = f"*{title}*" + (f"\n{body}" if body else "") + f"\n<{link}|Open in Dotoro Studio>"
    return json.dumps({"text": text}).encode()


@dataclass(frozen=True)
class Request:
    """What one try sends: an HTTP POST (url, body, headers) or an e-mail (to, subject, body)."""

    channel: str
    url: str = ""
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    to: str = ""
    subject: str = ""
    text: str = ""


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status: int | None
    latency_ms: int
    error: str


@dataclass(frozen=True)
class TryResult:
    delivery_id: uuid.UUID
    number: int
    state: str
    outcome: Outcome


def _request(settings: Settings, s: object, d: Delivery, event: Event, now: dt.datetime, manual: bool
             ) -> Request | str:
    """The request for one try, or why there is none (endpoint deleted or disabled, member left)."""
    if d.channel == "email":
        to = email_of(s, uuid.UUID(d.target))  # type: ignore[arg-type]
        if not to:
            return "The member is no longer in the workspace."
        msg = render(event.kind, event.data)
        base = settings.public_url.rstrip("/")
        text = (f"{msg.title}\n\n{msg.body}\n\nOpen it: {base}/{msg.link}\n\n"
                f"You get this because of your notification settings: {base}/notifications")
        return Request("email", to=to, subject=f"[Dotoro] {msg.title}", text=text)
    endpoint = s.get(WebhookEndpoint, d.endpoint_id) if d.endpoint_id else None  # type: ignore[attr-defined]
    if endpoint is None:
        return "The endpoint was deleted."
    if not endpoint.enabled and not manual:
        return "The endpoint is disabled; replay this delivery after enabling it."
    url = endpoint_secrets.url(settings, endpoint)
    if d.channel == "slack":
        return Request("slack", url=url, body=slack_payload(settings, event),
                       headers=(("Content-Type", "application/json"), ("User-Agent", USER_AGENT)))
    body = payload(event)
    ts = int(now.timestamp())
    headers = (("Content-Type", "application/json"), ("User-Agent", USER_AGENT),
               ("Dotoro-Event-Id", str(event.id)), ("Dotoro-Event-Type", event.kind),
               ("Dotoro-Delivery-Id", str(d.id)),
               (SIGNATURE_HEADER, signature_header(endpoint_secrets.signing_secrets(settings, endpoint, now), ts, body)))
    return Request("webhook", url=url, body=body, headers=headers)


def pinned(checked: net_guard.CheckedUrl) -> tuple[str, str, dict[str, Any]]:
    """The URL with its host replaced by the address that was checked, the Host header and the TLS name:
    the request goes where the guard looked, even if the name resolves elsewhere a moment later."""
    parts = urlsplit(checked.url)
    address = checked.addresses[0]
    ip = f"[{address}]" if ":" in address else address
    port = f":{parts.port}" if parts.port else ""
    host = parts.hostname or ""
    host_header = (f"[{host}]" if ":" in host else host) + port
    extensions: dict[str, Any] = {"sni_hostname": host} if parts.scheme == "https" else {}
    return urlunsplit((parts.scheme, ip + port, parts.path or "/", parts.query, "")), host_header, extensions


def send(settings: Settings, req: Request) -> Outcome:
    """One try, outside any transaction; never raises for the receiver's faults."""
    began = time.perf_counter()

    def took() -> int:
        return int((time.perf_counter() - began) * 1000)

    if req.channel == "email":
        try:
            mail.send(settings, req.to, req.subject, req.text)
        except (StudioError, OSError) as exc:
            return Outcome(False, None, took(), getattr(exc, "message", str(exc))[:1000])
        return Outcome(True, None, took(), "")
    try:
        checked = net_guard.check_url(req.url, allow_private(settings))
        url, host_header, extensions = pinned(checked)
        with httpx.Client(timeout=timeout_s(settings), follow_redirects=False,
                          transport=net_guard.deadline_transport(timeout_s(settings))) as client, \
                client.stream("POST", url, content=req.body, headers=[("Host", host_header), *req.headers],
                              extensions=extensions) as response:
            status, where = response.status_code, response.headers.get("location", "another address")
            head = b""
            if not 200 <= status < 400:  # a few bytes of the answer for the log, never a whole large body
                for chunk in response.iter_bytes():
                    head += chunk
                    if len(head) >= ANSWER_BYTES:
                        break
    except net_guard.UnsafeUrl as exc:
        return Outcome(False, None, took(), exc.message)
    except httpx.TimeoutException:
        return Outcome(False, None, took(), f"No response within {timeout_s(settings):g} s.")
    except httpx.HTTPError as exc:
        return Outcome(False, None, took(), f"Could not connect: {exc}"[:1000])
    if 200 <= status < 300:
        return Outcome(True, status, took(), "")
    if 300 <= status < 400:
        return Outcome(False, status, took(), f"Redirected to {where[:200]}; redirects are not followed, "
                                               "use the final address.")
    return Outcome(False, status, took(), f"HTTP {status}: {head[:300].decode('utf-8', 'replace')}")


@system_only("delivery jobs (workers.dispatch) and the replay of studio.webhooks, after its own gate")
def deliver(store: Store, workspace_id: WorkspaceId, delivery_id: uuid.UUID, *, manual: bool = False,
            now: dt.datetime | None = None) -> TryResult | None:
    """One try of a delivery that is due (or any, `manual`); None when it is not this call's to try."""
    at = now or utcnow()
    ctx = Context.job(workspace_id)
    settings = store.settings
    with store.session_scope(ctx) as s:  # 1. claim
        q = select(Delivery).where(Delivery.id == delivery_id)
        d = s.scalar(q.with_for_update() if store.is_postgres else q)
        if d is None:
            return None
        leased = d.state == "delivering" and d.lease_until is not None and aware(d.lease_until) > at
        if leased and manual:
            raise ValidationFailed("This delivery is being sent right now; look again in a few seconds.")
        if not manual and (leased or d.state in ("succeeded", "failed") or aware(d.next_attempt_at) > at):
            return None
        before = d.state
        event = s.get(Event, d.event_id)
        assert event is not None
        req = _request(settings, s, d, event, at, manual)
        d.attempts += 1
        number = d.attempts
        if isinstance(req, str):  # nothing to send any more: give up at once, saying why
            d.state, d.last_error, d.lease_until = "failed", req, None
            s.add(DeliveryAttempt(delivery_id=d.id, number=number, started_at=at, error=req, manual=manual))
            return TryResult(d.id, number, "failed", Outcome(False, None, 0, req))
        d.state, d.lease_until = "delivering", at + dt.timedelta(seconds=lease_s(settings))
        s.add(DeliveryAttempt(delivery_id=d.id, number=number, started_at=at, error=LOST_TRY, manual=manual))
        created = aware(d.created_at)
    outcome = send(settings, req)  # 2. send
    finished = utcnow() if now is None else at
    with store.session_scope(ctx) as s:  # 3. record
        attempt = s.scalar(select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == delivery_id,
                                                         DeliveryAttempt.number == number))
        if attempt is not None:
            attempt.status, attempt.ok = outcome.status, outcome.ok
            attempt.latency_ms, attempt.error = outcome.latency_ms, outcome.error
        q = select(Delivery).where(Delivery.id == delivery_id)
        d = s.scalar(q.with_for_update() if store.is_postgres else q)
        if d is None or d.attempts != number:  # deleted, or a later try took over after our lease ran out
            return TryResult(delivery_id, number, d.state if d else "deleted", outcome)
        d.last_status, d.last_error, d.last_latency_ms, d.lease_until = (outcome.status, outcome.error,
                                                                        outcome.latency_ms, None)
        if outcome.ok:
            d.state = "succeeded"
            d.succeeded_at = d.succeeded_at or finished
        elif before == "succeeded":
            d.state = "succeeded"  # a manual replay that failed does not undo the earlier success
        elif before == "failed" or finished - created >= dt.timedelta(hours=_setting(settings, "WEBHOOK_RETRY_HOURS", 24)):
            d.state = "failed"
        else:
            d.state = "pending"
            d.next_attempt_at = finished + dt.timedelta(seconds=backoff_s(settings, number))
        return TryResult(delivery_id, number, d.state, outcome)


@system_only("the periodic dispatch (workers.dispatch): deliveries whose time came, or whose worker died")
def due(store: Store, workspace_id: WorkspaceId, *, now: dt.datetime | None = None, limit: int = 500
        ) -> list[uuid.UUID]:
    at = now or utcnow()
    with store.session_scope(Context.job(workspace_id)) as s:
        return list(s.scalars(
            select(Delivery.id).where(or_(
                (Delivery.state == "pending") & (Delivery.next_attempt_at <= at),
                (Delivery.state == "delivering") & (Delivery.lease_until < at),
            )).order_by(Delivery.next_attempt_at).limit(limit)))
