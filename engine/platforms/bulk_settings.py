"""Per-level settings a paid platform's bulk file needs (status, budget, bids, targeting), with defaults.

Values and header names from AD_BULK_FORMATS.md (§1 Google Ads Editor CSV, §2 Meta Ads Manager import).
A setting with no default and `required` must be given by the user before an export is accepted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from engine.errors import EngineError

__all__ = ["LEVELS", "SettingSpec", "check_settings", "resolved_settings", "settings_for"]

LEVELS: tuple[str, ...] = ("campaign", "ad_group", "ad")
_MONEY = r"\d+(?:\.\d{1,2})?"


@dataclass(frozen=True)
class SettingSpec:
    """One setting of one level: its bulk-file header, default and allowed values."""

    level: str
    name: str
    label: str
    header: str
    default: str = ""
    allowed: tuple[str, ...] = ()
    pattern: str | None = None
    hint: str = ""
    required: bool = False


_GOOGLE: tuple[SettingSpec, ...] = (
    SettingSpec("campaign", "status", "Campaign status", "Campaign Status", "Paused", ("Enabled", "Paused"), required=True),
    SettingSpec("campaign", "budget", "Daily budget", "Budget", "10.00", pattern=_MONEY, hint="an amount like 50.00",
                required=True),
    SettingSpec("campaign", "budget_type", "Budget type", "Budget type", "Daily", ("Daily",), required=True),
    SettingSpec("campaign", "campaign_type", "Campaign type", "Campaign type", "Search",
                ("Search", "Display", "Shopping", "Video"), required=True),
    SettingSpec("campaign", "networks", "Networks", "Networks", "Google Search", hint="e.g. Google Search; Search Partners",
                required=True),
    SettingSpec("campaign", "languages", "Languages", "Languages", "en", pattern=r"[a-z]{2,3}(?:-[A-Za-z]+)?(?:;\s*[a-z]{2,3}(?:-[A-Za-z]+)?)*",
                hint="language codes separated by ';', e.g. en; de", required=True),
    SettingSpec("campaign", "bid_strategy", "Bid strategy", "Bid Strategy Type", "Manual CPC",
                ("Manual CPC", "Maximize clicks", "Maximize conversions", "Target CPA", "Target ROAS"), required=True),
    SettingSpec("ad_group", "status", "Ad group status", "Ad group status", "Enabled", ("Enabled", "Paused"), required=True),
    SettingSpec("ad_group", "max_cpc", "Max CPC", "Max CPC", "1.00", pattern=_MONEY, hint="an amount like 1.20",
                required=True),
    SettingSpec("ad", "status", "Ad and keyword status", "Status", "Enabled", ("Enabled", "Paused"), required=True),
)

META_OBJECTIVES = ("OUTCOME_TRAFFIC", "OUTCOME_SALES", "OUTCOME_LEADS", "OUTCOME_AWARENESS", "OUTCOME_ENGAGEMENT",
                   "OUTCOME_APP_PROMOTION")
_META: tuple[SettingSpec, ...] = (
    SettingSpec("campaign", "objective", "Objective", "Campaign Objective", "OUTCOME_TRAFFIC", META_OBJECTIVES, required=True),
    SettingSpec("campaign", "buying_type", "Buying type", "Buying Type", "AUCTION", ("AUCTION",), required=True),
    SettingSpec("campaign", "status", "Campaign status", "Campaign Status", "PAUSED", ("ACTIVE", "PAUSED"), required=True),
    SettingSpec("ad_group", "status", "Ad set status", "Ad Set Run Status", "ACTIVE", ("ACTIVE", "PAUSED"), required=True),
    SettingSpec("ad_group", "daily_budget", "Ad set daily budget", "Ad Set Daily Budget", "20.00", pattern=_MONEY,
                hint="an amount like 20.00", required=True),
    SettingSpec("ad_group", "countries", "Countries", "Countries", "US", pattern=r"[A-Z]{2}(?:,\s*[A-Z]{2})*",
                hint="two-letter codes separated by commas, e.g. US, CA", required=True),
    SettingSpec("ad_group", "optimization_goal", "Optimization goal", "Optimization Goal", "LINK_CLICKS",
                ("LINK_CLICKS", "LANDING_PAGE_VIEWS", "IMPRESSIONS", "REACH", "OFFSITE_CONVERSIONS"), required=True),
    SettingSpec("ad_group", "billing_event", "Billing event", "Billing Event", "IMPRESSIONS", ("IMPRESSIONS", "LINK_CLICKS"),
                required=True),
    SettingSpec("ad_group", "page", "Facebook Page", "Link Object ID", "", pattern=r"o:\d+",
                hint="your Page as o:<page id>, e.g. o:123456789", required=True),
    SettingSpec("ad", "status", "Ad status", "Ad Status", "ACTIVE", ("ACTIVE", "PAUSED"), required=True),
    SettingSpec("ad", "call_to_action", "Call to action (when the ad has none)", "Call to Action", "LEARN_MORE",
                ("SHOP_NOW", "LEARN_MORE", "SIGN_UP", "DOWNLOAD", "BOOK_NOW", "CONTACT_US", "GET_OFFER", "GET_QUOTE",
                 "SUBSCRIBE", "WATCH_MORE", "APPLY_NOW", "ORDER_NOW"), required=True),
    SettingSpec("ad", "image_file_name", "Image file name", "Image File Name", "",
                hint="an image uploaded in the same import, e.g. shoes_1x1.jpg (or give an image hash)"),
    SettingSpec("ad", "image_hash", "Image hash", "Image Hash", "", hint="the hash of an image in the ad account library"),
)

# Reddit has no bulk file: these are the Ads API v3 fields a sync sends (AD_BULK_FORMATS.md §3); `header` is the
# API field. Money in dollars here, sent in micro-currency (studio/reddit_ads/plan.py).
_REDDIT: tuple[SettingSpec, ...] = (
    SettingSpec("campaign", "objective", "Objective", "objective", "CLICKS",
                ("CLICKS", "CONVERSIONS", "IMPRESSIONS", "VIDEO_VIEWABLE_IMPRESSIONS", "APP_INSTALLS", "CATALOG_SALES",
                 "LEAD_GENERATION"), required=True),
    SettingSpec("ad_group", "daily_budget", "Ad group daily budget", "goal_value", "20.00", pattern=_MONEY,
                hint="an amount like 20.00", required=True),
    SettingSpec("ad_group", "goal_type", "Budget type", "goal_type", "DAILY_SPEND", ("DAILY_SPEND", "LIFETIME_SPEND"),
                required=True),
    SettingSpec("ad_group", "bid_strategy", "Bid strategy", "bid_strategy", "MAXIMIZE_VOLUME",
                ("MAXIMIZE_VOLUME", "MANUAL_BIDDING", "TARGET_CPX", "BIDLESS"), required=True),
    SettingSpec("ad_group", "bid", "Bid (manual bidding)", "bid_value", "", pattern=_MONEY,
                hint="an amount like 0.75 (needed with manual bidding)"),
    SettingSpec("ad_group", "communities", "Communities", "targeting.communities", "",
                pattern=r"(?:r/)?[A-Za-z0-9][A-Za-z0-9_]{2,20}(?:\s*,\s*(?:r/)?[A-Za-z0-9][A-Za-z0-9_]{2,20})*",
                hint="subreddit names separated by commas, e.g. running, trailrunning"),
)

_SETTINGS: dict[str, tuple[SettingSpec, ...]] = {"google": _GOOGLE, "meta": _META, "reddit": _REDDIT}


def settings_for(platform: str) -> tuple[SettingSpec, ...]:
    """The settings a platform's bulk file reads (none for platforms without a bulk file)."""
    return _SETTINGS.get(platform, ())


def resolved_settings(platform: str, given: Mapping[str, Mapping[str, str]] | None) -> dict[str, dict[str, str]]:
    """level → setting → value: what the user gave, else the default."""
    given = given or {}
    out: dict[str, dict[str, str]] = {level: {} for level in LEVELS}
    for spec in settings_for(platform):
        value = str((given.get(spec.level) or {}).get(spec.name, spec.default) or "").strip()
        out[spec.level][spec.name] = value
    return out


def check_settings(platform: str, given: Mapping[str, Mapping[str, str]] | None) -> None:
    """Refuse unknown settings and values outside a setting's allowed values or form (empty is checked at export)."""
    known = {(s.level, s.name): s for s in settings_for(platform)}
    for level, values in (given or {}).items():
        if level not in LEVELS or not isinstance(values, Mapping):
            raise EngineError(f"campaign structure: unknown settings level {level!r}; use {', '.join(LEVELS)}")
        for name, value in values.items():
            spec = known.get((level, name))
            if spec is None:
                raise EngineError(f"campaign structure: {platform} has no {level.replace('_', ' ')} setting {name!r}")
            text = str(value or "").strip()
            if not text:
                continue
            if spec.allowed and text not in spec.allowed:
                raise EngineError(f"{spec.label}: {text!r} is not one of {', '.join(spec.allowed)}", field=name)
            if spec.pattern and not re.fullmatch(spec.pattern, text):
                raise EngineError(f"{spec.label}: {text!r} is not {spec.hint or 'in the expected form'}", field=name)
