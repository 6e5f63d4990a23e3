"""The counts and first branches of a paid set's tree (what the preview and a stored set show)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.platforms.ad_tree import AdTree, build_tree

if TYPE_CHECKING:
    from engine.generation.structure import CampaignStructure

__all__ = ["AdGroupBranch", "CampaignBranch", "Structure", "build_structure", "tree_of"]

Keyword = tuple[str, str]


@dataclass(frozen=True)
class AdGroupBranch:
    """An ad group: its ads (count and the first few labels), keywords, negatives and the ads dedup removed."""

    name: str
    ads: int
    first_ads: tuple[str, ...]
    keywords: tuple[Keyword, ...]  # (keyword, match type), de-duplicated, in first-seen order
    negatives: tuple[Keyword, ...] = ()
    duplicates: int = 0

    @property
    def empty(self) -> bool:
        return self.ads == 0


@dataclass(frozen=True)
class CampaignBranch:
    """A campaign and its ad groups (all of them; draw the first few)."""

    name: str
    ad_groups: tuple[AdGroupBranch, ...]

    @property
    def ads(self) -> int:
        return sum(g.ads for g in self.ad_groups)

    @property
    def empty(self) -> bool:
        return self.ads == 0


@dataclass(frozen=True)
class Structure:
    """Totals of the whole set before and after dedup, and its campaigns (first-seen order).

    Campaigns and ad groups survive dedup (`empty_*` count those left without an ad), so their
    totals are the same before and after; `ads_before` counts the ads before dedup removed any, and
    `keywords_before` every keyword × match type as rendered, before normalising and de-duplicating
    them within their ad group (`keywords`).
    """

    campaigns: int
    ad_groups: int
    ads: int
    keywords: int
    negative_keywords: int
    branches: tuple[CampaignBranch, ...]
    negatives: tuple[Keyword, ...] = ()  # campaign level, every campaign
    ads_before: int = 0
    keywords_before: int = 0
    empty_campaigns: int = 0
    empty_ad_groups: int = 0

    def first(self, campaigns: int = 3, groups: int = 3) -> tuple[CampaignBranch, ...]:
        """The first `campaigns` campaigns with their first `groups` ad groups (for drawing)."""
        return tuple(CampaignBranch(c.name, c.ad_groups[:groups]) for c in self.branches[:campaigns])

    def totals(self) -> dict[str, dict[str, int]]:
        """{"before": …, "after": …} dedup: campaigns, ad groups, ads, keywords."""
        return {"before": {"campaigns": self.campaigns, "ad_groups": self.ad_groups, "ads": self.ads_before,
                           "keywords": self.keywords_before},
                "after": {"campaigns": self.campaigns, "ad_groups": self.ad_groups, "ads": self.ads,
                          "keywords": self.keywords}}


def tree_of(records: Iterable[Mapping[str, Any]], structure: CampaignStructure | None,
            duplicates: Iterable[Mapping[str, Any]] = ()) -> AdTree:
    """The ad tree of kept variations and the duplicates' rows, read with the structure's keyword options."""
    if structure is None:
        return build_tree(records, duplicates)
    campaign = [(n.keyword, n.match_type) for n in structure.negatives if n.level == "campaign"]
    group = [(n.keyword, n.match_type) for n in structure.negatives if n.level == "ad_group"]
    return build_tree(records, duplicates, match_types=structure.match_types, keep_case=structure.keep_case,
                      campaign_negatives=campaign, group_negatives=group)


def build_structure(records: Iterable[Mapping[str, Any]], structure: CampaignStructure, *, ad_label: str | None = None,
                    first_ads: int = 3, duplicates: Iterable[Mapping[str, Any]] = ()) -> Structure:
    """Group kept variations (`campaign_name`, `ad_group_name`, `keywords`, fields) and the rows of the
    ads dedup removed (`duplicates`, see ad_tree.duplicate_skeleton) into the tree and its totals."""
    tree = tree_of(records, structure, duplicates)
    branches = tuple(
        CampaignBranch(c.name, tuple(
            AdGroupBranch(g.name, len(g.ads),
                          tuple(str(a.get(ad_label) or "") for a in g.ads[:first_ads]) if ad_label else (),
                          tuple(g.keywords), tuple(g.negatives), g.duplicates)
            for g in c.groups.values()))
        for c in tree.campaigns.values())
    groups = [g for b in branches for g in b.ad_groups]
    return Structure(
        campaigns=len(branches), ad_groups=len(groups), ads=sum(g.ads for g in groups),
        keywords=sum(len(g.keywords) for g in groups),
        negative_keywords=len(tree.campaign_negatives) * len(branches) + sum(len(g.negatives) for g in groups),
        branches=branches, negatives=tree.campaign_negatives,
        ads_before=sum(g.ads + g.duplicates for g in groups),
        keywords_before=sum(g.rendered_keywords for _, g in tree.groups()),
        empty_campaigns=sum(1 for b in branches if b.empty), empty_ad_groups=sum(1 for g in groups if g.empty))
