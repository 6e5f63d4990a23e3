"""Campaign structure of a paid-ad set, as data: campaign → ad-group definitions → ad definitions.

One data row makes, per ad-group definition, an ad group (its name a template) with its keywords,
and per ad definition of that group one ad (the format's fields as templates; an ad without its
own template for a field uses the set's). The plan renders every (row, ad slot) as one variation,
with `__variation` = source-combination × ads-per-row + slot (`slots`), so a single-ad structure
keeps the ids it always had. Ad groups are then formed by their rendered names within a campaign
(engine/platforms/ad_tree.py): rows and definitions that render the same names merge.

Keyword patterns render per row into the `keywords` column, each line led by its match type
(`ad_tree.keyword_line`); ad-group negatives of a definition are templates rendered the same way;
the structure's own negatives are fixed text at campaign level or for every ad group. Stored sets
from before several ad groups (`ad_group`, `keywords`, `match_types` at the top) are read as one
ad-group definition with one ad that uses the set's templates (`from_dict`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.errors import EngineError
from engine.generation.structure_tree import (
    AdGroupBranch,
    CampaignBranch,
    Structure,
    build_structure,
)
from engine.platforms import FieldSpec, get_format
from engine.platforms.ad_tree import MATCH_TYPES, keyword_line, keyword_lines, normalise_keyword
from engine.platforms.bulk_files import StructureInput
from engine.platforms.bulk_settings import check_settings

__all__ = [
    "AD_SLOT",
    "MATCH_TYPES",
    "MAX_ADS_PER_ROW",
    "NAME_SPECS",
    "STRUCTURE_COLUMNS",
    "AdDefinition",
    "AdGroupBranch",
    "AdGroupDefinition",
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

AD_SLOT = "__ad"
"""The plan column holding a variation's ad slot (when a row makes several ads)."""
NEGATIVE_LEVELS: tuple[str, ...] = ("campaign", "ad_group")
STRUCTURE_COLUMNS: tuple[str, ...] = ("campaign_name", "ad_group_name", "ad_name", "keywords")
MAX_ADS_PER_ROW = 50
"""Ad slots one row may make (ad-group definitions × their ads): a structure is a handful of them, not a grid."""
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


def _refuse(message: str, where: str = "") -> EngineError:
    return EngineError(f"campaign structure{': ' + where if where else ''}: {message}")


def _list(value: Any, what: str, where: str = "") -> tuple[Any, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise _refuse(f"{what} must be a list", where)
    return tuple(value)


def _keys(data: Any, known: set[str], where: str) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise _refuse("expected an object with " + ", ".join(sorted(known)), where)
    unknown = sorted(set(data) - known)
    if unknown:
        raise _refuse(f"unknown key(s) {', '.join(map(str, unknown))}; use {', '.join(sorted(known))}", where)
    return dict(data)


@dataclass(frozen=True)
class Negative:
    """A negative keyword at campaign or ad-group level (fixed text, normalised)."""

    keyword: str
    match_type: str = "Phrase"
    level: str = "campaign"


def _negatives(items: Iterable[Any]) -> tuple[Negative, ...]:
    seen: dict[tuple[str, str, str], Negative] = {}
    for item in items:
        neg = item if isinstance(item, Negative) else Negative(**_keys(item, {"keyword", "match_type", "level"},
                                                                       "negative keyword"))
        if neg.match_type not in MATCH_TYPES:
            raise EngineError(f"negative keyword {neg.keyword!r}: match type must be one of {', '.join(MATCH_TYPES)}")
        if neg.level not in NEGATIVE_LEVELS:
            raise EngineError(f"negative keyword {neg.keyword!r}: level must be campaign or ad_group")
        text = normalise_keyword(str(neg.keyword).lstrip("-"))
        if text:
            seen.setdefault((text, neg.match_type, neg.level), Negative(text, neg.match_type, neg.level))
    return tuple(seen.values())


def _match_types(value: Sequence[str], where: str, needed: bool) -> tuple[str, ...]:
    out = tuple(dict.fromkeys(str(m) for m in value))
    bad = [m for m in out if m not in MATCH_TYPES]
    if bad or (needed and not out):
        raise _refuse(f"match types must be some of {', '.join(MATCH_TYPES)}"
                      + (f", not {', '.join(map(repr, bad))}" if bad else ""), where)
    return out


@dataclass(frozen=True)
class AdDefinition:
    """One ad an ad group gets per row: field → template for the fields it sets itself (others: the set's)."""

    templates: Mapping[str, str] = field(default_factory=dict)
    name: str = ""  # an ad-name template (Meta's Ad Name); empty: "<ad group> — ad <n>"

    @classmethod
    def from_dict(cls, data: Any, where: str) -> AdDefinition:
        d = _keys(data, {"templates", "name"}, where)
        templates = d.get("templates") or {}
        if not isinstance(templates, Mapping) or not all(isinstance(v, str) for v in templates.values()):
            raise _refuse("templates must map a field to its template text", where)
        return cls({str(k): v for k, v in templates.items() if v.strip()}, str(d.get("name") or ""))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "templates": dict(self.templates)}


@dataclass(frozen=True)
class AdGroupDefinition:
    """An ad group each row makes: its name template, keyword patterns with match types, negatives and ads."""

    name: str
    keywords: tuple[str, ...] = ()
    match_types: tuple[str, ...] = ("Phrase",)
    negatives: tuple[tuple[str, str], ...] = ()  # (template, match type), rendered per row
    ads: tuple[AdDefinition, ...] = (AdDefinition(),)

    @classmethod
    def from_dict(cls, data: Any, n: int) -> AdGroupDefinition:
        where = f"ad group {n}"
        d = _keys(data, {"name", "keywords", "match_types", "negatives", "ads"}, where)
        name = str(d.get("name") or "")
        if not name.strip():
            raise EngineError(f"campaign structure: {where} needs a name template, e.g. {{{{ product_name }}}}",
                              field="ad_group_name")
        keywords = tuple(k for k in (str(t) for t in _list(d.get("keywords", ()), "keywords", where)) if k.strip())
        match_types = _match_types(_list(d.get("match_types", ("Phrase",)), "match_types", where), where, bool(keywords))
        negatives = []
        for item in _list(d.get("negatives", ()), "negatives", where):
            neg = _keys(item, {"keyword", "match_type", "level"}, f"{where}, negative keyword")
            match = str(neg.get("match_type") or "Phrase")
            if match not in MATCH_TYPES:
                raise _refuse(f"negative keyword {neg.get('keyword')!r}: match type must be one of "
                              f"{', '.join(MATCH_TYPES)}", where)
            if str(neg.get("keyword") or "").strip():
                negatives.append((str(neg["keyword"]).strip(), match))
        ads_data = _list(d.get("ads", ({},)), "ads", where)
        if not ads_data:
            raise _refuse("give at least one ad (an empty ad uses the set's templates)", where)
        ads = tuple(AdDefinition.from_dict(a, f"{where}, ad {i}") for i, a in enumerate(ads_data, start=1))
        return cls(name, keywords, match_types, tuple(dict.fromkeys(negatives)), ads)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "keywords": list(self.keywords), "match_types": list(self.match_types),
                "negatives": [{"keyword": k, "match_type": m} for k, m in self.negatives],
                "ads": [a.to_dict() for a in self.ads]}

    def keyword_template(self) -> str:
        """The `keywords` column's template: one led line per pattern × match type, then the negatives."""
        lines = [keyword_line(m, p) for p in self.keywords for m in self.match_types]
        lines += [keyword_line(m, k, negative=True) for k, m in self.negatives]
        return "\n".join(lines)


_LEGACY = {"ad_group", "keywords", "match_types"}


@dataclass(frozen=True)
class CampaignStructure:
    """The campaign name template, ad-group definitions, fixed negatives, per-level settings, keyword case."""

    campaign: str
    ad_groups: tuple[AdGroupDefinition, ...]
    negatives: tuple[Negative, ...] = ()
    settings: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    keep_case: bool = False  # keywords keep their letter case (normalised otherwise to lower case)

    def __post_init__(self) -> None:
        if not str(self.campaign).strip():
            raise EngineError("campaign structure: give a campaign name template, e.g. {{ category }}", field="campaign_name")
        if not self.ad_groups:
            raise _refuse("give at least one ad group")
        if self.ads_per_row > MAX_ADS_PER_ROW:
            raise _refuse(f"{self.ads_per_row} ads per row (ad groups × their ads) is over the limit of "
                          f"{MAX_ADS_PER_ROW}; use fewer ad groups or ads")
        object.__setattr__(self, "negatives", _negatives(self.negatives))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CampaignStructure:
        """From stored JSON (the set's config["structure"]); the one-ad-group shape of older sets is read too."""
        d = _keys(data, {"campaign", "ad_groups", "negatives", "settings", "keep_case"} | _LEGACY, "")
        legacy = {k: d.pop(k) for k in _LEGACY & set(d)}
        if "ad_groups" in d and legacy:
            raise _refuse(f"give either ad_groups or {', '.join(sorted(legacy))} (the older one-ad-group form), not both")
        if "ad_groups" not in d:
            groups_data: tuple[Any, ...] = ({"name": legacy.get("ad_group", ""),
                                             **{k: legacy[k] for k in ("keywords", "match_types") if k in legacy}},)
        else:
            groups_data = _list(d["ad_groups"], "ad_groups")
        if not isinstance(d.get("settings", {}), Mapping):
            raise _refuse("settings must map a level to its settings")
        return cls(str(d.get("campaign") or ""),
                   tuple(AdGroupDefinition.from_dict(g, i) for i, g in enumerate(groups_data, start=1)),
                   tuple(_list(d.get("negatives", ()), "negatives")), dict(d.get("settings") or {}),
                   bool(d.get("keep_case", False)))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON for the store."""
        return {"campaign": self.campaign, "ad_groups": [g.to_dict() for g in self.ad_groups],
                "negatives": [{"keyword": n.keyword, "match_type": n.match_type, "level": n.level} for n in self.negatives],
                "settings": {k: dict(v) for k, v in self.settings.items()}, "keep_case": self.keep_case}

    def check(self, platform: str) -> None:
        """Settings known to the platform and in their allowed form."""
        check_settings(platform, self.settings)

    # -- ad slots ---------------------------------------------------------------------------------

    @property
    def ads_per_row(self) -> int:
        """Variations one row makes per source combination: every ad of every ad-group definition."""
        return sum(len(g.ads) for g in self.ad_groups)

    @property
    def slots(self) -> list[tuple[int, int]]:
        """(ad-group definition, ad) of each slot, slot = its position here."""
        return [(g, a) for g, group in enumerate(self.ad_groups) for a in range(len(group.ads))]

    @property
    def match_types(self) -> tuple[str, ...]:
        """Every match type used (what a keyword line without a lead, from an older set, is read with)."""
        return tuple(dict.fromkeys(m for g in self.ad_groups for m in g.match_types)) or ("Phrase",)

    def slot_templates(self, base: Mapping[str, str]) -> list[dict[str, str]]:
        """Per slot: output column → template (the names, `keywords` and `ad_name` when used, then the fields)."""
        with_keywords = any(g.keywords or g.negatives for g in self.ad_groups)
        with_names = any(a.name.strip() for g in self.ad_groups for a in g.ads)
        out = []
        for g, a in self.slots:
            group, ad = self.ad_groups[g], self.ad_groups[g].ads[a]
            t = {"campaign_name": self.campaign, "ad_group_name": group.name}
            if with_keywords:
                t["keywords"] = group.keyword_template()
            if with_names:
                t["ad_name"] = ad.name
            out.append({**t, **base, **ad.templates})
        return out

    def slot_label(self, slot: int) -> str:
        g, a = self.slots[slot]
        return f"ad group {g + 1}, ad {a + 1}"

    def templates(self) -> dict[str, str]:
        """The first slot's hierarchy columns (campaign_name, ad_group_name, keywords) → template."""
        first = self.slot_templates({})[0]
        return {k: v for k, v in first.items() if k in ("campaign_name", "ad_group_name", "keywords")}


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
    or the first text column; one Google ad group by the first other text column, which is also the
    keyword; Meta ad sets by another grouping column when there is one; one ad using the set's templates."""
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
    return {"campaign": campaign,
            "ad_groups": [{"name": ad_group, "keywords": keywords, "match_types": ["Phrase"], "negatives": [],
                           "ads": [{"name": "", "templates": {}}]}],
            "negatives": [], "settings": {}, "keep_case": False}


def structure_input(platform: str, structure: Mapping[str, Any] | CampaignStructure | None) -> StructureInput:
    """What a bulk layout needs from a set's structure (defaults for every setting when there is none)."""
    if structure is None:
        return StructureInput(platform)
    cs = structure if isinstance(structure, CampaignStructure) else CampaignStructure.from_dict(structure)
    return StructureInput(platform, cs.match_types, tuple((n.keyword, n.match_type, n.level) for n in cs.negatives),
                          cs.settings, cs.keep_case)
