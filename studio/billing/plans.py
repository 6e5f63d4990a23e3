"""The plans and their monthly limits, in one place; whether billing is on comes from the settings."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from studio.settings import Settings


class Metric(str, enum.Enum):
    """What is metered per workspace and calendar month (UTC)."""

    VARIATIONS = "variations"
    PUBLISHES = "publishes"
    API_CALLS = "api_calls"


# How each metric reads in a sentence: (a run "would …", the plural noun).
METRIC_WORDS: dict[Metric, tuple[str, str]] = {
    Metric.VARIATIONS: ("This run would generate", "variations"),
    Metric.PUBLISHES: ("This would publish", "posts"),
    Metric.API_CALLS: ("This would make", "preview/API calls"),
}

# Billing Meter event names in Stripe (one meter per metric, sum aggregation, key `value`).
METER_EVENTS: dict[Metric, str] = {
    Metric.VARIATIONS: "dotoro_variations",
    Metric.PUBLISHES: "dotoro_publishes",
    Metric.API_CALLS: "dotoro_api_calls",
}


@dataclass(frozen=True)
class Plan:
    key: str
    name: str
    price_usd: int | None  # per month; None: custom (talk to us)
    limits: dict[Metric, int | None] = field(default_factory=dict)  # None: unlimited
    members: int | None = None
    price_setting: str | None = None  # the setting that holds its Stripe Price id
    self_serve: bool = False  # can be bought through Checkout
    audit_days: int | None = 90  # how long the audit trail is kept; None: forever

    def limit(self, metric: Metric) -> int | None:
        return self.limits.get(metric)

    @property
    def price_label(self) -> str:
        if self.price_usd is None:
            return "custom"
        return "free" if self.price_usd == 0 else f"${self.price_usd}/month"


def _limits(variations: int | None, publishes: int | None, api_calls: int | None) -> dict[Metric, int | None]:
    return {Metric.VARIATIONS: variations, Metric.PUBLISHES: publishes, Metric.API_CALLS: api_calls}


FREE = Plan("free", "Free", 0, _limits(100, 10, 1_000), members=1, audit_days=90)
STARTER = Plan("starter", "Starter", 29, _limits(500, 50, 10_000), members=2,
               price_setting="STRIPE_PRICE_STARTER", self_serve=True, audit_days=90)
PRO = Plan("pro", "Pro", 99, _limits(5_000, 500, 100_000), members=10, price_setting="STRIPE_PRICE_PRO", self_serve=True,
           audit_days=365)
ENTERPRISE = Plan("enterprise", "Enterprise", None, _limits(None, None, None), members=None, audit_days=None)
# Billing off (no Stripe key): a self-hosted studio has no limits at all.
UNLIMITED = Plan("unlimited", "Self-hosted (billing off)", None, _limits(None, None, None), members=None,
                 audit_days=None)

PLANS: dict[str, Plan] = {p.key: p for p in (FREE, STARTER, PRO, ENTERPRISE)}
DEFAULT_PLAN = FREE  # every workspace starts on the Free trial when billing is on


def get_plan(key: str | None) -> Plan:
    """The plan with this key; unknown keys fall back to Free (never to more than was paid for)."""
    return PLANS.get(key or "", DEFAULT_PLAN)


def billing_enabled(settings: Settings) -> bool:
    return bool(settings.extra.get("STRIPE_API_KEY"))


def price_id(settings: Settings, plan: Plan) -> str | None:
    return settings.extra.get(plan.price_setting, "") or None if plan.price_setting else None


def plan_for_price(settings: Settings, price: str | None) -> Plan | None:
    """The self-serve plan a Stripe Price id stands for."""
    for plan in PLANS.values():
        if price and price_id(settings, plan) == price:
            return plan
    return None
