"""Outgoing webhooks (issue 20 item 3) and the workspace's Slack-compatible URL (issue 19 item 5): the admin side.

Owners and admins add endpoints (an http(s) URL on a public address, unless the operator set
WEBHOOK_ALLOW_PRIVATE, and the event kinds it wants), send a test, rotate the signing secret, disable or
delete an endpoint, read its delivery log and replay a delivery. The signing secret (`whsec_…`) is shown
once, when it is made or rotated, and kept encrypted (like Reddit secrets): it is never shown again, and
a lost secret is replaced by rotating. After a rotation the old secret still signs for 24 hours (both
signatures are sent) so receivers can switch without missing events. The Slack URL is itself a secret, so
every endpoint URL is stored encrypted; lists show its host only.
"""

from __future__ import annotations

import datetime as dt
import secrets as random_secrets
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import func, select

from studio import audit, deliveries, net_guard
from studio.context import Context, Permission, WorkspaceId
from studio.errors import NotFound, ValidationFailed
from studio.events import WEBHOOK_KINDS
from studio.notifications import AUDIENCE
from studio.permissions import requires
from studio.publishing import crypto, endpoint_secrets
from studio.store.base import aware, utcnow
from studio.store.event_models import Delivery, DeliveryAttempt, Event, WebhookEndpoint
from studio.store.session import Store, TenantSession

MAX_ENDPOINTS = 20
ROTATION_GRACE = dt.timedelta(hours=24)
TEST_KIND = "webhook.test"
SLACK_DEFAULT_KINDS = ("generation.completed", "generation.failed", "post.failed", "post.removed",
                       "feed.refresh_failed", "feed.paused", "diff.ready", "account.reconnect_needed")
SLACK_KINDS = tuple(AUDIENCE)


@dataclass(frozen=True)
class EndpointView:
    id: uuid.UUID
    format: str
    host: str
    description: str
    kinds: tuple[str, ...]
    enabled: bool
    created_at: dt.datetime
    rotating_until: dt.datetime | None  # the old secret still signs until then
    delivered: int
    failing: int  # pending after a failed try, or given up


@dataclass(frozen=True)
class DeliveryView:
    id: uuid.UUID
    endpoint_id: uuid.UUID | None
    channel: str
    kind: str
    event_id: uuid.UUID
    state: str
    attempts: int
    last_status: int | None
    last_latency_ms: int | None
    last_error: str
    created_at: dt.datetime
    next_attempt_at: dt.datetime | None


@dataclass(frozen=True)
class AttemptView:
    number: int
    started_at: dt.datetime
    status: int | None
    ok: bool
    latency_ms: int | None
    error: str
    manual: bool


def new_secret() -> str:
    return "whsec_" + random_secrets.token_urlsafe(32)


def _checked(store: Store, url: str) -> str:
    try:
        return net_guard.check_url(url, deliveries.allow_private(store.settings)).url
    except net_guard.UnsafeUrl as exc:
        raise ValidationFailed(exc.message) from None


def _kinds(kinds: list[str] | tuple[str, ...], allowed: tuple[str, ...]) -> list[str]:
    chosen = list(dict.fromkeys(kinds))
    unknown = [k for k in chosen if k not in allowed]
    if unknown:
        raise ValidationFailed(f"Unknown event kind(s) {', '.join(unknown)}; choose from {', '.join(allowed)}.")
    if not chosen:
        raise ValidationFailed("Choose at least one event kind for the endpoint.")
    return chosen


def _endpoint(s: TenantSession, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    row = s.get(WebhookEndpoint, endpoint_id)
    if row is None or row.workspace_id != s.workspace_id:
        raise NotFound("That webhook endpoint does not exist (any more).")
    return row


@requires(Permission.MANAGE_INTEGRATIONS)
def create_endpoint(store: Store, ctx: Context, url: str, kinds: list[str], *, description: str = ""
                    ) -> tuple[uuid.UUID, str]:
    """A signed endpoint; returns its id and its secret, shown this once."""
    clean = _checked(store, url)
    chosen = _kinds(kinds, WEBHOOK_KINDS)
    secret = new_secret()
    with store.session_scope(ctx) as s:
        count = s.scalar(select(func.count()).select_from(WebhookEndpoint).where(WebhookEndpoint.format == "signed"))
        if (count or 0) >= MAX_ENDPOINTS:
            raise ValidationFailed(f"A workspace has at most {MAX_ENDPOINTS} webhook endpoints; delete one first.")
        row = WebhookEndpoint(id=uuid.uuid4(), format="signed", url_enc=crypto.encrypt(store.settings, clean),
                              url_host=urlsplit(clean).netloc[:255], description=description.strip()[:200],
                              kinds=chosen, secret_enc=crypto.encrypt(store.settings, secret), enabled=True,
                              created_by=ctx.user_id)
        s.add(row)
        audit.record(s, "webhook.create", object_type="webhook_endpoint", object_id=row.id,
                     summary=f"Webhook to {row.url_host} for {', '.join(chosen)}")
        return row.id, secret


@requires(Permission.MANAGE_INTEGRATIONS)
def list_endpoints(store: Store, ctx: Context, *, fmt: str = "signed") -> list[EndpointView]:
    now = utcnow()
    with store.session_scope(ctx) as s:
        rows = s.scalars(select(WebhookEndpoint).where(WebhookEndpoint.format == fmt)
                         .order_by(WebhookEndpoint.created_at)).all()
        counts: dict[tuple[uuid.UUID | None, str], int] = {
            (eid, state): n for eid, state, n in s.execute(
                select(Delivery.endpoint_id, Delivery.state, func.count()).where(Delivery.endpoint_id.is_not(None))
                .group_by(Delivery.endpoint_id, Delivery.state))}
        retrying: dict[uuid.UUID | None, int] = {eid: n for eid, n in s.execute(
            select(Delivery.endpoint_id, func.count()).where(Delivery.state == "pending", Delivery.attempts > 0)
            .group_by(Delivery.endpoint_id))}
        out = []
        for r in rows:
            until = aware(r.previous_secret_expires_at) if r.previous_secret_expires_at else None
            failing = counts.get((r.id, "failed"), 0) + retrying.get(r.id, 0)
            out.append(EndpointView(r.id, r.format, r.url_host, r.description, tuple(r.kinds or ()), r.enabled,
                                    aware(r.created_at), until if until and until > now else None,
                                    counts.get((r.id, "succeeded"), 0), failing))
        return out


@requires(Permission.MANAGE_INTEGRATIONS)
def update_endpoint(store: Store, ctx: Context, endpoint_id: uuid.UUID, *, kinds: list[str] | None = None,
                    enabled: bool | None = None, description: str | None = None) -> None:
    with store.session_scope(ctx) as s:
        row = _endpoint(s, endpoint_id)
        if kinds is not None:
            row.kinds = _kinds(kinds, WEBHOOK_KINDS if row.format == "signed" else SLACK_KINDS)
        if description is not None:
            row.description = description.strip()[:200]
        if enabled is not None and enabled != row.enabled:
            if enabled:  # the address may have changed meaning since it was saved
                _checked(store, endpoint_secrets.url(store.settings, row))
            row.enabled = enabled
            audit.record(s, "webhook.enable" if enabled else "webhook.disable", object_type="webhook_endpoint",
                         object_id=row.id, summary=f"Webhook to {row.url_host} {'enabled' if enabled else 'disabled'}")


@requires(Permission.MANAGE_INTEGRATIONS)
def delete_endpoint(store: Store, ctx: Context, endpoint_id: uuid.UUID) -> None:
    """Removes the endpoint and its delivery log."""
    with store.session_scope(ctx) as s:
        row = _endpoint(s, endpoint_id)
        audit.record(s, "webhook.delete", object_type="webhook_endpoint", object_id=row.id,
                     summary=f"Webhook to {row.url_host} deleted")
        s.delete(row)


@requires(Permission.MANAGE_INTEGRATIONS)
def rotate_secret(store: Store, ctx: Context, endpoint_id: uuid.UUID) -> str:
    """A new secret (returned, shown once); the current one keeps signing, alongside, for 24 hours."""
    secret = new_secret()
    with store.session_scope(ctx) as s:
        row = _endpoint(s, endpoint_id)
        if row.format != "signed":
            raise ValidationFailed("Slack URLs are not signed; there is no secret to rotate.")
        row.previous_secret_enc = row.secret_enc
        row.previous_secret_expires_at = utcnow() + ROTATION_GRACE
        row.secret_enc = crypto.encrypt(store.settings, secret)
        audit.record(s, "webhook.rotate_secret", object_type="webhook_endpoint", object_id=row.id,
                     summary=f"Signing secret of the webhook to {row.url_host} rotated")
    return secret


@requires(Permission.MANAGE_INTEGRATIONS)
def test_send(store: Store, ctx: Context, endpoint_id: uuid.UUID) -> deliveries.TryResult:
    """Send a `webhook.test` event to this endpoint only, now, and say how it went (it is in the log too)."""
    with store.session_scope(ctx) as s:
        row = _endpoint(s, endpoint_id)
        now = utcnow()
        event = Event(id=uuid.uuid4(), kind=TEST_KIND, user_id=ctx.user_id, created_at=now, dispatched_at=now,
                      data={"message": "A test delivery from Dotoro Studio; nothing happened.",
                            "endpoint_id": str(row.id)})
        s.add(event)
        s.flush()
        delivery = Delivery(id=uuid.uuid4(), event_id=event.id, channel="slack" if row.format == "slack" else "webhook",
                            target=str(row.id), endpoint_id=row.id, state="pending", attempts=0,
                            next_attempt_at=now, created_at=now)
        s.add(delivery)
        ws = WorkspaceId(s.workspace_id)
    result = deliveries.deliver(store, ws, delivery.id, manual=True)
    assert result is not None
    return result


@requires(Permission.MANAGE_INTEGRATIONS)
def replay(store: Store, ctx: Context, delivery_id: uuid.UUID) -> deliveries.TryResult:
    """Send a delivery again now, whatever its state (logged as a manual try)."""
    with store.session_scope(ctx) as s:
        row = s.get(Delivery, delivery_id)
        if row is None or row.workspace_id != s.workspace_id or row.channel == "email":
            raise NotFound("That delivery does not exist (any more).")
        audit.record(s, "webhook.replay", object_type="delivery", object_id=row.id, summary="Delivery replayed")
        ws = WorkspaceId(s.workspace_id)
    result = deliveries.deliver(store, ws, delivery_id, manual=True)
    if result is None:
        raise NotFound("That delivery does not exist (any more).")
    return result


@requires(Permission.MANAGE_INTEGRATIONS)
def delivery_log(store: Store, ctx: Context, endpoint_id: uuid.UUID | None = None, *, limit: int = 50,
                 state: str | None = None) -> list[DeliveryView]:
    """Newest deliveries (of one endpoint, or of every endpoint), with their latest try."""
    with store.session_scope(ctx) as s:
        q = select(Delivery, Event.kind).join(Event, Event.id == Delivery.event_id).where(Delivery.channel != "email")
        if endpoint_id is not None:
            q = q.where(Delivery.endpoint_id == endpoint_id)
        if state:
            q = q.where(Delivery.state == state)
        rows = s.execute(q.order_by(Delivery.created_at.desc()).limit(min(limit, 500))).all()
        return [DeliveryView(d.id, d.endpoint_id, d.channel, kind, d.event_id, d.state, d.attempts, d.last_status,
                             d.last_latency_ms, d.last_error, aware(d.created_at),
                             aware(d.next_attempt_at) if d.state == "pending" else None) for d, kind in rows]


@requires(Permission.MANAGE_INTEGRATIONS)
def attempts(store: Store, ctx: Context, delivery_id: uuid.UUID) -> list[AttemptView]:
    with store.session_scope(ctx) as s:
        rows = s.scalars(select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == delivery_id)
                         .order_by(DeliveryAttempt.number)).all()
        return [AttemptView(a.number, aware(a.started_at), a.status, a.ok, a.latency_ms, a.error, a.manual)
                for a in rows]


# ---- Slack-compatible incoming webhook (one per workspace) ----------------------------------------------------


@requires(Permission.MANAGE_INTEGRATIONS)
def slack(store: Store, ctx: Context) -> EndpointView | None:
    found = list_endpoints(store, ctx, fmt="slack")
    return found[0] if found else None


@requires(Permission.MANAGE_INTEGRATIONS)
def set_slack(store: Store, ctx: Context, url: str | None, kinds: list[str] | None = None) -> uuid.UUID | None:
    """Set (or, with no URL, remove) the workspace's Slack-compatible incoming-webhook URL and its event kinds."""
    clean = _checked(store, url) if url and url.strip() else None
    chosen = _kinds(kinds if kinds is not None else list(SLACK_DEFAULT_KINDS), SLACK_KINDS) if clean else []
    with store.session_scope(ctx) as s:
        for old in s.scalars(select(WebhookEndpoint).where(WebhookEndpoint.format == "slack")):
            s.delete(old)
        if clean is None:
            audit.record(s, "slack.remove", object_type="webhook_endpoint", summary="Slack notifications removed")
            return None
        row = WebhookEndpoint(id=uuid.uuid4(), format="slack", url_enc=crypto.encrypt(store.settings, clean),
                              url_host=urlsplit(clean).netloc[:255], description="Slack", kinds=chosen,
                              enabled=True, created_by=ctx.user_id)
        s.add(row)
        audit.record(s, "slack.set", object_type="webhook_endpoint", object_id=row.id,
                     summary=f"Slack notifications to {row.url_host} for {len(chosen)} kinds")
        return row.id
