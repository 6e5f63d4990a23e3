"""Set-level text hygiene (issue 19 item 6): options a generation config applies to every rendered value.

- `dedupe_words`: on every text field, a word repeated right after itself is dropped (engine/templates/hygiene.py).
- `keyword_stopwords`: English stop words are stripped from keywords (a structure's `keywords` column, line by
  line, and the keyword combinator's phrases).
- `word_list`: the workspace's word list. Banned words either refuse the variation (a problem naming the word and
  the field) or are replaced; brand spellings fix the casing of a word ("iphone" → "iPhone").

Words match whole and ignoring case; a word's edges are letters, digits or `_` next to anything else, in every
script (Python's Unicode `\\b`, so "Café" is not "caf" + "é"). The plan applies all of it as one post-render
step over the rendered value of every column (template compiled to SQL or rendered per row alike), before the
length checks, so a preview, its stats and the generated set all read the same cleaned text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.errors import EngineError
from engine.templates.hygiene import dedupe_words, stopwords

__all__ = ["BANNED_MODES", "MAX_WORDS", "TextHygiene", "WordList", "parse_word_list"]

BANNED_MODES = ("refuse", "replace")
MAX_WORDS = 2_000
"""Entries a word list may hold (banned words plus brand spellings)."""
MAX_WORD_CHARS = 100
_LEAD = re.compile(r"\s*-?\s*(?:broad|phrase|exact)\s*:\s*", re.IGNORECASE)
"""A line's match-type lead in a structure's `keywords` column (engine/platforms/ad_tree.py keyword_line)."""


def _pattern(words: Sequence[str]) -> re.Pattern[str] | None:
    if not words:
        return None
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))  # longest first
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def _clean_words(values: Any, what: str) -> tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        values = values.splitlines()
    if not isinstance(values, Sequence):
        raise EngineError(f"word list: {what} must be a list of words")
    out: list[str] = []
    for i, raw in enumerate(values, 1):
        if not isinstance(raw, str):
            raise EngineError(f"word list: {what}, entry {i} is not text")
        word = " ".join(raw.split())
        if not word:
            continue
        if len(word) > MAX_WORD_CHARS:
            raise EngineError(f"word list: {what}, {word[:30]!r}… is longer than {MAX_WORD_CHARS} characters")
        if any(c == "\x00" or "\ud800" <= c <= "\udfff" for c in word):
            raise EngineError(f"word list: {what}, {word!r} holds a character text cannot carry; remove it")
        if word.casefold() not in {w.casefold() for w in out}:
            out.append(word)
    return tuple(out)


@dataclass(frozen=True)
class WordList:
    """A workspace's word list: banned words (refused or replaced) and brand spellings (fixed casing)."""

    banned: tuple[str, ...] = ()
    banned_mode: str = "refuse"
    replacement: str = ""
    brands: tuple[str, ...] = ()
    _banned_re: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)
    _brand_re: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)
    _brand_map: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        banned = _clean_words(self.banned, "banned words")
        brands = _clean_words(self.brands, "brand spellings")
        if self.banned_mode not in BANNED_MODES:
            raise EngineError(f"word list: banned words are either refused or replaced, not {self.banned_mode!r}")
        if not isinstance(self.replacement, str):
            raise EngineError("word list: the replacement must be text")
        replacement = " ".join(self.replacement.split())
        if len(banned) + len(brands) > MAX_WORDS:
            raise EngineError(f"word list: at most {MAX_WORDS:,} words in all (banned words and brand spellings)")
        if self.banned_mode == "replace" and banned:
            pattern = _pattern(banned)
            assert pattern is not None
            hit = pattern.search(replacement)
            if hit:  # a replacement that is itself banned would be refused or replaced again
                raise EngineError(f"word list: the replacement {replacement!r} contains the banned word "
                                  f"{hit.group(0)!r}; choose another replacement")
        clash = {w.casefold() for w in banned} & {w.casefold() for w in brands}
        if clash:
            raise EngineError(f"word list: {sorted(clash)[0]!r} is both banned and a brand spelling; keep one")
        object.__setattr__(self, "banned", banned)
        object.__setattr__(self, "brands", brands)
        object.__setattr__(self, "replacement", replacement)
        object.__setattr__(self, "_banned_re", _pattern(banned))
        object.__setattr__(self, "_brand_re", _pattern(brands))
        object.__setattr__(self, "_brand_map", {w.casefold(): w for w in brands})

    @property
    def empty(self) -> bool:
        return not self.banned and not self.brands

    @property
    def refuses(self) -> bool:
        return bool(self.banned) and self.banned_mode == "refuse"

    def apply(self, text: str) -> str:
        """The text with banned words replaced (in replace mode) and brand spellings fixed."""
        if self._banned_re is not None and self.banned_mode == "replace":
            text = self._banned_re.sub(self.replacement, text)
            if not self.replacement:  # a dropped word leaves no double or edge space behind
                text = " ".join(part for part in text.split(" ") if part)
        if self._brand_re is not None:
            text = self._brand_re.sub(lambda m: self._brand_map[m.group(0).casefold()], text)
        return text

    def banned_in(self, text: str) -> str | None:
        """The first banned word the text holds (as the list spells it), in refuse mode; None otherwise."""
        if not self.refuses or self._banned_re is None:
            return None
        hit = self._banned_re.search(text)
        if hit is None:
            return None
        found = hit.group(0).casefold()
        return next(w for w in self.banned if w.casefold() == found)

    def to_dict(self) -> dict[str, Any]:
        return {"banned": list(self.banned), "banned_mode": self.banned_mode, "replacement": self.replacement,
                "brands": list(self.brands)}


def parse_word_list(value: Any) -> WordList | None:
    """A WordList from a config value (a WordList, a mapping or None); None when it holds no words."""
    if value is None:
        return None
    if isinstance(value, WordList):
        wl = value
    elif isinstance(value, Mapping):
        unknown = set(value) - {"banned", "banned_mode", "replacement", "brands"}
        if unknown:
            raise EngineError(f"word list: unknown key(s) {', '.join(sorted(unknown))}; use banned, banned_mode, "
                              "replacement and brands")
        wl = WordList(**dict(value))
    else:
        raise EngineError("word list: give banned words and brand spellings as a mapping")
    return None if wl.empty else wl


@dataclass(frozen=True)
class TextHygiene:
    """The set-level options of a config, as functions of one rendered value."""

    dedupe_words: bool = False
    keyword_stopwords: bool = False
    word_list: WordList | None = None

    @property
    def cleans(self) -> bool:
        return self.dedupe_words or (self.word_list is not None and not self.word_list.empty)

    @property
    def screens(self) -> bool:
        return self.word_list is not None and self.word_list.refuses

    def clean(self, text: str) -> str:
        """A field's value after the options (duplicate words dropped, words replaced, brands cased)."""
        if self.dedupe_words:
            text = "\n".join(dedupe_words(line) for line in text.split("\n"))
        if self.word_list is not None:
            text = self.word_list.apply(text)
        return text

    def clean_keywords(self, text: str) -> str:
        """Keywords, one a line (after an optional match-type lead, "phrase: "): `clean` and, with
        `keyword_stopwords`, without stop words; a keyword holding a refused word, or none left, is left out.
        Negative keywords ("-exact: cheap") stay as written: they keep words away."""
        lines = []
        for line in text.split("\n"):
            lead = _LEAD.match(line)
            head, words = (lead.group(0), line[lead.end():]) if lead else ("", line)
            if head.lstrip().startswith("-"):
                lines.append(line)
                continue
            if self.keyword_stopwords:
                words = stopwords(words)
            words = self.clean(words)
            if (not words.strip() and line.strip()) or (self.word_list is not None
                                                      and self.word_list.banned_in(words) is not None):
                continue
            lines.append(head + words)
        return "\n".join(lines)

    def problem(self, text: str) -> str | None:
        """Why the value is refused ("holds the banned word 'cheap'"), or None."""
        word = self.word_list.banned_in(text) if self.word_list is not None else None
        return None if word is None else f"holds the banned word {word!r} (workspace word list)"
