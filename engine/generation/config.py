"""What a generation run is asked to do: format, templates, rules, variations and strategies."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from typing import Any, Literal

from engine.budgets import MAX_KEYWORDS_PER_ROW, MAX_VARIATIONS_PER_ROW, over_budget
from engine.errors import EngineError
from engine.generation.aggregates import parse_aggregates
from engine.generation.hygiene_step import TextHygiene, parse_word_list
from engine.generation.inline import has_blocks
from engine.generation.structure import CampaignStructure
from engine.platforms.counting import TRUNCATE_STYLES

__all__ = ["ConstraintStrategy", "GenerationConfig", "Hierarchy", "KeywordCombinator"]

ConstraintStrategy = Literal["skip", "truncate", "fallback"]
DEFAULT_INLINE_VARIATIONS = 50
"""Inline variations kept per row (and source variation) unless a set asks for another maximum."""
STRATEGIES: frozenset[str] = frozenset({"skip", "truncate", "fallback"})


@dataclass(frozen=True)
class Hierarchy:
    """Name templates for campaign → ad group → ad (output columns campaign_name, ad_group_name, ad_name)."""

    campaign: str | None = None
    ad_group: str | None = None
    ad: str | None = None
    keywords: str | None = None  # keyword templates, one keyword a line (from a CampaignStructure)

    def templates(self) -> dict[str, str]:
        """Output column → name template, for the levels that are set."""
        levels = {"campaign_name": self.campaign, "ad_group_name": self.ad_group, "ad_name": self.ad,
                  "keywords": self.keywords}
        return {name: src for name, src in levels.items() if src is not None}


@dataclass(frozen=True)
class KeywordCombinator:
    """Keyword rows: every combination of one alternative per part, times every match type.

    Parts hold template sources (`"{{ brand }}"`, `"running"`); empty parts drop out of the
    phrase, whitespace collapses, and empty keywords are not emitted.
    """

    parts: Sequence[Sequence[str]]
    match_types: Sequence[str] = ("Broad",)
    separator: str = " "

    def combinations(self) -> list[tuple[str, ...]]:
        """Every choice of one alternative per part, first part varying slowest."""
        combos: list[tuple[str, ...]] = [()]
        for alternatives in self.parts:
            combos = [c + (alt,) for c in combos for alt in alternatives]
        return combos


@dataclass
class GenerationConfig:
    """Everything `build_plan` needs besides the data: see the field comments."""

    platform: str
    format: str
    templates: dict[str, str]                      # field → template source
    rules: Any = field(default_factory=list)       # list[Rule] or their JSON / dicts
    variation_sources: dict[str, list[str]] = field(default_factory=dict)  # name → values (cross product)
    dedup_fields: list[str] = field(default_factory=list)                  # keep the first of each key
    constraint_strategy: ConstraintStrategy = "skip"
    truncate_style: str = "cut"  # with "truncate": cut, ellipsis or word (engine/platforms/counting.py shorten)
    fallbacks: dict[str, str] = field(default_factory=dict)               # field → fallback template
    hierarchy: Hierarchy | None = None
    keywords: KeywordCombinator | None = None
    structure: CampaignStructure | None = None    # paid formats: names, keywords, negatives, settings
    inline_variations: bool | None = None  # expand [[a|b]] blocks (engine/generation/inline.py); None: when a template has one
    max_inline_variations: int = DEFAULT_INLINE_VARIATIONS  # inline combinations kept per row and source variation
    aggregates: Any = field(default_factory=tuple)  # derived columns over the whole data set (engine/generation/aggregates.py)
    dedupe_words: bool = False      # every text field: a word repeated right after itself is dropped
    keyword_stopwords: bool = False  # keywords: English stop words stripped
    word_list: Any = None  # the workspace's banned words / brand spellings (engine/generation/hygiene_step.py)

    def __post_init__(self) -> None:
        self.aggregates = parse_aggregates(self.aggregates)  # a tuple of Aggregate; columns checked in build_plan
        self.word_list = parse_word_list(self.word_list)
        for option in ("dedupe_words", "keyword_stopwords"):
            if not isinstance(getattr(self, option), bool):
                raise EngineError(f"{option} is an on/off option (true or false), not {getattr(self, option)!r}")
        if self.structure is not None:
            self.structure.check(self.platform)
            names = self.structure.templates()
            self.hierarchy = Hierarchy(campaign=names["campaign_name"], ad_group=names["ad_group_name"],
                                       ad=self.hierarchy.ad if self.hierarchy else None, keywords=names.get("keywords"))
        if self.constraint_strategy not in STRATEGIES:
            raise EngineError(
                f"unknown constraint strategy {self.constraint_strategy!r}; use skip, truncate or fallback"
            )
        if self.truncate_style not in TRUNCATE_STYLES:
            raise EngineError(f"unknown truncate style {self.truncate_style!r}; use {', '.join(TRUNCATE_STYLES)}")
        for name, values in self.variation_sources.items():
            if not name.isidentifier() or name.startswith("_"):
                raise EngineError(f"variation source name {name!r} must be an identifier not starting with '_'")
            if isinstance(values, str) or not isinstance(values, Sequence) or not values:
                raise EngineError(f"variation source {name!r} needs a non-empty list of values")
            if not all(isinstance(v, str) for v in values):
                raise EngineError(f"variation source {name!r}: every value must be text")
            bad = next((c for v in values for c in v if c == "\x00" or "\ud800" <= c <= "\udfff"), None)
            if bad is not None:  # UTF-8 (DuckDB, Postgres, Reddit) cannot carry a lone surrogate; no post may hold NUL
                what = "a NUL character (\\0)" if bad == "\x00" else f"a lone surrogate (U+{ord(bad):04X})"
                raise EngineError(f"variation source {name!r}: a value holds {what}; remove it")
        if self.variation_count > MAX_VARIATIONS_PER_ROW:  # before anything expands them
            raise EngineError(over_budget("Variation sources", self.variation_count, MAX_VARIATIONS_PER_ROW,
                                          "variations per row", "Use fewer sources or fewer values."))
        cap = self.max_inline_variations
        if isinstance(cap, bool) or not isinstance(cap, int) or not 1 <= cap <= MAX_VARIATIONS_PER_ROW:
            raise EngineError(f"max_inline_variations must be a whole number from 1 to {MAX_VARIATIONS_PER_ROW:,} "
                              f"(got {cap!r})")
        if self.inline and self.variations_per_row > MAX_VARIATIONS_PER_ROW:
            raise EngineError(over_budget(
                f"{self.variation_count:,} source variation(s) × up to {cap:,} inline variations",
                self.variations_per_row, MAX_VARIATIONS_PER_ROW, "variations per row",
                "Lower the maximum of inline variations per row or use fewer variation source values."))
        if self.keywords is not None:
            if not self.keywords.parts or any(not p for p in self.keywords.parts):
                raise EngineError("keyword combinator: every part needs at least one alternative")
            if not self.keywords.match_types:
                raise EngineError("keyword combinator: give at least one match type")
            keywords = math.prod(len(p) for p in self.keywords.parts) * len(self.keywords.match_types)
            if keywords > MAX_KEYWORDS_PER_ROW:
                raise EngineError(over_budget("The keyword combinator", keywords, MAX_KEYWORDS_PER_ROW,
                                              "keywords per row", "Use fewer alternatives or match types."))

    @property
    def hygiene(self) -> TextHygiene:
        """The set-level text hygiene options (applied after rendering, before the checks)."""
        return TextHygiene(self.dedupe_words, self.keyword_stopwords, self.word_list)

    @property
    def variation_count(self) -> int:
        """Variations per surviving row: the product of the variation source sizes (× a structure's ads per row)."""
        ads = self.structure.ads_per_row if self.structure is not None else 1
        return math.prod(len(values) for values in self.variation_sources.values()) * ads

    @property
    def inline(self) -> bool:
        """Do the fields' `[[a|b]]` blocks expand (set explicitly, or a template holds one)?"""
        if self.inline_variations is not None:
            return bool(self.inline_variations)
        ads = [t for g in self.structure.ad_groups for a in g.ads for t in a.templates.values()] if self.structure else []
        return any(has_blocks(src) for src in [*self.templates.values(), *ads])

    @property
    def variations_per_row(self) -> int:
        """The most variations one surviving row can make: sources × the inline maximum when blocks expand."""
        return self.variation_count * (self.max_inline_variations if self.inline else 1)

    def variation_rows(self) -> list[dict[str, str]]:
        """The cross product of the variation sources, in a stable order (first source slowest)."""
        rows: list[dict[str, str]] = [{}]
        for name, values in self.variation_sources.items():
            rows = [{**r, name: v} for r in rows for v in values]
        return rows

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GenerationConfig:
        """Build a config from plain JSON-like data (as stored by studio)."""
        data = dict(_known(cls, data, "a configuration"))
        _typed(data)
        if isinstance(data.get("hierarchy"), Mapping):
            data["hierarchy"] = Hierarchy(**_known(Hierarchy, data["hierarchy"], "hierarchy"))
        if isinstance(data.get("keywords"), Mapping):
            data["keywords"] = KeywordCombinator(**_known(KeywordCombinator, data["keywords"], "keywords"))
        if isinstance(data.get("structure"), Mapping):
            data["structure"] = CampaignStructure.from_dict(data["structure"])
        return cls(**data)


_TEXT_MAPS = ("templates", "fallbacks")  # field → template text
_OBJECTS = ("hierarchy", "keywords", "structure")


def _typed(data: Mapping[str, Any]) -> None:
    """The settings whose wrong type would otherwise fail deep inside with Python's words, named."""
    for name in ("platform", "format"):
        if name in data and not isinstance(data[name], str):
            raise EngineError(f"{name} must be text like 'reddit' or 'thread', not {type(data[name]).__name__}")
    for name in _TEXT_MAPS:
        value = data.get(name)
        if value is None and name != "templates":
            continue
        if not isinstance(value, Mapping):
            raise EngineError(f"{name} must be an object of field name → template text, not {type(value).__name__}")
        for key, text in value.items():
            if not isinstance(text, str):
                raise EngineError(f"{name}: the template of {str(key)[:60]!r} must be text, not {type(text).__name__}")
    for name in _OBJECTS:
        value = data.get(name)
        if value is not None and not isinstance(value, Mapping) and not hasattr(value, "__dataclass_fields__"):
            raise EngineError(f"{name} must be an object of settings, not {type(value).__name__}")


def _known(kind: Any, data: Mapping[str, Any], what: str) -> Mapping[str, Any]:
    """`data` when each key is a setting of `kind`; else an error naming the unknown ones (not a TypeError's text)."""
    known = {f.name for f in dataclass_fields(kind) if f.init}
    unknown = sorted(str(k) for k in data if k not in known)
    if unknown:
        raise EngineError(f"{what} has no setting {', '.join(repr(k[:60]) for k in unknown[:5])}; "
                          f"its settings are {', '.join(sorted(known))}")
    return data
