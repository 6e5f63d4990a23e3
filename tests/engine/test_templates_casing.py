"""The Unicode facts behind the SQL case mapping hold for this Python and this DuckDB.

If a Python or DuckDB upgrade changes case mapping, these fail instead of the SQL path
silently printing something the per-row render would not.
"""

from __future__ import annotations

import itertools

import duckdb
import polars as pl
import pytest

from engine.templates import unicode_tables as ut
from engine.templates.filters import capitalize, title
from engine.templates.sql_casing import (
    capitalize_sql,
    lower_sql,
    re_class,
    title_sql,
    trim_sql,
    upper_sql,
)
from engine.templates.sql_values import Binder

ALL_CHARS = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.register("chars", pl.DataFrame({
        "c": ALL_CHARS, "py_upper": [c.upper() for c in ALL_CHARS], "py_lower": [c.lower() for c in ALL_CHARS]}))
    yield connection
    connection.close()


def column(con: duckdb.DuckDBPyConnection, sql: str, table: str = "chars") -> list[str]:
    return [r[0] for r in con.execute(f"SELECT {sql} FROM {table}").fetchall()]


def differing(con: duckdb.DuckDBPyConnection, sql: str, expected: str) -> str:
    """The characters where `sql` differs from the Python column `expected`, as ranges."""
    rows = con.execute(f"SELECT c FROM chars WHERE {sql} IS DISTINCT FROM {expected}").fetchall()
    return ut.format_ranges(ord(r[0]) for r in rows)


def test_special_casing_tables_match_duckdb_and_python(con: duckdb.DuckDBPyConnection) -> None:
    assert differing(con, "upper(c)", "py_upper") == ut.UPPER_SPECIAL
    assert differing(con, "lower(c)", "py_lower") == ut.LOWER_SPECIAL


def test_sigma_classes_and_whitespace_match_python() -> None:
    cased, ignorable = ut.python_sigma_classes()
    assert cased == " ".join(ut.CASED.split())
    assert ignorable == " ".join(ut.CASE_IGNORABLE.split())
    assert "".join(c for c in ALL_CHARS if c.isspace()) == ut.WHITESPACE


@pytest.mark.parametrize("ranges", [ut.CASED, ut.CASE_IGNORABLE, ut.UPPER_SPECIAL])
def test_regex_classes_match_exactly_the_listed_characters(con: duckdb.DuckDBPyConnection, ranges: str) -> None:
    pattern = "^" + re_class(ut.parse_ranges(ranges)) + "$"
    hits = column(con, "c", f"chars WHERE regexp_matches(c, '{pattern}')")
    assert "".join(hits) == ut.chars(ranges)


def test_upper_and_lower_sql_match_python_on_every_character(con: duckdb.DuckDBPyConnection) -> None:
    binder = Binder(["c"])
    assert differing(con, upper_sql('"c"', binder), "py_upper") == ""
    assert differing(con, lower_sql('"c"', binder), "py_lower") == ""


def test_final_sigma_in_every_short_context(con: duckdb.DuckDBPyConnection) -> None:
    # Σ among cased letters, case-ignorable marks (' ̀ ʰ .), a cased-and-ignorable letter and others
    alphabet = ["Σ", "A", "a", "'", "\u0301", " ", "1", "ʰ", "."]
    words = ["".join(p) for n in range(1, 6) for p in itertools.product(alphabet, repeat=n)]
    short = [w for w in words if len(w) <= 4]
    con.register("words", pl.DataFrame({"w": words}))
    con.register("short", pl.DataFrame({"w": short}))
    try:
        binder = Binder(["w"])
        assert column(con, lower_sql('"w"', binder), "words") == [w.lower() for w in words]
        assert column(con, capitalize_sql('"w"', binder), "short") == [capitalize(w) for w in short]
        assert column(con, title_sql('"w"', binder), "short") == [title(w) for w in short]
    finally:
        con.unregister("words")
        con.unregister("short")


def test_title_sql_on_every_short_mix_of_separators(con: duckdb.DuckDBPyConnection) -> None:
    alphabet = ["A", "b", " ", "-", "(", "\t", "Σ", "ß", "\u00a0"]
    words = ["".join(p) for n in range(1, 6) for p in itertools.product(alphabet, repeat=n)]
    con.register("words", pl.DataFrame({"w": words}))
    try:
        assert column(con, title_sql('"w"', Binder(["w"])), "words") == [title(w) for w in words]
    finally:
        con.unregister("words")


def test_trim_sql_matches_str_strip(con: duckdb.DuckDBPyConnection) -> None:
    words = [ws + "a b" + ws2 for ws in ["", *ut.WHITESPACE] for ws2 in ["", *ut.WHITESPACE, "\u200b"]]
    con.register("spaced", pl.DataFrame({"w": words}))
    try:
        assert column(con, trim_sql('"w"'), "spaced") == [w.strip() for w in words]
    finally:
        con.unregister("spaced")
