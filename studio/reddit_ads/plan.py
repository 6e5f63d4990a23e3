"""What a set should look like on Reddit Ads: campaigns → ad groups → posts (creatives) → ads, with their fields.

Pure data (no I/O): built from the set's approved variations (their `campaign_name` / `ad_group_name` from the
campaign structure) and the set's Reddit settings. Money is sent in micro-currency: dollars → round(dollars ×
100) × 10,000 (the reference's conversion, exact for cents). Each entity has a key of the studio's own that
stays the same across syncs: campaigns and ad groups by their rendered names, an ad by its variation, a post by
its content (two ads with the same creative share one post).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

OBJECTIVES = ("CLICKS", "CONVERSIONS", "IMPRESSIONS", "VIDEO_VIEWABLE_IMPRESSIONS", "APP_INSTALLS", "CATALOG_SALES",
              "LEAD_GENERATION")
BID_STRATEGIES = ("MAXIMIZE_VOLUME", "MANUAL_BIDDING", "TARGET_CPX", "BIDLESS")
GOAL_TYPES = ("DAILY_SPEND", "LIFETIME_SPEND")
NAME_MAX = 255
KINDS = ("campaign", "ad_group", "post", "ad")


class PlanError(ValueError):
    """A setting or a variation that cannot become a Reddit entity; the message says which and why."""


def micro(dollars: Any, what: str) -> int:
    """Dollars (a number or text like "20" / "12.50") → micro-currency, exact for cents."""
    try:
        value = Decimal(str(dollars).strip().lstrip("$"))
    except InvalidOperation as exc:
        raise PlanError(f"{what} must be an amount in dollars like 20 or 12.50 (got {dollars!r}).") from exc
    if not value.is_finite() or value < 0:
        raise PlanError(f"{what} must be a positive amount in dollars (got {dollars!r}).")
    return int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)) * 10_000


@dataclass(frozen=True)
class RedditSettings:
    """The set's Reddit Ads settings (from ``config["structure"]["settings"]["reddit"]`` when given)."""

    objective: str = "CLICKS"
    daily_budget: str = "20"
    goal_type: str = "DAILY_SPEND"
    bid_strategy: str = "MAXIMIZE_VOLUME"
    bid: str = ""
    communities: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> RedditSettings:
        """From the set's campaign structure settings (engine.platforms.bulk_settings, platform "reddit")."""
        from engine.errors import EngineError
        from engine.platforms.bulk_settings import check_settings, resolved_settings

        given = (config.get("structure") or {}).get("settings") or {}
        try:
            check_settings("reddit", given)
        except EngineError as exc:
            raise PlanError(str(exc)) from exc
        values = resolved_settings("reddit", given)
        campaign, group = values["campaign"], values["ad_group"]
        communities = [c.strip().removeprefix("r/") for c in re.split(r",", group.get("communities", "")) if c.strip()]
        s = cls(objective=campaign.get("objective") or cls.objective, daily_budget=group.get("daily_budget") or
                cls.daily_budget, goal_type=group.get("goal_type") or cls.goal_type,
                bid_strategy=group.get("bid_strategy") or cls.bid_strategy, bid=group.get("bid", ""),
                communities=tuple(communities))
        s.check()
        return s

    def check(self) -> None:
        for value, allowed, what in ((self.objective, OBJECTIVES, "Objective"), (self.goal_type, GOAL_TYPES, "Goal type"),
                                     (self.bid_strategy, BID_STRATEGIES, "Bid strategy")):
            if value not in allowed:
                raise PlanError(f"{what} {value!r} is not one Reddit accepts: {', '.join(allowed)}.")
        micro(self.daily_budget, "The daily budget")
        if self.bid_strategy == "MANUAL_BIDDING" and not self.bid:
            raise PlanError("Manual bidding needs a bid in dollars (e.g. 0.75).")
        if self.bid:
            micro(self.bid, "The bid")


@dataclass(frozen=True)
class Entity:
    """One entity as the studio wants it. ``parent`` / ``post`` are keys of other entities (ids at send time)."""

    kind: str
    key: str
    name: str
    data: dict[str, Any]
    parent: str = ""
    post: str = ""
    variation_id: str = ""

    def lookup_name(self) -> str:
        return self.data.get("headline", "") if self.kind == "post" else self.name


@dataclass
class Plan:
    entities: list[Entity] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (variation id, why)

    def of(self, kind: str) -> list[Entity]:
        return [e for e in self.entities if e.kind == kind]

    def counts(self) -> dict[str, int]:
        return {kind: len(self.of(kind)) for kind in KINDS}


def _cut(text: str, limit: int = NAME_MAX) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def post_key(data: Mapping[str, Any]) -> str:
    return "p:" + hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:32]


def build(variations: Iterable[Mapping[str, Any]], settings: RedditSettings, *, set_name: str,
          funding_instrument_id: str = "", profile_id: str = "") -> Plan:
    """The entities for approved, valid variations: dicts with ``id`` and ``fields``; first-seen order."""
    plan = Plan()
    campaigns: dict[str, Entity] = {}
    groups: dict[str, Entity] = {}
    posts: dict[str, Entity] = {}
    budget = micro(settings.daily_budget, "The daily budget")
    for v in variations:
        f = v.get("fields") or {}
        vid = str(v["id"])
        headline = " ".join(str(f.get("headline") or f.get("title") or "").split())
        url = str(f.get("destination_url") or "").strip()
        if not headline or not url.startswith(("http://", "https://")):
            plan.skipped.append((vid, "needs a headline and an http(s) destination URL"))
            continue
        campaign = _cut(f.get("campaign_name") or set_name)
        group = _cut(f.get("ad_group_name") or "Ad group 1")
        ckey, gkey = f"c:{campaign}", f"g:{campaign}\x1f{group}"
        if ckey not in campaigns:
            data: dict[str, Any] = {"name": campaign, "objective": settings.objective}
            if funding_instrument_id:
                data["funding_instrument_id"] = funding_instrument_id
            campaigns[ckey] = Entity("campaign", ckey, campaign, data)
        if gkey not in groups:
            data = {"name": group, "bid_strategy": settings.bid_strategy, "goal_type": settings.goal_type,
                    "goal_value": budget}
            if settings.bid:
                data.update(bid_type="CPC", bid_value=micro(settings.bid, "The bid"))
            if settings.communities:
                data["targeting"] = {"communities": list(settings.communities)}
            groups[gkey] = Entity("ad_group", gkey, group, data, parent=ckey)
        content: dict[str, Any] = {"destination_url": url}
        if f.get("call_to_action"):
            content["call_to_action"] = str(f["call_to_action"])
        post_data: dict[str, Any] = {"type": "IMAGE" if f.get("image_url") else "TEXT", "headline": headline,
                                     "content": [content]}
        if f.get("image_url"):
            content["media_url"] = str(f["image_url"])
        if f.get("body"):
            post_data["body"] = str(f["body"])
        pkey = post_key(post_data)
        posts.setdefault(pkey, Entity("post", pkey, headline, post_data))
        ad_name = _cut(f"{headline[:200]} · {vid[:8]}")
        ad_data: dict[str, Any] = {"name": ad_name, "click_url": url}
        if profile_id:
            ad_data["profile_id"] = profile_id
        plan.entities.append(Entity("ad", f"a:{vid}", ad_name, ad_data, parent=gkey, post=pkey, variation_id=vid))
    plan.entities[:0] = [*campaigns.values(), *groups.values(), *posts.values()]
    return plan
