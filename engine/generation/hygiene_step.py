"""Set-level text hygiene (issue 19 item 6): options a generation config applies to every rendered value.

- `dedupe_words`: on every text field, a word repeated right after itself is dropped (engine/templates/hygiene.py).
- `keyword_stopwords`: English stop words are stripped from keywords (a structure's `keywords` column, line by
  line, and the keyword combinator's phrases).
- `word_list`: the workspace's word list. Banned words either refuse the variation (a problem naming the word and
  the field) or are replaced; brand spellings fix the casing of a word ("iphone" → "iPhone").

Words match whole and ignoring case; a word's edges are letters, digits or `_` next to anything else, in every
script (Python's Unicode `\\w`, so "Café" is not "caf" + "é"). A one-word entry is compared with each word of
the text by lower() (a dictionary look-up, fast with thousands of entries); an entry of several words ("MacBook
Pro", "knock-off") by one case-insensitive expression. One Python function serves both render paths (DuckDB's
RE2 knows only ASCII word edges, so a SQL form would split "Café"). The plan applies all of it as one post-render
step over the rendered value of every column (template compiled to SQL or rendered per row alike), before the
length checks, so a preview, its stats and the generated set all read the same cleaned text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
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
_WORD = re.compile(r"\w+")


def _pattern(words: Sequence[str]) -> re.Pattern[str] | None:
    if not words:
        return None
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))  # longest first
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def _replace(text: str, words: Mapping[str, str], pattern: re.Pattern[str] | None,
             longer: Callable[[str], str]) -> str:
    """`text` with each whole word found in `words` (by its lower()) replaced by its value, then each match of
    `pattern` (entries of several words) by `longer(match)`."""
    if words and not words.keys().isdisjoint(t.lower() for t in _WORD.findall(text)):
        text = _WORD.sub(lambda m: words.get(m.group(0).lower(), m.group(0)), text)
    if pattern is not None:
        text = pattern.sub(lambda m: longer(m.group(0)), text)
    return text


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
    _banned_words: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)
    _banned_re: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)
    _banned_subs: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)
    _brand_words: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)
    _brand_re: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)

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
        clash = {w.casefold() for w in banned} & {w.casefold() for w in brands}
        if clash:
            raise EngineError(f"word list: {sorted(clash)[0]!r} is both banned and a brand spelling; keep one")
        object.__setattr__(self, "banned", banned)
        object.__setattr__(self, "brands", brands)
        object.__setattr__(self, "replacement", replacement)
        for kind, words in (("banned", banned), ("brand", brands)):
            single = {w.lower(): w for w in words if _WORD.fullmatch(w)}  # one word: compared token by token
            object.__setattr__(self, f"_{kind}_words", single)
            object.__setattr__(self, f"_{kind}_re", _pattern([w for w in words if not _WORD.fullmatch(w)]))
        object.__setattr__(self, "_banned_subs", dict.fromkeys(self._banned_words, replacement))
        if self.banned_mode == "replace" and banned:
            hit = self._find_banned(replacement)
            if hit:  # a replacement that is itself banned would be refused or replaced again
                raise EngineError(f"word list: the replacement {replacement!r} contains the banned word "
                                  f"{hit!r}; choose another replacement")

    def _find_banned(self, text: str) -> str | None:
        """The first banned entry in the text (as the list spells it), or None."""
        if self._banned_words:
            for token in _WORD.findall(text):
                hit = self._banned_words.get(token.lower())
                if hit is not None:
                    return hit
        if self._banned_re is not None:
            found = self._banned_re.search(text)
            if found is not None:
                return next((w for w in self.banned if w.casefold() == found.group(0).casefold()), found.group(0))
        return None

    @property
    def empty(self) -> bool:
        return not self.banned and not self.brands

    @property
    def refuses(self) -> bool:
        return bool(self.banned) and self.banned_mode == "refuse"

    def apply(self, text: str) -> str:
        """The text with banned words replaced (in replace mode) and brand spellings fixed."""
        if self.banned and self.banned_mode == "replace":
            before = text
            text = _replace(text, self._banned_subs, self._banned_re, lambda _w: self.replacement)
            if not self.replacement and text != before:  # a dropped word leaves no double or edge space behind
                text = " ".join(part for part in text.split(" ") if part)
        if self.brands:
            text = _replace(text, self._brand_words, self._brand_re,
                            lambda w: next((b for b in self.brands if b.casefold() == w.casefold()), w))
        return text

    def banned_in(self, text: str) -> str | None:
        """The first banned word the text holds (as the list spells it), in refuse mode; None otherwise."""
        return self._find_banned(text) if self.refuses else None

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
