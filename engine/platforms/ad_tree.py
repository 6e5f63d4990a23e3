"""The campaign → ad group → ad tree of a paid set, built from generated variations (plain dicts).

Every reader of a paid set — the preview's counts and tree, the generated set, the bulk files and
later an API sync — groups variations with `build_tree`, so they cannot disagree. A variation names
its parents (`campaign_name`, `ad_group_name`); ad groups are formed by their rendered names within
a campaign (rows that render the same campaign and ad-group name merge), in first-seen order.

Keywords ride in the `keywords` column, one a line, each line led by its match type and, for an
ad-group negative, a minus: ``phrase: running shoes``, ``-exact: cheap`` (`keyword_line`). A line
without such a lead continues the keyword above it (rendered data holding a newline); a value
without any lead (sets generated before per-group match types) takes the structure's match types.
Keywords are normalised (trimmed, spaces collapsed, lower-cased unless told to keep case) and
de-duplicated by keyword + match type within an ad group; keywords belong to the ad group, so the
rows of ads that dedup removed still contribute theirs.

Dedup removes ads, never their parents: an ad group (or campaign) whose ads were all duplicates
stays in the tree, empty. The studio stores only kept variations, so a run records the skeleton of
its duplicates (`duplicate_skeleton`), and the tree of a stored set is built from its variations
plus that skeleton — exactly the tree the preview builds from every variation of the plan.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DEDUP_FIGURE",
    "MATCH_TYPES",
    "AdGroupNode",
    "AdTree",
    "CampaignNode",
    "build_tree",
    "duplicate_skeleton",
    "keyword_line",
    "keyword_lines",
    "normalise_keyword",
    "parse_keywords",
    "skeleton_records",
]

MATCH_TYPES: tuple[str, ...] = ("Broad", "Phrase", "Exact")
_SPACES = re.compile(r"[\t\n\f\r ]+")
_LEAD = re.compile(r"(-?)(broad|phrase|exact): ?")
_BY_LEAD = {m.lower(): m for m in MATCH_TYPES}
Keyword = tuple[str, str]  # (keyword, match type)


def normalise_keyword(text: str, *, keep_case: bool = False) -> str:
    """Trimmed, runs of spaces collapsed to one, lower-cased unless `keep_case` (what the platforms compare)."""
    out = _SPACES.sub(" ", text).strip(" ")
    return out if keep_case else out.lower()


def keyword_lines(text: str) -> list[str]:
    """The normalised, non-empty lines of a value (one keyword a line, no match-type lead)."""
    return [k for k in (normalise_keyword(line) for line in text.splitlines()) if k]


_STRIPS_AFTER = ("-}}", "-%}", "-#}")


def keyword_line(match_type: str, template: str, *, negative: bool = False) -> str:
    """One line of the `keywords` column: ``phrase: {{ name }}`` or ``-exact: cheap``.

    A pattern ending in Jinja's whitespace control (`-}}`) would strip the line break after it and glue the
    next line on; an empty expression after it keeps the break (a `{{-` at a pattern's start only strips the
    space after the lead, which the reader allows)."""
    guard = "{{ '' }}" if template.rstrip().endswith(_STRIPS_AFTER) else ""
    return f"{'-' if negative else ''}{match_type.lower()}: {template}{guard}"


def parse_keywords(value: str, default_match_types: Sequence[str] = ("Phrase",), *,
                   keep_case: bool = False) -> tuple[list[Keyword], list[Keyword]]:
    """(keywords, ad-group negatives) of a rendered `keywords` value, normalised, empties dropped, in order
    (repeats kept: the caller counts them before de-duplicating)."""
    items: list[list[Any]] = []  # [negative, match type or None, text]
    for line in value.splitlines():
        lead = _LEAD.match(line)
        if lead:
            items.append([bool(lead.group(1)), _BY_LEAD[lead.group(2)], line[lead.end():]])
        elif items and items[-1][1] is not None:
            items[-1][2] += " " + line
        else:
            items.append([False, None, line])
    keywords: list[Keyword] = []
    negatives: list[Keyword] = []
    for negative, match, text in items:
        kw = normalise_keyword(text, keep_case=keep_case)
        if negative:  # Google's notation: a negative is written without its minus
            kw = normalise_keyword(kw.lstrip("-"), keep_case=keep_case)
        if not kw:
            continue
        into = negatives if negative else keywords
        into.extend([(kw, match)] if match is not None else [(kw, m) for m in default_match_types])
    return keywords, negatives


@dataclass
class AdGroupNode:
    """An ad group: its kept ads (the variations' dicts, in order), keywords and negatives."""

    name: str
    ads: list[Mapping[str, Any]] = field(default_factory=list)
    keywords: dict[Keyword, None] = field(default_factory=dict)  # distinct, first-seen order
    negatives: dict[Keyword, None] = field(default_factory=dict)  # ad-group level: rendered, then the static ones
    rendered_keywords: int = 0  # before de-duplication (every row's every keyword × match type)
    duplicates: int = 0  # ads that dedup removed

    @property
    def empty(self) -> bool:
        return not self.ads


@dataclass
class CampaignNode:
    """A campaign and its ad groups by name (first-seen order)."""

    name: str
    groups: dict[str, AdGroupNode] = field(default_factory=dict)

    @property
    def ads(self) -> int:
        return sum(len(g.ads) for g in self.groups.values())

    @property
    def empty(self) -> bool:
        return all(g.empty for g in self.groups.values())


@dataclass
class AdTree:
    """Campaigns by name (first-seen order) and the campaign-level negatives every campaign gets."""

    campaigns: dict[str, CampaignNode] = field(default_factory=dict)
    campaign_negatives: tuple[Keyword, ...] = ()

    def groups(self) -> Iterable[tuple[CampaignNode, AdGroupNode]]:
        for c in self.campaigns.values():
            for g in c.groups.values():
                yield c, g


def build_tree(records: Iterable[Mapping[str, Any]], duplicates: Iterable[Mapping[str, Any]] = (), *,
               match_types: Sequence[str] = ("Phrase",), keep_case: bool = False,
               campaign_negatives: Sequence[Keyword] = (), group_negatives: Sequence[Keyword] = ()) -> AdTree:
    """Group kept variations (in (row, variation) order) and the rows of the ads dedup removed.

    Campaigns and ad groups come in the first-seen order of the kept ads; those with no kept ad follow,
    sorted by name, and so do the keywords only duplicates brought (`duplicates` is sorted here, so a
    stored skeleton and the plan's rows give the same tree). `match_types` apply to keyword lines
    without a lead; `group_negatives` are the static ad-group negatives every ad group gets.
    """
    tree = AdTree(campaign_negatives=tuple(dict.fromkeys(campaign_negatives)))

    def group_of(r: Mapping[str, Any]) -> AdGroupNode:
        campaign = str(r.get("campaign_name") or "")
        c = tree.campaigns.setdefault(campaign, CampaignNode(campaign))
        name = str(r.get("ad_group_name") or "")
        return c.groups.setdefault(name, AdGroupNode(name))

    def add_keywords(g: AdGroupNode, value: Any, times: int) -> None:
        kws, negs = parse_keywords(str(value or ""), match_types, keep_case=keep_case)
        g.rendered_keywords += len(kws) * times
        g.keywords.update(dict.fromkeys(kws))
        g.negatives.update(dict.fromkeys(negs))

    for r in records:
        g = group_of(r)
        g.ads.append(r)
        add_keywords(g, r.get("keywords"), 1)
    dups = sorted(duplicates, key=lambda d: (str(d.get("campaign_name") or ""), str(d.get("ad_group_name") or ""),
                                             str(d.get("keywords") or "")))
    for d in dups:
        g = group_of(d)
        n = int(d.get("__count", 1))
        g.duplicates += n
        add_keywords(g, d.get("keywords"), n)
    for c in tree.campaigns.values():
        for g in c.groups.values():
            g.negatives.update(dict.fromkeys(group_negatives))
    return tree


_SKELETON = ("campaign_name", "ad_group_name", "keywords")
DEDUP_FIGURE = "dedup_skeleton"
"""The key of a run's figures holding the skeleton of the ads dedup removed."""


def duplicate_skeleton(duplicates: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """What a run records of the ads dedup removed: (campaign, ad group, keywords) → how many (JSON keys)."""
    counts = Counter(json.dumps([str(d.get(k) or "") for k in _SKELETON], ensure_ascii=False) for d in duplicates)
    return dict(counts)


def skeleton_records(skeleton: Mapping[str, int] | None) -> list[dict[str, Any]]:
    """The duplicates' rows back from a recorded skeleton (for `build_tree`)."""
    out = []
    for key, count in (skeleton or {}).items():
        values = json.loads(key)
        out.append({**dict(zip(_SKELETON, values, strict=True)), "__count": int(count)})
    return out
