"""X's weighted length comes from twitter-text (the twitter-text-parser package), the same per value and in a plan.

`parse_tweet(text).weightedLength` is the reference; our measure walks its URLs, emoji and weights
with its emoji regex tried only where one can start (10–20× faster), and must agree on every text.
"""

from __future__ import annotations

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twitter_text import extract_emojis_with_indices, extract_urls_with_indices, parse_tweet

from engine.generation import build_plan, check_value, preview
from engine.platforms import get_count_method, get_format
from engine.platforms.counting import X_SQL_FUNCTION, register_sql_functions, shorten

X = get_count_method("x_weighted")
POST = next(f for f in get_format("x", "post").fields if f.name == "text")

# (text, weighted length): URLs 23 whatever their length, CJK 2, an emoji sequence 2, Latin 1
CASES = [
    ("", 0),
    ("a" * 10, 10),
    ("plain ascii, no dots!", 21),
    ("日本", 4),
    ("こんにちは世界", 14),
    ("go https://example.com/a/very/long/path/indeed", 26),
    ("example.com", 23),  # a URL without a protocol
    ("a.co", 23),  # 4 bytes counting 23
    ("http://x", 8),  # no domain with a dot: not a URL
    ("http://localhost/x", 18),
    ("1.5 litres", 10),  # a dot that is no URL
    ("😀", 2),
    ("👍🏽", 2),  # emoji with a skin tone: one emoji
    ("👨‍👩‍👧 family", 9),  # a ZWJ sequence: one emoji
    ("🇯🇵", 2),
    ("#️⃣ 1️⃣", 5),  # keycaps
    ("©", 2),  # an emoji in the Latin range
    ("e\u0301", 1),  # NFC composes é
    ("a\r\nb", 3),  # CRLF counts as one line break
    ("Über — “quotes”", 15),  # U+2014, U+201C/D are in the light ranges
    ("ＦＵＬＬ", 8),
    ("𠀀", 2),
    ("x\ud800y", 4),  # a lone surrogate weighs 2 (twitter-text cannot encode it)
]


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    register_sql_functions(con)
    register_sql_functions(con)  # registering again is harmless
    return con


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_weighted_lengths(con: duckdb.DuckDBPyConnection, text: str, expected: int) -> None:
    assert X.measure(text) == expected
    if "\ud800" not in text:  # DuckDB holds UTF-8 only
        assert parse_tweet(text).weightedLength == expected
        assert con.execute(f"SELECT {X.measure_sql('$1')}", [text]).fetchone()[0] == expected
    assert X.measure(text) <= X.per_byte * len(text.encode("utf-8", "surrogatepass"))


PIECES = st.sampled_from(["a", "word", " ", ".", ":", "/", "\r", "\n", "#", "1", "*", "é", "e\u0301", "—", "ü",
                          "日本", "ＡＢ", "😀", "👍🏽", "🏽", "☺", "\ufe0f", "\u20e3", "\u200d", "👨‍👩‍👧", "🇯🇵",
                          "©", "https://example.com/x", "a.co", "x.co/日本", "http://日本.jp/p", "ﾊ", "\u2028",
                          "@user", "#tag", "$CASH", "\u0958", "\u0344", "한", "\u1100\u1161", "\u212b", "Å",
                          "\u0301", "\u0316", "\U0001d15e", "\u2adc", "\uf900"])
TEXTS = st.lists(PIECES, max_size=40).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=TEXTS)
def test_the_measure_is_twitter_texts(text: str) -> None:
    assert X.measure(text) == parse_tweet(text).weightedLength


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(TEXTS, min_size=1, max_size=8))
def test_sql_agrees_with_python(texts: list[str]) -> None:
    con = duckdb.connect()
    register_sql_functions(con)
    got = con.execute(f"SELECT {X.measure_sql('t')} FROM (SELECT unnest($1) AS t, generate_subscripts($1, 1) AS i) "
                      "ORDER BY i", [texts]).fetchall()
    assert [g[0] for g in got] == [X.measure(t) for t in texts]


def _inside_entities(text: str) -> set[int]:
    inside: set[int] = set()
    for entity in [*extract_urls_with_indices(text), *extract_emojis_with_indices(text)]:
        inside.update(range(entity["indices"][0] + 1, entity["indices"][1]))
    return inside


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=TEXTS, limit=st.integers(0, 60))
def test_truncation_keeps_the_longest_prefix_within_the_limit(text: str, limit: int) -> None:
    cut = X.truncate(text, limit)
    assert text.startswith(cut) and X.measure(cut) <= limit
    assert cut == text or len(cut) not in _inside_entities(text)  # never inside a URL or an emoji


@pytest.mark.parametrize(("text", "limit", "style", "expected"), [
    ("see https://example.com/a/very/long/path now", 27, "cut", "see https://example.com/a/very/long/path"),
    ("see https://example.com/a/very/long/path now", 26, "cut", "see"),  # the URL is kept whole or left out
    ("party 👨‍👩‍👧 time", 7, "cut", "party"),  # the family is one emoji: never split
    ("party 👨‍👩‍👧 time", 8, "cut", "party 👨‍👩‍👧"),
    ("日本語のテキストです", 10, "ellipsis", "日本語の…"),
    ("see https://example.com/a/very/long/path now", 26, "word", "see…"),
])
def test_truncation_styles_count_like_x(text: str, limit: int, style: str, expected: str) -> None:
    assert shorten(X, text, limit, style) == expected


def test_a_plan_reports_the_same_lengths_as_check_value() -> None:
    texts = ["short", "🙂" * 141, "x " * 139 + "https://example.com/" + "p" * 300, "日本" * 70, "日本" * 71,
             "Visit example.com " * 16]
    config = {"platform": "x", "format": "post", "templates": {"text": "{{ t }}"}, "constraint_strategy": "skip"}
    with build_plan(pl.DataFrame({"t": texts}), config) as plan:
        assert X_SQL_FUNCTION in plan.explain()
        result = preview(plan, limit=len(texts))
    kept = result.variations["__row"].to_list()
    assert kept == [i for i, t in enumerate(texts) if check_value(POST, t) is None] == [0, 3]
    assert result.stats is not None and result.stats.over_limit == {"text": 4}


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(TEXTS, min_size=1, max_size=8))
def test_the_sql_bound_never_undercounts(texts: list[str]) -> None:
    """Checks skip measuring values under the bound: it must never be below the weighted length."""
    assert X.bound_sql is not None
    con = duckdb.connect()
    got = con.execute(f"SELECT {X.bound_sql('t')} FROM (SELECT unnest($1) AS t, generate_subscripts($1, 1) AS i) "
                      "ORDER BY i", [texts]).fetchall()
    assert all(bound >= X.measure(t) for (bound,), t in zip(got, texts, strict=True))
