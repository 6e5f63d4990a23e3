"""The SQL fast paths (ASCII text, short floats, lengths without text, lazy compilation) change no byte.

Each fast path is guarded per row; these tables put rows on both sides of every guard, and the
property tests mix them at random.
"""

from __future__ import annotations

import random
import struct
import threading

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from jinja2 import meta

from engine.templates import compile_template, template_environment
from engine.templates import unicode_tables as ut
from engine.templates.filters import capitalize, title, truncate
from engine.templates.positions import Source
from engine.templates.sql_casing import capitalize_sql, is_ascii_sql, lower_sql, title_sql, upper_sql
from engine.templates.sql_values import INLINE_MAX, Binder, float_text_sql
from engine.templates.validate import analyze, is_plain, undeclared_variables
from tests.engine.test_templates_sql import TEMPLATES
from tests.engine.test_templates_support import ROWS, SCHEMA, frame, row_outputs, sql_outputs


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    yield connection
    connection.close()


def _column(con: duckdb.DuckDBPyConnection, sql: str, values: list[str]) -> list[str]:
    con.register("vals", pl.DataFrame({"i": range(len(values)), "w": values}, schema={"i": pl.Int64, "w": pl.String}))
    try:
        return [r[0] for r in con.execute(f"SELECT {sql} FROM vals ORDER BY i").fetchall()]
    finally:
        con.unregister("vals")


# ---- ASCII guard ----------------------------------------------------------------------------------

ASCII_ROWS = ["", "a", "hello world", "Hello-World (x) [y] {z} <w>", "tab\there", "MiXeD 123 !?", "  spaced  ",
              "x" * 300, "\x01\x1f\x7f", "it's", "ab\ncd"]
UNICODE_ROWS = ["straße", "Weißbier ΟΔΟΣ", "ﬁsh", "İstanbul", "ΣΑΣ σ", "e\u0301", "👍🏽 ok", "\u00a0a\u2028",
                "ǅemal", "ᾳ ΐ ŉ ǰ", "a" * 200 + "ß", "ß" + "a" * 200, "Zürich-Ost (Kreis)", "\u0080", "日本"]


def test_the_ascii_test_is_exact(con: duckdb.DuckDBPyConnection) -> None:
    values = ASCII_ROWS + UNICODE_ROWS + [chr(c) for c in range(0x20, 0x2000, 7)]
    assert _column(con, is_ascii_sql('"w"'), values) == [v.isascii() for v in values]


@pytest.mark.parametrize(("name", "build", "python"), [
    ("upper", upper_sql, str.upper), ("lower", lower_sql, str.lower),
    ("capitalize", capitalize_sql, capitalize), ("title", title_sql, title)])
def test_case_filters_on_ascii_and_unicode_rows(con: duckdb.DuckDBPyConnection, name: str, build, python) -> None:
    values = ASCII_ROWS + UNICODE_ROWS
    assert _column(con, build('"w"', Binder(["w"])), values) == [python(v) for v in values], name


_MIXED_TEXT = st.lists(st.sampled_from(["a", "B", " ", "-", "(", "\t", "z", "ß", "Σ", "ﬁ", "İ", "é", "\u00a0", "ᾳ",
                                        "'", "1", "\n"]), max_size=12).map("".join)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.one_of(_MIXED_TEXT, st.text(st.characters(max_codepoint=0x7F), max_size=12)),
                       min_size=1, max_size=20))
def test_case_filters_match_python_on_random_mixes(con: duckdb.DuckDBPyConnection, values: list[str]) -> None:
    binder, w = Binder(["w"]), '"w"'
    sql = ", ".join(f(w, binder) for f in (upper_sql, lower_sql, capitalize_sql, title_sql))
    con.register("vals", pl.DataFrame({"i": range(len(values)), "w": values}, schema={"i": pl.Int64, "w": pl.String}))
    try:
        got = con.execute(f"SELECT {sql} FROM vals ORDER BY i").fetchall()
    finally:
        con.unregister("vals")
    assert got == [(v.upper(), v.lower(), capitalize(v), title(v)) for v in values]


def test_trim_skips_the_regex_only_when_exact(con: duckdb.DuckDBPyConnection) -> None:
    values = ASCII_ROWS + UNICODE_ROWS + ["\x01a\x01", "a\x00", "\x00"]
    values += [ws + core + ws2 for ws in ["", " ", "\t", "\u3000", "\x85"] for ws2 in ["", "\n", "\u2028", "\u200b"]
               for core in ["x", "a b", "ß", ""]]
    tmpl = compile_template("{{ t|trim }}|{{ (t ~ u)|trim|upper }}", {"t": "text", "u": "text"})
    df = frame([{"t": v, "u": v[::-1]} for v in values] + [{"t": None, "u": None}], {"t": "text", "u": "text"})
    assert sql_outputs(con, tmpl, df) == row_outputs(tmpl, df)


# ---- truncate ---------------------------------------------------------------------------------------

def _truncate_rows() -> list[str]:
    rows = ["", "a", "abcd", "abcde", "abcdef", "abc  ", "abcd ef", "abcde f", "ab\u00e9de", "👍🏽👍🏽x", "e\u0301e\u0301e"]
    for ws in ut.WHITESPACE:  # whitespace exactly at the cut, just before it and just after it
        rows += ["abcd" + ws + "xyz", "abc" + ws + ws + "xyz", "abcde" + ws + "z", ws * 8, "ab" + ws * 3 + "q"]
    rows += ["abcd\u200bxyz", "日本語のテキストです", "ßßßßßß"]
    return rows


@pytest.mark.parametrize(("args", "length", "suffix"), [
    ("5", 5, "..."), ("1", 1, "..."), ("0", 0, "..."), ("5, '…'", 5, "…"), ("5, ''", 5, ""),
    ("4, suffix='~~'", 4, "~~"), ("0, '!'", 0, "!")])
def test_truncate_around_the_cut(con: duckdb.DuckDBPyConnection, args: str, length: int, suffix: str) -> None:
    tmpl = compile_template(f"{{{{ t|truncate({args}) }}}}", {"t": "text"})
    rows = [{"t": r} for r in _truncate_rows()] + [{"t": None}]
    df = frame(rows, {"t": "text"})
    assert sql_outputs(con, tmpl, df) == row_outputs(tmpl, df) == [truncate(r["t"], length, suffix) for r in rows]
    length_sql = tmpl.length_sql()
    assert length_sql is not None
    assert _lengths(con, length_sql, df) == [len(truncate(r["t"], length, suffix)) for r in rows]


# ---- float printing ------------------------------------------------------------------------------

FLOATS = [0.0, -0.0, 0.01, -0.01, 0.05, 0.1, 0.2, 0.3, 0.1 + 0.2, 0.5, -0.5, 1.0, 4.4, 5.0, 107.52, 107.5, 107.0,
          271.46, 99.995, 1e-4, 1e-5, 12345678.125, 9999999999999.99, 1e13, 1e13 - 0.01, 1e13 + 0.01, -1e13 + 0.5,
          1e14, 1e15, 1e16, 2.0 ** 53, 123456789012.34, 5e-324, 1.7976931348623157e308, float("inf"),
          float("-inf"), float("nan"), -float("nan")]


def test_float_printing_table(con: duckdb.DuckDBPyConnection) -> None:
    con.register("fl", pl.DataFrame({"i": range(len(FLOATS)), "x": FLOATS}, schema={"i": pl.Int64, "x": pl.Float64}))
    try:
        got = [r[0] for r in con.execute(f"SELECT {float_text_sql('x')} FROM fl ORDER BY i").fetchall()]
    finally:
        con.unregister("fl")
    assert got == ["nan" if x != x else repr(x) for x in FLOATS]


_CENTS = st.integers(-(10 ** 16), 10 ** 16).flatmap(lambda n: st.sampled_from([n / 100, n / 10, float(n), n / 1000]))
_ANY_DOUBLE = st.integers(0, 2 ** 64 - 1).map(lambda b: struct.unpack("<d", b.to_bytes(8, "little"))[0])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.one_of(_CENTS, _ANY_DOUBLE, st.floats()), min_size=1, max_size=200))
def test_floats_print_like_repr(con: duckdb.DuckDBPyConnection, values: list[float]) -> None:
    tmpl = compile_template("{{ f }}|{{ 'x' ~ f }}|{% if f %}{{ f }}{% endif %}", {"f": "decimal"})
    df = pl.DataFrame({"f": pl.Series(values, dtype=pl.Float64)})
    assert sql_outputs(con, tmpl, df) == row_outputs(tmpl, df)


def test_many_two_decimal_floats(con: duckdb.DuckDBPyConnection) -> None:
    rng = random.Random(11)
    values = [rng.randint(-10 ** rng.randint(0, 16), 10 ** 16) / rng.choice([1, 10, 100, 1000]) for _ in range(50_000)]
    con.register("fl", pl.DataFrame({"i": range(len(values)), "x": values}, schema={"i": pl.Int64, "x": pl.Float64}))
    try:
        got = [r[0] for r in con.execute(f"SELECT {float_text_sql('x')} FROM fl ORDER BY i").fetchall()]
    finally:
        con.unregister("fl")
    assert got == [repr(x) for x in values]


# ---- concat and binding ------------------------------------------------------------------------------

def test_nulls_everywhere_print_empty(con: duckdb.DuckDBPyConnection) -> None:
    tmpl = compile_template("{{ t }}{{ u }}{{ i }}{{ f }}{{ d }}{{ ts }}{% if b %}x{{ t }}{% endif %}{{ t ~ u }}", SCHEMA)
    df = frame([{}, {"t": "a"}, {"f": 1.5, "ts": None}])
    assert sql_outputs(con, tmpl, df) == row_outputs(tmpl, df) == ["", "aa", "1.5"]


def test_nested_concats_are_flattened() -> None:
    # `(t ~ 'c') ~ u` is one concat under one size guard (MAX_STRING_CHARS), spliced into nothing further
    tmpl = compile_template("a{{ t }}{% if b %}b{% endif %}{{ (t ~ 'c') ~ u }}d", SCHEMA)
    assert tmpl.sql is not None and tmpl.sql.count("concat(") == 2 and "COALESCE(\"t\", '')" not in tmpl.sql
    assert "concat(\"t\", 'c', \"u\")" in tmpl.sql


def test_chained_filters_keep_the_sql_small(con: duckdb.DuckDBPyConnection) -> None:
    chain = ["default('x')", "truncate(9)", "upper", "lower", "title", "capitalize", "truncate(5)", "trim", "upper"]
    tmpl = compile_template("{{ (t or u)|" + "|".join(chain) + " }}", SCHEMA)
    alone = sum(len(compile_template("{{ t|" + f + " }}", SCHEMA).sql or "") for f in chain)
    assert tmpl.sql is not None and len(tmpl.sql) < alone + 2 * INLINE_MAX  # linear: each input bound once
    df = frame(ROWS)
    assert sql_outputs(con, tmpl, df) == row_outputs(tmpl, df)


# ---- lengths without text --------------------------------------------------------------------------

def _lengths(con: duckdb.DuckDBPyConnection, sql: str, df: pl.DataFrame) -> list[int]:
    con.register("t_rows", df.with_row_index("__row"))
    try:
        return [r[0] for r in con.execute(f"SELECT {sql} FROM t_rows ORDER BY __row").fetchall()]
    finally:
        con.unregister("t_rows")


@pytest.mark.parametrize("source", [
    "", "plain", "{{ t }}", "{{ t|upper }}{{ u|lower }}{{ t|title }}{{ t|capitalize }}", "{{ t|truncate(3) }}",
    "{{ t|truncate(0, '…') }}", "{{ f }}{{ i }}{{ b }}{{ d }}{{ ts }}", "{% if f > 1 %}{{ f|number(2) }}{% endif %}",
    "{{ t ~ i ~ f }}", "{{ t or 'none' }}", "{{ (t|upper)|truncate(4, '!') }}", "é{{ t|default('ß')|upper }}👍🏽"])
def test_length_sql_matches_len_of_render(con: duckdb.DuckDBPyConnection, source: str) -> None:
    tmpl = compile_template(source, SCHEMA)
    df = frame(ROWS + [{"t": w} for w in ASCII_ROWS + UNICODE_ROWS])
    length = tmpl.length_sql()
    assert length is not None
    assert _lengths(con, length, df) == [len(x) for x in row_outputs(tmpl, df)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                                   HealthCheck.function_scoped_fixture])
@given(source=TEMPLATES)
@example(source='{{ (("" if t else " ")) | trim }}')  # trim of ASCII text was measured before trimming
def test_length_sql_matches_on_random_templates(con: duckdb.DuckDBPyConnection, source: str) -> None:
    tmpl = compile_template(source, SCHEMA)
    length = tmpl.length_sql()
    if tmpl.sql is None:
        assert length is None
        return
    assert length is not None
    df = frame(ROWS)
    rendered = row_outputs(tmpl, df)
    assert _lengths(con, length, df) == [len(x) for x in rendered]
    if tmpl.never_blank:
        assert all(any(ch > " " for ch in x) for x in rendered)


def test_length_survives_a_render_first() -> None:
    tmpl = compile_template("{% if i > 3 %}{{ t|upper }}{% endif %}", SCHEMA)
    tmpl.render({"i": 5, "t": "x"})  # generates (and hardens) the Jinja2 code
    assert tmpl.length_sql() is not None


@pytest.mark.parametrize(("source", "blank"), [
    ("Best {{ t }}", False), ("{{ t }}", True), ("  {{ t }}\n", True), ("{% if b %}x{% endif %}", True),
    ("{{ t }} · {{ u }}", False), ("\x00\x20", True)])
def test_never_blank(source: str, blank: bool) -> None:
    assert compile_template(source, SCHEMA).never_blank is not blank


# ---- compile-time shortcuts ------------------------------------------------------------------------

NAMES = ["t", "self", "range", "loop", "caller", "super", "varargs", "kwargs", "row", "namespace", "x", "none"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(source=st.one_of(TEMPLATES, st.lists(st.sampled_from(NAMES), min_size=1, max_size=4).map(
    lambda ns: "".join("{{ " + n + " }}" if i % 2 else "{% if " + n + " %}a{% endif %}" for i, n in enumerate(ns)))))
def test_plain_templates_find_the_same_undeclared_names(source: str) -> None:
    env = template_environment()
    ast = Source(env, source).parse()
    assert is_plain(ast)
    assert undeclared_variables(ast, env) == meta.find_undeclared_variables(env.parse(source))


@pytest.mark.parametrize("source", [
    "{% for x in [1] %}{{ x }}{% endfor %}", "{% set a = 1 %}{{ a }}", "{% macro m() %}{% endmacro %}",
    "{% with a = 1 %}{{ a }}{% endwith %}", "{% filter upper %}x{% endfilter %}"])
def test_templates_that_declare_names_are_not_plain(source: str) -> None:
    env = template_environment()
    assert not is_plain(Source(env, source).parse())
    assert not analyze(source, ["t"]).plain


@pytest.mark.parametrize("source", ["Hi {{ t }}", "{% if t %}{{ t|upper }}{% else %}-{% endif %}", "{{ t ~ u }}",
                                    "{{ x }", "{% if %}", "{{ 'a' }}\n{{ t|nope }}", "{{ t }}{# c #}\n\n{{ u }}"])
def test_parsing_reuses_the_tokens_without_changing_the_tree(source: str) -> None:
    env = template_environment()
    src = Source(env, source)
    fresh = Source(env, source)
    fresh._raw = None  # lex again, as before the reuse
    try:
        expected = repr(fresh.parse())
    except Exception as exc:  # noqa: BLE001 - syntax errors must stay the same error
        with pytest.raises(type(exc)) as err:
            src.parse()
        assert str(err.value) == str(exc) and (err.value.line, err.value.column) == (exc.line, exc.column)
        return
    assert repr(src.parse()) == expected


def test_sql_templates_compile_jinja_lazily_and_once() -> None:
    tmpl = compile_template("{% if i > 1 %}{{ t|upper }}{% endif %}", SCHEMA)
    assert tmpl.sql is not None and tmpl._template is None
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(tmpl.render({"i": 2, "t": "ab"}))) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert results == ["AB"] * 8 and tmpl._template is not None
    assert tmpl.render({"i": 0, "t": "ab"}) == ""


def test_fallback_templates_still_compile_eagerly() -> None:
    tmpl = compile_template("{% for x in [1, 2] %}{{ x }}{% endfor %}", SCHEMA)
    assert tmpl.sql is None and tmpl._template is not None and tmpl.length_sql() is None
