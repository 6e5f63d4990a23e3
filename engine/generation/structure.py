"""Campaign structure of a paid-ad set: campaign → ad group (ad set) → ads, keywords and negatives.

Campaign and ad-group names are templates rendered per variation (plan columns `campaign_name`,
`ad_group_name`); keyword templates render into `keywords` (one keyword a line). Ads group under
ad groups under campaigns by their rendered names, in first-seen order. Keywords and negatives are
normalised (trimmed, spaces collapsed, lower-cased) and de-duplicated by keyword + match type.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.errors import EngineError
from engine.platforms import FieldSpec, get_format
from engine.platforms.bulk_files import StructureInput, keyword_lines, normalise_keyword
from engine.platforms.bulk_settings import check_settings

__all__ = [
    "MATCH_TYPES",
    "NAME_SPECS",
    "STRUCTURE_COLUMNS",
    "AdGroupBranch",
    "CampaignBranch",
    "CampaignStructure",
    "Negative",
    "Structure",
    "build_structure",
    "default_structure",
    "is_paid",
    "keyword_lines",
    "normalise_keyword",
    "parse_keyword_lines",
    "structure_input",
]

MATCH_TYPES: tuple[str, ...] = ("Broad", "Phrase", "Exact")
NEGATIVE_LEVELS: tuple[str, ...] = ("campaign", "ad_group")
STRUCTURE_COLUMNS: tuple[str, ...] = ("campaign_name", "ad_group_name", "keywords")
_NAME_SOURCE = ("AD_BULK_FORMATS.md §1–2: rows reference their parents by name (Campaign / Ad group, Campaign Name / "
                "Ad Set Name), so a name may not be empty; 255 characters is the platforms' usual name limit (unconfirmed)")
NAME_SPECS: dict[str, FieldSpec] = {
    "campaign_name": FieldSpec("campaign_name", "Campaign name", required=True, max_chars=255, source=_NAME_SOURCE),
    "ad_group_name": FieldSpec("ad_group_name", "Ad group name", required=True, max_chars=255, source=_NAME_SOURCE),
}
_GROUPING = ("category", "campaign", "type", "group", "segment", "brand", "region", "city", "collection", "department")


def is_paid(platform: str, format_name: str) -> bool:
    """Paid-ad formats (content type "ads") have a campaign structure."""
    return get_format(platform, format_name).content_type == "ads"


@dataclass(frozen=True)
class Negative:
    """A negative keyword at campaign or ad-group level."""

    keyword: str
    match_type: str = "Phrase"
    level: str = "campaign"


def _negatives(items: Iterable[Any]) -> tuple[Negative, ...]:
    seen: dict[tuple[str, str, str], Negative] = {}
    for item in items:
        neg = item if isinstance(item, Negative) else Negative(**dict(item))
        if neg.match_type not in MATCH_TYPES:
            raise EngineError(f"negative keyword {neg.keyword!r}: match type must be one of {', '.join(MATCH_TYPES)}")
        if neg.level not in NEGATIVE_LEVELS:
            raise EngineError(f"negative keyword {neg.keyword!r}: level must be campaign or ad_group")
        text = normalise_keyword(str(neg.keyword).lstrip("-"))
        if text:
            seen.setdefault((text, neg.match_type, neg.level), Negative(text, neg.match_type, neg.level))
    return tuple(seen.values())


@dataclass(frozen=True)
class CampaignStructure:
    """Name templates, keyword templates with their match types, negatives and per-level settings."""

    campaign: str
    ad_group: str
    keywords: tuple[str, ...] = ()
    match_types: tuple[str, ...] = ("Phrase",)
    negatives: tuple[Negative, ...] = ()
    settings: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not str(self.campaign).strip():
            raise EngineError("campaign structure: give a campaign name template, e.g. {{ category }}", field="campaign_name")
        if not str(self.ad_group).strip():
            raise EngineError("campaign structure: give an ad group name template, e.g. {{ product_name }}",
                              field="ad_group_name")
        object.__setattr__(self, "keywords", tuple(k for k in (str(t) for t in self.keywords) if k.strip()))
        object.__setattr__(self, "match_types", tuple(dict.fromkeys(self.match_types)))
        bad = [m for m in self.match_types if m not in MATCH_TYPES]
        if bad or (self.keywords and not self.match_types):
            raise EngineError(f"campaign structure: match types must be some of {', '.join(MATCH_TYPES)}"
                              + (f", not {', '.join(map(repr, bad))}" if bad else ""))
        object.__setattr__(self, "negatives", _negatives(self.negatives))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CampaignStructure:
        """From stored JSON (the set's config["structure"])."""
        known = {"campaign", "ad_group", "keywords", "match_types", "negatives", "settings"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise EngineError(f"campaign structure: unknown key(s) {', '.join(unknown)}")
        d = dict(data)
        for key in ("keywords", "match_types", "negatives"):
            if key in d:
                if isinstance(d[key], str) or not isinstance(d[key], Sequence):
                    raise EngineError(f"campaign structure: {key} must be a list")
                d[key] = tuple(d[key])
        if not isinstance(d.get("settings", {}), Mapping):
            raise EngineError("campaign structure: settings must map a level to its settings")
        try:
            return cls(**d)
        except TypeError as exc:
            raise EngineError(f"campaign structure: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON for the store."""
        return {"campaign": self.campaign, "ad_group": self.ad_group, "keywords": list(self.keywords),
                "match_types": list(self.match_types),
                "negatives": [{"keyword": n.keyword, "match_type": n.match_type, "level": n.level} for n in self.negatives],
                "settings": {k: dict(v) for k, v in self.settings.items()}}

    def check(self, platform: str) -> None:
        """Settings known to the platform and in their allowed form."""
        check_settings(platform, self.settings)

    def templates(self) -> dict[str, str]:
        """Plan columns → template: names, and the keyword templates one a line."""
        out = {"campaign_name": self.campaign, "ad_group_name": self.ad_group}
        if self.keywords:
            out["keywords"] = "\n".join(self.keywords)
        return out


def parse_keyword_lines(text: str, level: str) -> list[dict[str, str]]:
    """Negative keywords written as in Google Ads: `word` broad, `"words"` phrase, `[words]` exact; one a line."""
    out = []
    for line in text.splitlines():
        item = line.strip()
        match = "Broad"
        if len(item) >= 2 and item[0] == "[" and item[-1] == "]":
            item, match = item[1:-1], "Exact"
        elif len(item) >= 2 and item[0] == item[-1] == '"':
            item, match = item[1:-1], "Phrase"
        if normalise_keyword(item.lstrip("-")):
            out.append({"keyword": item, "match_type": match, "level": level})
    return out


def default_structure(fmt_key: str, columns: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """A starting structure from the data's columns: campaigns by a grouping column (category, brand…)
    or the first text column; Google ad groups by the first other text column, which is also the
    keyword; Meta ad sets by another grouping column when there is one."""
    text = [name for name, kind in columns if kind in ("text", "string", "str", "categorical")] or [n for n, _ in columns]
    grouping = next((n for g in _GROUPING for n in text if g in n.lower()), None)
    first = text[0] if text else None
    campaign_col = grouping or first
    group_col = next((n for n in text if n != campaign_col), campaign_col)
    if fmt_key.startswith("meta/"):  # an ad set carries a budget: one per product would split it a thousand ways
        group_col = next((n for g in _GROUPING for n in text if g in n.lower() and n != campaign_col), group_col)
    campaign = f"{{{{ {campaign_col} | default('General') }}}}" if campaign_col else "Campaign 1"
    ad_group = f"{{{{ {group_col} | default('General') }}}}" if group_col else "Ad group 1"
    platform = fmt_key.split("/", 1)[0]
    keywords = [f"{{{{ {group_col} }}}}"] if platform == "google" and group_col else []
    return {"campaign": campaign, "ad_group": ad_group, "keywords": keywords, "match_types": ["Phrase"],
            "negatives": [], "settings": {}}


# -- the tree ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AdGroupBranch:
    """An ad group: its ads (count and the first few labels) and its keywords."""

    name: str
    ads: int
    first_ads: tuple[str, ...]
    keywords: tuple[tuple[str, str], ...]  # (keyword, match type), de-duplicated, in first-seen order


@dataclass(frozen=True)
class CampaignBranch:
    """A campaign and its ad groups (all of them; draw the first few)."""

    name: str
    ad_groups: tuple[AdGroupBranch, ...]

    @property
    def ads(self) -> int:
        return sum(g.ads for g in self.ad_groups)


@dataclass(frozen=True)
class Structure:
    """Counts of the whole set and its campaigns (first-seen order)."""

    campaigns: int
    ad_groups: int
    ads: int
    keywords: int
    negative_keywords: int
    branches: tuple[CampaignBranch, ...]
    negatives: tuple[Negative, ...] = ()

    def first(self, campaigns: int = 3, groups: int = 3) -> tuple[CampaignBranch, ...]:
        """The first `campaigns` campaigns with their first `groups` ad groups (for drawing)."""
        return tuple(CampaignBranch(c.name, c.ad_groups[:groups]) for c in self.branches[:campaigns])


def build_structure(records: Iterable[Mapping[str, Any]], structure: CampaignStructure, *, ad_label: str | None = None,
                    first_ads: int = 3) -> Structure:
    """Group records (generated variations: `campaign_name`, `ad_group_name`, `keywords`, fields) into the tree."""
    tree: dict[str, dict[str, dict[str, Any]]] = {}
    for r in records:
        campaign = str(r.get("campaign_name") or "")
        group = tree.setdefault(campaign, {}).setdefault(str(r.get("ad_group_name") or ""),
                                                         {"ads": 0, "labels": [], "keywords": {}})
        group["ads"] += 1
        if ad_label and len(group["labels"]) < first_ads:
            group["labels"].append(str(r.get(ad_label) or ""))
        for kw in keyword_lines(str(r.get("keywords") or "")):
            for m in structure.match_types:
                group["keywords"].setdefault((kw, m), None)
    branches = tuple(
        CampaignBranch(c, tuple(AdGroupBranch(g, v["ads"], tuple(v["labels"]), tuple(v["keywords"]))
                                for g, v in groups.items()))
        for c, groups in tree.items())
    n_groups = sum(len(b.ad_groups) for b in branches)
    per_campaign = sum(1 for n in structure.negatives if n.level == "campaign")
    per_group = sum(1 for n in structure.negatives if n.level == "ad_group")
    return Structure(
        campaigns=len(branches), ad_groups=n_groups, ads=sum(b.ads for b in branches),
        keywords=sum(len(g.keywords) for b in branches for g in b.ad_groups),
        negative_keywords=per_campaign * len(branches) + per_group * n_groups,
        branches=branches, negatives=structure.negatives)


def structure_input(platform: str, structure: Mapping[str, Any] | CampaignStructure | None) -> StructureInput:
    """What a bulk layout needs from a set's structure (defaults for every setting when there is none)."""
    if structure is None:
        return StructureInput(platform)
    cs = structure if isinstance(structure, CampaignStructure) else CampaignStructure.from_dict(structure)
    return StructureInput(platform, cs.match_types, tuple((n.keyword, n.match_type, n.level) for n in cs.negatives),
                          cs.settings)
