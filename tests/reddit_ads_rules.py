"""What the Reddit Ads API v3 refuses, for the local double (tests/reddit_ads_double.py).

Sources: ../shared/AD_BULK_FORMATS.md §3 (object fields and enums from the v3 OpenAPI spec) and
../shared/PLATFORM_LIMITS.md §2 (names ≤ 255, headline ≤ 300, Title-Case call-to-action enum). Every error is
the API's shape: ``{"error": {"code": ..., "message": ..., "fields": [...]}}`` with status 400.
"""

from __future__ import annotations

from typing import Any

OBJECTIVES = {"CLICKS", "CONVERSIONS", "IMPRESSIONS", "VIDEO_VIEWABLE_IMPRESSIONS", "APP_INSTALLS", "CATALOG_SALES",
              "LEAD_GENERATION"}
STATUSES = {"ACTIVE", "PAUSED"}
BID_STRATEGIES = {"BIDLESS", "MANUAL_BIDDING", "MAXIMIZE_VOLUME", "TARGET_CPX"}
BID_TYPES = {"CPC", "CPM", "CPV"}
GOAL_TYPES = {"DAILY_SPEND", "LIFETIME_SPEND"}
POST_TYPES = {"IMAGE", "VIDEO", "CAROUSEL", "TEXT"}
CALLS_TO_ACTION = {"Apply Now", "Contact Us", "Download", "Get a Quote", "Install", "Learn More", "Play Now",
                   "Pre-order Now", "See Menu", "Shop Now", "Sign Up", "View More", "Watch Now", "Order Now",
                   "Book Now", "Get Showtimes"}
NAME_MAX = 255
HEADLINE_MAX = 300

# kind -> (required fields on create, fields a create or update may carry)
FIELDS: dict[str, tuple[set[str], set[str]]] = {
    "campaign": ({"name", "objective", "configured_status"},
                 {"name", "objective", "configured_status", "funding_instrument_id", "spend_cap", "special_ad_categories"}),
    "ad_group": ({"name", "campaign_id", "configured_status", "bid_strategy", "goal_type", "goal_value"},
                 {"name", "campaign_id", "configured_status", "bid_strategy", "bid_type", "bid_value", "goal_type",
                  "goal_value", "optimization_goal", "start_time", "end_time", "targeting"}),
    "post": ({"type", "headline"}, {"type", "headline", "content", "thumbnail_url", "body"}),
    "ad": ({"name", "ad_group_id", "post_id", "configured_status"},
           {"name", "ad_group_id", "post_id", "configured_status", "click_url", "profile_id"}),
}


def _err(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}


def errors(kind: str, data: Any, *, create: bool, exists: dict[str, bool]) -> list[dict[str, str]]:
    """The API's refusals of a create (all required fields) or an update (only the fields sent); [] = accepted.

    ``exists`` says whether a referenced parent id (``campaign_id``, ``ad_group_id``, ``post_id``) is known to the
    ad account/profile the call is made under.
    """
    if not isinstance(data, dict):
        return [_err("data", "the body must be {\"data\": {...}}")]
    required, allowed = FIELDS[kind]
    out = [_err(f, "unknown field") for f in sorted(set(data) - allowed)]
    if create:
        out += [_err(f, "required") for f in sorted(required - set(data))]
    for key, value in data.items():
        out += _field_errors(key, value, exists)
    return out


def _field_errors(key: str, value: Any, exists: dict[str, bool]) -> list[dict[str, str]]:
    if key == "name":
        if not isinstance(value, str) or not value.strip():
            return [_err(key, "must be a non-empty string")]
        return [_err(key, f"at most {NAME_MAX} characters")] if len(value) > NAME_MAX else []
    if key == "headline":
        if not isinstance(value, str) or not value.strip():
            return [_err(key, "must be a non-empty string")]
        return [_err(key, f"at most {HEADLINE_MAX} characters")] if len(value) > HEADLINE_MAX else []
    enums = {"objective": OBJECTIVES, "configured_status": STATUSES, "bid_strategy": BID_STRATEGIES,
             "bid_type": BID_TYPES, "goal_type": GOAL_TYPES, "type": POST_TYPES}
    if key in enums:
        return [] if value in enums[key] else [_err(key, f"must be one of {sorted(enums[key])}")]
    if key in ("goal_value", "bid_value", "spend_cap"):  # micro-currency: whole numbers of millionths
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return [_err(key, "must be a non-negative integer in micro-currency (1 USD = 1000000)")]
        return []
    if key in ("campaign_id", "ad_group_id", "post_id"):
        return [] if exists.get(key) else [_err(key, "not found under this ad account")]
    if key == "content":
        if not isinstance(value, list) or not value:
            return [_err(key, "must be a non-empty list")]
        for item in value:
            cta = item.get("call_to_action") if isinstance(item, dict) else None
            if cta is not None and cta not in CALLS_TO_ACTION:
                return [_err(key, f"call_to_action must be one of {sorted(CALLS_TO_ACTION)}")]
            if isinstance(item, dict) and not str(item.get("destination_url", "")).startswith(("http://", "https://")):
                return [_err(key, "destination_url must be an http(s) URL")]
    return []
