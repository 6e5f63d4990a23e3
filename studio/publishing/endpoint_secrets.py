"""Secrets of outgoing webhooks and Slack URLs, decrypted here only (beside the Reddit secrets of this package).

The delivery step (studio.deliveries) and the enable check (studio.webhooks) read an endpoint's URL and
signing secrets through these two functions; nothing else decrypts them.
"""

from __future__ import annotations

import datetime as dt

from studio.publishing import crypto
from studio.settings import Settings
from studio.store.base import aware
from studio.store.event_models import WebhookEndpoint


def url(settings: Settings, endpoint: WebhookEndpoint) -> str:
    return crypto.decrypt(settings, endpoint.url_enc) or ""


def signing_secrets(settings: Settings, endpoint: WebhookEndpoint, now: dt.datetime) -> list[str]:
    """The current secret, and the previous one while its rotation grace (24 h) lasts."""
    found = [crypto.decrypt(settings, endpoint.secret_enc) or ""]
    if endpoint.previous_secret_enc and endpoint.previous_secret_expires_at \
            and aware(endpoint.previous_secret_expires_at) > now:
        found.append(crypto.decrypt(settings, endpoint.previous_secret_enc) or "")
    return found
