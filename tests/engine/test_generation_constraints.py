"""Constraint checks: the SQL and the Python mirror give the same reason for every value."""

from __future__ import annotations

import duckdb
import pytest

from engine.generation.constraints import (
    check_sql,
    check_value,
    fixable_by_truncation,
    truncate_value,
)
from engine.platforms import FieldSpec, get_format
from engine.platforms.counting import register_sql_functions

THREAD = get_format("reddit", "thread")
LINK_AD = get_format("reddit", "link_ad")
RSA = get_format("google", "responsive_search_ad")
INSTAGRAM = get_format("instagram", "post")
X = get_format("x", "post")

SUBREDDIT_FORM = "not in the expected form: 3–21 letters, digits or underscores, not starting with '_' (no 'r/')"
CTA_VALUES = "not one of the allowed values (Apply Now, Contact Us, Download, Get a Quote, Get Showtimes, …)"

CASES = [
    # (field, value, expected reason or None)
    (THREAD.field("title"), "A fine title", None),
    (THREAD.field("title"), "", "required but empty"),
    (THREAD.field("title"), "  \t\n", "required but empty"),
    (THREAD.field("title"), "x" * 300, None),
    (THREAD.field("title"), "x" * 301, "too long: 301 characters, limit 300"),
    (THREAD.field("title"), "é" * 301, "too long: 301 characters, limit 300"),
    (THREAD.field("title"), "👍" * 300, None),
    (THREAD.field("body"), "", None),
    (THREAD.field("body"), "b" * 40_001, "too long: 40001 characters, limit 40000"),
    (THREAD.field("subreddit"), "running", None),
    (THREAD.field("subreddit"), "r/running", SUBREDDIT_FORM),
    (THREAD.field("subreddit"), "_private", SUBREDDIT_FORM),
    (THREAD.field("subreddit"), "a" * 22, "too long: 22 characters, limit 21"),
    (THREAD.field("url"), "", None),
    (THREAD.field("url"), "https://example.com/x?y=1", None),
    (THREAD.field("url"), "HTTP://EXAMPLE.COM", None),
    (THREAD.field("url"), "example.com", "not a valid http(s) URL"),
    (THREAD.field("url"), "https://exa mple.com", "not a valid http(s) URL"),
    (THREAD.field("url"), "ftp://example.com", "not a valid http(s) URL"),
    (THREAD.field("nsfw"), "true", None),
    (THREAD.field("nsfw"), "False", None),
    (THREAD.field("nsfw"), "", None),
    (THREAD.field("nsfw"), "yes", "not true or false"),
    (THREAD.field("flair"), "f" * 65, "too long: 65 characters, limit 64"),
    (LINK_AD.field("call_to_action"), "Shop Now", None),
    (LINK_AD.field("call_to_action"), "SHOP_NOW", CTA_VALUES),
    (LINK_AD.field("destination_url"), "https://e.co/" + "p" * 300, "too long: 313 characters, limit 268"),
    (RSA.field("headline_1"), "Ｆ" * 15, None),
    (RSA.field("headline_1"), "Ｆ" * 16, "too long: 32 display-width characters, limit 30"),
    (RSA.field("headline_4"), "", None),
    (RSA.field("path_1"), "shoes/run", "not in the expected form: no '/' or line break"),
    (INSTAGRAM.field("hashtags"), "#a #b #c #d #e", None),
    (INSTAGRAM.field("hashtags"), "#a #b #c #d #e #f", "too many hashtags: 6, limit 5"),
    (X.field("text"), "日" * 141, "too long: 282 weighted characters, limit 280"),
    (X.field("text"), "see " + "https://example.com/" + "x" * 300, None),
]


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    register_sql_functions(con)  # X's weighted length is a Python UDF
    return con


@pytest.mark.parametrize(("spec", "value", "reason"), CASES, ids=lambda v: v.name if isinstance(v, FieldSpec) else None)
def test_sql_and_python_agree(con: duckdb.DuckDBPyConnection, spec: FieldSpec, value: str,
                              reason: str | None) -> None:
    assert check_value(spec, value) == reason
    assert con.execute(f"SELECT {check_sql(spec, '$1')}", [value]).fetchone()[0] == reason


@pytest.mark.parametrize(("spec", "fixable"), [
    (THREAD.field("title"), True),
    (THREAD.field("body"), True),
    (THREAD.field("subreddit"), False),
    (THREAD.field("url"), False),
    (LINK_AD.field("call_to_action"), False),
    (RSA.field("path_1"), False),
    (X.field("text"), True),
])
def test_only_free_text_is_truncated(spec: FieldSpec, fixable: bool) -> None:
    assert fixable_by_truncation(spec) is fixable


def test_truncate_value_fits_the_limit() -> None:
    title = THREAD.field("title")
    assert truncate_value(title, "word " * 100) == ("word " * 60).rstrip()
    assert check_value(title, truncate_value(title, "é" * 500)) is None
    text = X.field("text")
    assert check_value(text, truncate_value(text, "日本 " * 200)) is None
