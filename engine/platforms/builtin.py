"""Built-in platforms, formats and export specs, each limit with its source (PLATFORM_LIMITS.md).

Where sources disagree the strictest published maximum is the hard limit and softer guidance
goes in `recommended_chars`; both are named in the field's `source`.
"""

from __future__ import annotations

from engine.platforms.exports import ExportColumn, ExportSpec, register_export
from engine.platforms.registry import (
    FieldSpec,
    Format,
    register_format,
    register_platform,
    repeated,
)

__all__ = ["HASHTAG_PATTERN", "URL_PATTERN"]

# Full-match patterns; written so Python `re` and DuckDB's RE2 read them the same way.
URL_PATTERN = r"(?i)https?://[^\x00-\x20/?#]+\.[^\x00-\x20/?#]+(?:[/?#][^\x00-\x20]*)?"
HASHTAG_PATTERN = r"#[^\x00-\x20#]+"

_R = "PLATFORM_LIMITS.md §1 Reddit organic"
_RA = "PLATFORM_LIMITS.md §2 Reddit Ads"
_G = "PLATFORM_LIMITS.md §3 Google RSA"
_M = "PLATFORM_LIMITS.md §4 Meta feed ad"
_I = "PLATFORM_LIMITS.md §5 Instagram"
_X = "PLATFORM_LIMITS.md §6 X"

REDDIT_CTAS = (
    "Apply Now", "Contact Us", "Download", "Get a Quote", "Get Showtimes", "Install", "Learn More",
    "Order Now", "Play Now", "Pre-order Now", "See Menu", "Shop Now", "Sign Up", "View More",
    "Watch Now", "Book Now", "Buy Tickets", "Get Directions", "Listen Now", "Read More", "Subscribe",
    "Visit Store", "Donate Now", "Remind Me",
)
META_CTAS = (
    "SHOP_NOW", "LEARN_MORE", "SIGN_UP", "DOWNLOAD", "BOOK_NOW", "CONTACT_US", "GET_OFFER",
    "GET_QUOTE", "SUBSCRIBE", "WATCH_MORE", "APPLY_NOW", "ORDER_NOW",
)

register_platform("reddit", "Reddit")
register_platform("google", "Google Ads")
register_platform("meta", "Meta (Facebook)")
register_platform("instagram", "Instagram")
register_platform("x", "X (Twitter)")

register_format(Format(
    platform="reddit", content_type="organic", name="thread", label="Reddit thread",
    source=_R,
    notes=("A link post carries no body text (Ayrshare, 3rd-party); not checked across fields.",
           "Subreddits may add their own rules (flair required, karma) — not machine-readable."),
    fields=(
        FieldSpec("subreddit", "Subreddit", required=True, max_chars=21,
                  pattern=r"[A-Za-z0-9][A-Za-z0-9_]{2,20}",
                  pattern_hint="3–21 letters, digits or underscores, not starting with '_' (no 'r/')",
                  source=f"{_R}: subreddit_rx in reddit-archive/reddit r2/r2/models/subreddit.py (official code)"),
        FieldSpec("title", "Title", required=True, max_chars=300,
                  source=f"{_R}: VTitle max_length=300, r2/r2/lib/validator/validator.py (official code); "
                         "must not be blank (VLength empty_error)"),
        FieldSpec("body", "Body", kind="markdown", max_chars=40_000,
                  source=f"{_R}: Link.SELFTEXT_MAX_LENGTH = 40000, r2/r2/models/link.py, checked in "
                         "POST_submit (official code); counts raw Markdown"),
        FieldSpec("url", "Link URL", kind="url",
                  source=f"{_R}: submit kind 'link' (r2/r2/controllers/api.py); no length limit in the sources"),
        FieldSpec("flair", "Flair text", max_chars=64,
                  source=f"{_R}: VFlairText max_length=64, validator.py (official code)"),
        FieldSpec("nsfw", "NSFW", kind="bool",
                  source=f"{_R}: POST /api/submit boolean parameter (reddit.com/dev/api, cited in §1)"),
        FieldSpec("spoiler", "Spoiler", kind="bool",
                  source=f"{_R}: POST /api/submit boolean parameter (reddit.com/dev/api, cited in §1)"),
        FieldSpec("send_replies", "Send replies to inbox", kind="bool",
                  source=f"{_R}: POST /api/submit boolean parameter (reddit.com/dev/api, cited in §1)"),
    ),
))

register_format(Format(
    platform="reddit", content_type="organic", name="comment", label="Reddit comment",
    source=_R,
    fields=(
        FieldSpec("parent", "Parent (thing id, URL, or 'row N' of this set)", required=True,
                  source=f"{_R}: POST_comment parent thing, r2/r2/controllers/api.py (official code)"),
        FieldSpec("body", "Comment", kind="markdown", required=True, max_chars=10_000,
                  source=f"{_R}: POST_comment VMarkdownLength(max_length=10000), api.py (official code)"),
    ),
))

register_format(Format(
    platform="reddit", content_type="ads", name="link_ad", label="Reddit link ad",
    source=_RA,
    fields=(
        FieldSpec("headline", "Headline", required=True, max_chars=300, recommended_chars=150,
                  source=f"{_RA}: Reddit Ads help 'Image Ad Specifications' (mirror): max 300, "
                         "recommended ≤150; dotoro-ads types.ts says ≤100 (3rd-party, conflicting)"),
        FieldSpec("destination_url", "Destination URL", kind="url", required=True, max_chars=268,
                  source=f"{_RA}: Reddit Ads help image/carousel specs (mirror): 268 chars, required"),
        FieldSpec("call_to_action", "Call to action", kind="enum", allowed=REDDIT_CTAS,
                  source=f"{_RA}: Reddit Ads API v3 ComponentsEnumsCallToAction (OpenAPI client "
                         "soenneker.reddit.ads.openapiclient), nullable"),
        FieldSpec("display_url", "Display URL", max_chars=100,
                  source=f"{_RA}: help mirror 100 chars, optional, must match the destination domain; "
                         "dotoro-ads says 50 / 25 (3rd-party, conflicting)"),
        FieldSpec("body", "Body text", kind="text",
                  source=f"{_RA}: optional, 'varies by placement' (stackmatix, 3rd-party); max unconfirmed"),
    ),
))

_path = {"max_chars": 15, "count": "display_width", "pattern": r"[^/\r\n]*",
         "pattern_hint": "no '/' or line break",
         "source": f"{_G}: Google Ads API ResponsiveSearchAdInfo path1/path2 15 (or 7 double-width); "
                   "Adobe Experience League"}
register_format(Format(
    platform="google", content_type="ads", name="responsive_search_ad", label="Google responsive search ad",
    source=_G,
    notes=("Google advises at least 5 distinct headlines.", "path_2 only when path_1 is set (not checked)."),
    fields=(
        *repeated("headline", "Headline", 15, 3, max_chars=30, count="display_width",
                  source=f"{_G}: 3–15 headlines × 30, Google Ads API guide 'Responsive search ads'; "
                         "Adobe Experience League; double-width counts 2"),
        *repeated("description", "Description", 4, 2, max_chars=90, count="display_width",
                  source=f"{_G}: 2–4 descriptions × 90, Google Ads API guide 'Responsive search ads'; "
                         "Adobe Experience League; double-width counts 2"),
        FieldSpec("path_1", "Path 1", **_path),  # type: ignore[arg-type]
        FieldSpec("path_2", "Path 2", **_path),  # type: ignore[arg-type]
        FieldSpec("final_url", "Final URL", kind="url", required=True, max_chars=2048,
                  source=f"{_G}: required (Google Ads API); 2,048 from skills.sh google-ads-rules "
                         "(3rd-party), Google's max unconfirmed"),
    ),
))

register_format(Format(
    platform="meta", content_type="ads", name="feed_ad", label="Meta feed ad",
    source=_M,
    notes=("Meta's own Ads Guide is not in the sources: every hard maximum is unconfirmed officially.",),
    fields=(
        FieldSpec("primary_text", "Primary text", required=True, max_chars=2200, recommended_chars=125,
                  source=f"{_M}: hard max 2,200 (lettercounter, ridgemarketing, jupitron; adsuploader says "
                         "4,096 via API), 125 recommended ('See more'); 3rd-party"),
        FieldSpec("headline", "Headline", required=True, max_chars=40, recommended_chars=27,
                  source=f"{_M}: max 40 (lettercounter) vs 255 (jupitron) → strictest 40; 27 recommended "
                         "for FB feed; 3rd-party"),
        FieldSpec("description", "Description", max_chars=30, recommended_chars=25,
                  source=f"{_M}: max 30 (lettercounter) vs 255 (jupitron) → strictest 30; 25 recommended "
                         "(adsuploader); 3rd-party"),
        FieldSpec("link", "Website URL", kind="url", required=True,
                  source=f"{_M} / AD_BULK_FORMATS.md §2: 'Link' column; max unconfirmed"),
        FieldSpec("call_to_action", "Call to action", kind="enum", allowed=META_CTAS,
                  source=f"{_M}: enum form used by bulk sheets (dotoro-ads facebook.ts, 3rd-party); "
                         "Meta's full enum unconfirmed"),
    ),
))

register_format(Format(
    platform="instagram", content_type="organic", name="post", label="Instagram post",
    source=_I,
    notes=("The hashtag limit is checked per field, not across caption + hashtags together.",),
    fields=(
        FieldSpec("caption", "Caption", max_chars=2200, max_items=5, item_pattern=HASHTAG_PATTERN, item_label="hashtags",
                  source=f"{_I}: caption 2,200 (Ayrshare, Upload-Post; letmepost says graphemes — code "
                         "points are stricter); hashtags 5 per Ayrshare current docs and Apify (30 in "
                         "older docs, legacy); 3rd-party, official unconfirmed"),
        FieldSpec("hashtags", "Hashtags", max_items=5, item_pattern=HASHTAG_PATTERN, item_label="hashtags", max_chars=2200,
                  source=f"{_I}: 5 hashtags per Ayrshare current docs and Apify 'new 5-hashtag limit' "
                         "(30 in older Ayrshare docs, legacy); shares the 2,200 caption limit"),
        FieldSpec("alt_text", "Alt text", max_chars=1000,
                  source=f"{_I}: 1,000 (Upload-Post) vs 2,200 (letmepost) → strictest 1,000; unconfirmed"),
    ),
))

register_format(Format(
    platform="x", content_type="organic", name="post", label="X post",
    source=_X,
    fields=(
        FieldSpec("text", "Post text", required=True, max_chars=280, count="x_weighted",
                  source=f"{_X}: maxWeightedTweetLength 280, twitter/twitter-text config/v3.json (official)"),
    ),
))

_google_ad_columns = (
    ExportColumn("Campaign", column="campaign_name"),
    ExportColumn("Ad group", column="ad_group_name"),
    ExportColumn("Ad type", value="Responsive search ad"),
    *(ExportColumn(f"Headline {i}", column=f"headline_{i}") for i in range(1, 16)),
    *(ExportColumn(f"Description {i}", column=f"description_{i}") for i in range(1, 5)),
    ExportColumn("Path 1", column="path_1"),
    ExportColumn("Path 2", column="path_2"),
    ExportColumn("Final URL", column="final_url"),
    ExportColumn("Status", value="Paused"),
)
register_export(ExportSpec(
    name="google_ads_editor_csv", label="Google Ads Editor (CSV)", platform="google",
    format="responsive_search_ad", encoding="utf-8-sig",
    source="AD_BULK_FORMATS.md §1: Google Ads Editor Help 'CSV file columns' (answer 57747); column "
           "names from 3rd-party Editor exporters; UTF-8 with BOM, comma, RFC-4180",
    columns=_google_ad_columns,
    keyword_columns=(
        ExportColumn("Campaign", column="campaign_name"),
        ExportColumn("Ad group", column="ad_group_name"),
        ExportColumn("Keyword", column="keyword"),
        ExportColumn("Criterion Type", column="match_type"),
        ExportColumn("Status", value="Paused"),
    ),
    match_types=("Broad", "Phrase", "Exact", "Negative Broad", "Negative Phrase", "Negative Exact"),
))

register_export(ExportSpec(
    name="meta_ads_manager_csv", label="Meta Ads Manager bulk import (CSV)", platform="meta",
    format="feed_ad",
    source="AD_BULK_FORMATS.md §2: template headers from ≥5 public 3rd-party generators (Body = primary "
           "text, Title = headline, Link Description = description); Meta's help page unconfirmed",
    columns=(
        ExportColumn("Campaign Name", column="campaign_name"),
        ExportColumn("Ad Set Name", column="ad_group_name"),
        ExportColumn("Ad Name", column="ad_name"),
        ExportColumn("Ad Status", value="PAUSED"),
        ExportColumn("Title", column="headline"),
        ExportColumn("Body", column="primary_text"),
        ExportColumn("Link Description", column="description"),
        ExportColumn("Link", column="link"),
        ExportColumn("Call to Action", column="call_to_action"),
    ),
))
