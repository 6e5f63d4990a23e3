"""Truncation that reads well (issue 16 capability 3): a hard cut, an ellipsis within the limit, or the last
word boundary plus an ellipsis (by characters when one word is longer), counted with the platform's method,
and the same in a plan (SQL + UDF) as in `truncate_value` per value."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import EngineError
from engine.generation import build_plan, preview, truncate_value
from engine.platforms import get_count_method, get_format
from engine.platforms.counting import shorten

CP = "code_points"


@pytest.mark.parametrize(("method", "text", "limit", "style", "expected"), [
    (CP, "The quick brown fox jumps", 12, "cut", "The quick br"),
    (CP, "The quick brown fox jumps", 12, "ellipsis", "The quick b…"),
    (CP, "The quick brown fox jumps", 12, "word", "The quick…"),
    (CP, "two words here", 9, "word", "two…"),
    (CP, "two words here", 10, "word", "two words…"),  # the cut ends at a word's end: kept whole
    (CP, "Supercalifragilistic", 8, "word", "Superca…"),  # one word longer than the limit: by characters
    (CP, "Supercalifragilistic", 8, "ellipsis", "Superca…"),
    (CP, "fits exactly", 12, "word", "fits exactly"),  # within the limit: unchanged
    (CP, "ab", 1, "ellipsis", "a"),  # no room for an ellipsis: a hard cut
    (CP, "a  b  c  d  e", 6, "word", "a  b…"),
    ("x_weighted", "日本語のテキストです", 10, "ellipsis", "日本語の…"),  # CJK weighs 2, the ellipsis too
    ("x_weighted", "see https://example.com/a/very/long/path now", 26, "word", "see…"),
    ("display_width", "ＡＢＣＤＥ fine", 8, "ellipsis", "ＡＢＣ…"),
])
def test_styles_cut_within_the_limit_as_the_platform_counts(method: str, text: str, limit: int, style: str,
                                                             expected: str) -> None:
    counter = get_count_method(method)
    out = shorten(counter, text, limit, style)
    assert out == expected
    assert counter.measure(out) <= limit


def test_an_unknown_style_is_refused_with_the_choices() -> None:
    with pytest.raises(EngineError, match="unknown truncate style 'fancy'; use cut, ellipsis, word"):
        build_plan(pl.DataFrame({"t": ["x"]}), {"platform": "x", "format": "post", "templates": {"text": "{{ t }}"},
                                                "constraint_strategy": "truncate", "truncate_style": "fancy"})


WORDS = st.lists(st.sampled_from(["a", "word", "longerword", "日本", "ＡＢ", "https://x.co/abc", "é", "🙂", " "]),
                 min_size=0, max_size=90).map(" ".join)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(WORDS, min_size=1, max_size=5), style=st.sampled_from(["cut", "ellipsis", "word"]),
       target=st.sampled_from([("x", "post", "text"), ("reddit", "thread", "title")]))
def test_a_plan_truncates_exactly_as_truncate_value(texts: list[str], style: str, target: tuple[str, str, str]) -> None:
    platform, fmt, field = target
    spec = next(f for f in get_format(platform, fmt).fields if f.name == field)
    templates = {"text": "{{ t }}"} if platform == "x" else {"subreddit": "shop", "title": "{{ t }}"}
    frame = pl.DataFrame({"t": texts})
    config = {"platform": platform, "format": fmt, "templates": templates, "constraint_strategy": "truncate",
              "truncate_style": style}
    with build_plan(frame, config) as plan:
        got = preview(plan, limit=len(texts), stats=False).variations
    rows = got["__row"].to_list()
    assert got[field].to_list() == [truncate_value(spec, texts[r], style) for r in rows]
    assert len(rows) == sum(1 for t in texts if t.strip())  # every non-blank value is repaired, none dropped
