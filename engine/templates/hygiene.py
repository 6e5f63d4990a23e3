"""Text hygiene for generated copy (issue 19 item 6): filters that tidy feed text before it becomes an ad.

- `dedupe_words`: a word repeated right after itself is dropped ("Nike Nike Air" → "Nike Air"). Words are
  what single spaces separate, compared ignoring case; punctuation is part of a word ("Nike, Nike" stays).
- `stopwords`: English stop words dropped, for keywords ("shoes for men" → "shoes men"); the words left
  are joined by single spaces.
- `part(width, n, count)`: the n-th piece (1-based) of the text wrapped at spaces into pieces of at most
  `width` (counted as the platform counts: `count` is code_points, display_width or x_weighted; a longer
  word is cut), '' when there is none: a headline that overflows continues in the next field of the same
  format (`{{ title | part(30, 1, "display_width") }}`, then `{{ title | part(30, 2, "display_width") }}`).

`dedupe_words` and `stopwords` compile to SQL (with Python's lower(), see sql_casing.py); `part` renders
per row, with the same result in a plan.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from engine.errors import EngineError
from engine.templates.errors import TemplateError
from engine.templates.filters import as_text
from engine.templates.limits import MAX_STRING_CHARS
from engine.templates.sql_casing import lower_sql
from engine.templates.sql_values import Val, sql_str, text, text_val

_STOP_LIST = """
a about above after again against all am an and any are as at be because been before being below between
both but by can did do does doing down during each few for from further had has have having he her here hers
herself him himself his how i if in into is it its itself just me more most my myself no nor not now of off on
once only or other our ours ourselves out over own same she should so some such than that the their theirs
them themselves then there these they this those through to too under until up very was we were what when
where which while who whom why will with you your yours yourself yourselves
"""
STOP_WORDS = frozenset(_STOP_LIST.split())
"""English stop words (the common NLTK-style list, without contractions)."""

MAX_PART = 100
"""Highest piece number `part` may ask for."""


def dedupe_words(value: Any) -> str:
    """The text without a word that repeats the one before it (ignoring case)."""
    words = as_text(value).split(" ")
    return " ".join(w for i, w in enumerate(words) if i == 0 or not w or w.lower() != words[i - 1].lower())


def stopwords(value: Any) -> str:
    """The text without English stop words, its words joined by single spaces."""
    return " ".join(w for w in as_text(value).split(" ") if w and w.lower() not in STOP_WORDS)


def _whole(value: Any, what: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise TemplateError(f"part needs {what} as a whole number from {low} to {high:,}, not {value!r}")
    return value


def wrap(text: str, width: int, measure: Callable[[str], int] = len,
         cut: Callable[[str, int], str] | None = None) -> list[str]:
    """The text in pieces `measure`-ing at most `width`, broken at spaces (a longer word is cut)."""
    pieces: list[str] = []
    line = ""
    for word in text.split():
        while measure(word) > width:
            if line:
                pieces.append(line)
                line = ""
            head = (cut(word, width) if cut else word[:width]) or word[:1]  # never stall on an uncuttable word
            pieces.append(head)
            word = word[len(head):]
        if not word:
            continue
        if not line:
            line = word
        elif measure(f"{line} {word}") <= width:
            line = f"{line} {word}"
        else:
            pieces.append(line)
            line = word
    if line:
        pieces.append(line)
    return pieces


def part(value: Any, width: int = 30, n: int = 1, count: str = "code_points") -> str:
    """Piece `n` (1-based) of the text wrapped at `width` (counted as `count`: code_points, display_width,
    x_weighted); '' when the text has fewer pieces."""
    from engine.platforms.counting import get_count_method  # platforms are not needed to load templates

    size = _whole(width, "a width", 1, MAX_STRING_CHARS)
    index = _whole(n, "a piece number", 1, MAX_PART)
    try:
        method = get_count_method(as_text(count))
    except EngineError as exc:
        raise TemplateError(f"part: {exc}") from None
    pieces = wrap(as_text(value), size, method.measure, method.truncate)
    return pieces[index - 1] if index <= len(pieces) else ""


def sql_dedupe_words(scope: Any, value: Val, args: Mapping[str, Val]) -> Val:
    """`dedupe_words`: split on spaces, keep a word unless it equals the previous one (Python's lower())."""
    binder = scope.binder
    x, i = binder.fresh(), binder.fresh()  # lambda names no column uses

    def body(w: str) -> str:
        same = f"{lower_sql(x, binder, value.facts)} = {lower_sql(f'{w}[{i} - 1]', binder, value.facts)}"
        return f"array_to_string(list_filter({w}, lambda {x}, {i}: {i} = 1 OR {x} = '' OR NOT ({same})), ' ')"

    return text_val(binder.bind(f"string_split({text(value)}, ' ')", body), facts=value.facts)


def sql_stopwords(scope: Any, value: Val, args: Mapping[str, Val]) -> Val:
    """`stopwords`: the words (split on spaces) not empty and not stop words (Python's lower())."""
    listed = ", ".join(sql_str(w) for w in sorted(STOP_WORDS))
    w = scope.binder.fresh()
    keep = f"{w} <> '' AND {lower_sql(w, scope.binder, value.facts)} NOT IN ({listed})"
    return text_val(f"array_to_string(list_filter(string_split({text(value)}, ' '), lambda {w}: {keep}), ' ')",
                    facts=value.facts)
