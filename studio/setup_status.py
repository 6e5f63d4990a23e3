"""What this studio has set up (Reddit sign-in, Stripe billing) and whether the caller can do something
about it: members are told whom to ask, owners and admins how to enable it (the README's set-up section)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from studio.billing.plans import billing_enabled
from studio.context import Context, Permission, allows
from studio.permissions import requires
from studio.store.session import Store

README = Path(__file__).resolve().parents[1] / "README.md"
GUIDES = {"reddit": "Connect Reddit", "billing": "Sell plans with Stripe", "operators": "Operators"}


@dataclass(frozen=True)
class SetupStatus:
    reddit_sign_in: bool  # the studio's Reddit web app is configured (OAuth "Connect with Reddit")
    billing: bool  # Stripe is configured: plans, checkout, limits
    can_configure: bool  # an owner or admin of this workspace (told how to enable what is missing)


@requires(Permission.VIEW)
def status(store: Store, ctx: Context) -> SetupStatus:
    """The studio's set-up as the acting member may hear about it."""
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        role = s.role
    extra = store.settings.extra
    return SetupStatus(
        reddit_sign_in=bool(extra.get("REDDIT_CLIENT_ID") and extra.get("REDDIT_CLIENT_SECRET")),
        billing=billing_enabled(store.settings),
        can_configure=allows(role, Permission.MANAGE_INTEGRATIONS),
    )


@functools.cache
def guide(topic: str) -> str:
    """The README's set-up section for `topic` ("reddit", "billing", "operators"), as Markdown ("" if absent)."""
    title = GUIDES[topic]
    try:
        text = README.read_text(encoding="utf-8")
    except OSError:
        return ""
    match = re.search(rf"^### {re.escape(title)}\s*$(.*?)(?=^#{{1,3}} |\Z)", text, re.MULTILINE | re.DOTALL)
    return match.group(1).strip() if match else ""
