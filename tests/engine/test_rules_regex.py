"""Safe regexes: what is refused and why, and Python `re` agreeing with DuckDB's RE2."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import duckdb
import pyarrow as pa
import pytest

from engine.rules import PatternError, compile_pattern
from engine.rules.values import fold, sql_str

REFUSED = [
    ("(a+)+", "exponential time"),
    ("(a*)*", "exponential time"),
    ("(.*)*", "exponential time"),
    ("(a|a)*", "alternatives that can match the same text"),
    ("(a|ab)+", "alternatives that can match the same text"),
    ("(a|)+", "alternatives that can match the same text"),
    ("([a-z]+[0-9]?)+", "exponential time"),
    ("((ab)*c)*", "exponential time"),
    ("=.*.*=", "side by side"),
    (r"\d+\d*", "side by side"),
    ("x.*\\d+x", "side by side"),
    ("a*(?:b?)a*", "side by side"),
    (r"(a)\1", "backreferences"),
    ("(?=a)", "lookahead and lookbehind"),
    ("(?<!a)b", "lookahead and lookbehind"),
    ("(?i)a", "inline flags"),
    ("(?>a)", "inline flags"),
    ("a++", "two quantifiers in a row"),
    ("a{2}{3}", "two quantifiers in a row"),
    ("*a", "needs something to repeat"),
    ("^*", "cannot be repeated"),
    ("\\b+", "cannot be repeated"),
    ("a{,3}", "{0,m}"),
    ("a{1001}", "limited to 1000"),
    ("a{3,1}", "wrong way round"),
    ("((a{1,3}){2}){1000}", "exponential time"),
    ("(x{1000}){1000}", "too large"),
    ("a{", "literal brace"),
    ("(a", "missing ')'"),
    ("a)", "unbalanced ')'"),
    ("[a", "missing ']'"),
    ("[]", "empty character class"),
    ("[z-a]", "out of order"),
    ("[[:alpha:]]", "POSIX classes"),
    (r"[\D]", "not supported; use [^...]"),
    (r"\p{L}", "unknown escape"),
    ("\\", "lone backslash"),
    ("x" * 301, "the limit is 300"),
    ("", "empty"),
]


@pytest.mark.parametrize(("pattern", "message"), REFUSED)
def test_refused_patterns(pattern: str, message: str) -> None:
    with pytest.raises(PatternError, match=re.escape(message)):
        compile_pattern(pattern)


ACCEPTED = ["^SALE", "a.b$", r"\d{3}-\d{4}", "(foo|bar)+", r"\bword\b", "[À-ſ]+", "colou?r", r"(\d{3}-){2}\d{4}",
            r"\d+\.\d+", "(?:ab)*c", "(?P<year>[0-9]{4})", r"[\w.-]+@[\w-]+\.[a-z]{2,}", r"\$\d+", "a|b|c",
            "x*?y", r"[\]\\-]", r"\x41\x{e9}", r"^\s*$", "(red|blue) (shoe|boot)s?", ".*sale", "[^,]*,[^,]*"]

SUBJECTS = ["", "SALE now", "sale", "a\nb", "axb", "axb\n", "555-1234-5678", "foobarfoo", "a word here", "swords",
            "Ärger über Öl", "1.5 and 22.75", "ababc", "2024-05-01", "me.you@ex-ample.com", "$120", "cab", "xxxy",
            "]\\-", "Aé", "   ", "red shoes", "blue boot", "İstanbul ıi", "ǅ ǆ Ǆ", "ﬆ ﬅ ΐ ΰ", "x,y,z", "K Kelvin"]


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    yield connection
    connection.close()


@pytest.mark.parametrize("case_sensitive", [True, False])
@pytest.mark.parametrize("pattern", ACCEPTED)
def test_python_and_duckdb_agree(con: duckdb.DuckDBPyConnection, pattern: str, case_sensitive: bool) -> None:
    compiled = compile_pattern(pattern, case_sensitive=case_sensitive)
    subjects = pa.table({"s": SUBJECTS})
    con.register("subjects", subjects)
    got = [row[0] for row in con.execute(f"SELECT {compiled.sql_search('s')} FROM subjects").fetchall()]
    assert got == [compiled.search(s) for s in SUBJECTS]


@pytest.mark.parametrize(("pattern", "replacement"), [
    ("[0-9]+", "#"), ("a|ab", "X"), ("o+?", "0"), (r"\s+", " "), ("(ab)+", "\\1"), ("$", "")])
def test_replace_agrees(con: duckdb.DuckDBPyConnection, pattern: str, replacement: str) -> None:
    if pattern == "$":
        with pytest.raises(PatternError, match="can match empty text"):
            compile_pattern(pattern, case_sensitive=True, for_replace=True)
        return
    compiled = compile_pattern(pattern, case_sensitive=True, for_replace=True)
    con.register("subjects", pa.table({"s": SUBJECTS}))
    sql = compiled.sql_replace("s", sql_str(replacement))
    got = [row[0] for row in con.execute(f"SELECT {sql} FROM subjects").fetchall()]
    assert got == [compiled.replace(s, replacement) for s in SUBJECTS]


def _cased_characters() -> list[str]:
    return [chr(i) for i in range(1, 0x20000) if not 0xD800 <= i < 0xE000
            and (chr(i).lower() != chr(i) or chr(i).upper() != chr(i))]


def test_case_insensitive_literals_fold_alike_for_every_cased_character(con: duckdb.DuckDBPyConnection) -> None:
    chars = _cased_characters()
    haystack = "\n".join(chars)
    compiled = [compile_pattern(re.escape(c) if not c.isalnum() else c) for c in chars]
    con.register("pats", pa.table({"p": [c.re2 for c in compiled]}))
    rows = con.execute("SELECT regexp_extract_all(?, p, 0, 'i') FROM pats", [haystack]).fetchall()
    translated = haystack.translate({0x130: 0xFDD0, 0x131: 0xFDD1, 0x1FD3: 0xFDD2, 0x1FE3: 0xFDD3, 0xFB06: 0xFDD4})
    for char, pattern, (duck,) in zip(chars, compiled, rows):
        python = [haystack[m.start()] for m in re.finditer(pattern.python, translated, re.IGNORECASE)]
        assert python == duck, f"{char!r} (U+{ord(char):04X}) folds differently"


def test_fold_matches_duckdb_lower_for_every_character(con: duckdb.DuckDBPyConnection) -> None:
    chars = [chr(i) for i in range(1, 0x110000) if not 0xD800 <= i < 0xE000]
    con.register("chars", pa.table({"c": chars}))
    lowered = [row[0] for row in con.execute("SELECT lower(c) FROM chars").fetchall()]
    assert [c for c, low in zip(chars, lowered) if fold(c) != low] == []
    words = ["ΟΔΟΣ", "ΣΑΣ", "İSTANBUL", "ǄEMAL", "ǅ", "MASSE"]
    got = [row[0] for row in con.execute("SELECT lower(w) FROM (SELECT unnest(?) AS w)", [words]).fetchall()]
    assert got == [fold(w) for w in words]


@pytest.mark.parametrize("pattern", [r"\d+\.\d+$", "(ab|cd)+e", ".*sale", "[^,]*,[^,]*;", "a+b"])
def test_accepted_patterns_stay_fast_on_hostile_input(pattern: str) -> None:
    compiled = compile_pattern(pattern)
    text = ("1" * 3000 + "a" * 3000 + "ab" * 1500 + "," * 3000) * 2
    start = time.perf_counter()
    compiled.search(text)
    assert time.perf_counter() - start < 1.0
