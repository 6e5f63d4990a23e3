"""The compiled SQL and the per-row render give byte-identical output (tables, then a property test)."""

from __future__ import annotations

import random
import struct

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from engine.generation import column_facts
from engine.templates import compile_template
from tests.engine.test_templates_support import (
    ROWS,
    SCHEMA,
    frame,
    row_outputs,
    sql_outputs,
)


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    yield connection
    connection.close()


# ---- a table of templates inside the subset: each must compile and agree on awkward rows -----

COMPILES = [
    "plain text only",
    "",
    "{{ t }}|{{ u }}|{{ i }}|{{ f }}|{{ b }}|{{ d }}|{{ ts }}|{{ row['Product Name'] }}|{{ url }}",
    "{{ row.t }}{{ 'lit' }}{{ 42 }}{{ 1.0 }}{{ 1e16 }}{{ none }}{{ true }}",
    "{{ t|upper }}|{{ t|lower }}|{{ t|capitalize }}|{{ t|title }}",
    "{{ row['Product Name']|lower }}|{{ row['Product Name']|upper }}|{{ row['Product Name']|title }}",
    "{{ u|trim }}|{{ t|truncate(5) }}|{{ t|truncate(3, '…') }}|{{ t|truncate(0) }}|{{ t|truncate(length=4, suffix='') }}",
    "{{ t|replace('a', 'AA') }}|{{ t|replace('Σ', '') }}|{{ f|replace('.', ',') }}",
    "{{ t|default('none') }}|{{ u|default(t) }}|{{ i|default(0) }}|{{ f|default('?') }}|{{ i|default(1, true) }}",
    "{{ t|d('x') }}|{{ b|default('no', boolean=true) }}",
    "{{ f|currency }}|{{ f|currency('EUR') }}|{{ g|currency('gbp') }}|{{ f|currency('JPY') }}|{{ i|currency }}",
    "{{ f|number(2) }}|{{ i|number }}|{{ g|number(10) }}|{{ f|percent }}|{{ i|percent(0) }}|{{ t|number }}",
    "{{ d|date('%d %B %Y') }}|{{ ts|date('%-I:%M %p %A %j %f') }}|{{ d|date }}|{{ ts|date('%y%m%d %-d/%-m %%') }}",
    "{{ f or i or 'Ask us' }}|{{ t or u }}|{{ (t or u)|upper }}|{{ i and f }}|{{ not b }}|{{ b or b }}|{{ d or 'x' }}",
    "{{ f or g }}|{{ (f or g)|number(1) }}|{{ (t or 'x') == 'x' }}",
    "{% if f > 100 %}A{% elif f < 0 %}B{% elif i >= 100 %}C{% else %}D{% endif %}",
    ("{% if i > 1.5 %}A{% endif %}{% if i == 100.0 %}B{% endif %}{% if i != 3 %}C{% endif %}"
     "{% if i <= -9223372036854775808 %}D{% endif %}{% if i < 1e300 %}E{% endif %}"),
    ("{% if t in ['a', 'x', none] %}IN{% endif %}{% if t not in ('a',) %}NOT{% endif %}{% if t is none %}N{% endif %}"
     "{% if t is not none %}V{% endif %}{% if t == u %}EQ{% endif %}{% if t < u %}LT{% endif %}"),
    ("{% if f == f %}same{% endif %}{% if f != f %}diff{% endif %}{% if f >= 1e16 %}big{% endif %}"
     "{% if f > g %}gt{% endif %}{% if d > d %}x{% endif %}{% if b == 1 %}one{% endif %}{% if ts >= ts %}T{% endif %}"),
    "{% if i in [3, 100.0, '3', true] %}I{% endif %}{% if f in [2.5, 1e16] %}F{% endif %}{% if i == 'x' %}no{% endif %}",
    "{% if 0 < i < 200 %}mid{% endif %}{% if i == j %}same{% endif %}{% if i < j %}lt{% endif %}",
    "{{ t ~ '-' ~ i ~ f }}|{{ t if b else u }}|{{ 'x' if f > 1 else 3 }}|{{ i > 3 }}",
    "{{ t|upper|lower|title|truncate(4) }}|{{ (t ~ u)|lower|upper }}|{{ t|trim|capitalize|replace('S', '$') }}",
    "{% if b %}{% if t %}{{ t|upper }}{% else %}no t{% endif %}{% elif b is none %}null{% endif %}",
    "{{ 'Weißbier'|upper }}{{ ('a' ~ 1)|title }}{{ none|default('n') }}",
    "{{ t if b }}|{{ (f if b)|number }}|{{ 'yes' if i > 3 }}",
]


@pytest.mark.parametrize("source", COMPILES)
def test_subset_compiles_and_matches_per_row(con: duckdb.DuckDBPyConnection, source: str) -> None:
    tmpl = compile_template(source, SCHEMA)
    assert tmpl.sql is not None, tmpl.fallback_reason
    assert tmpl.fallback_reason is None
    df = frame(ROWS)
    assert sql_outputs(con, tmpl, df) == row_outputs(tmpl, df)


FALLS_BACK = [
    ("{% for x in [1, 2] %}{{ x }}{% endfor %}", "`{% for %}` loop"),
    ("{% set x = t %}{{ x }}", "`{% set %}`"),
    ("{{ t|slug }}", "`slug`"),
    ("{{ i + 1 }}", "arithmetic (`+`)"),
    ("{{ t|length }}", "`length` filter"),
    ("{% if t > 3 %}x{% endif %}", "comparing text with integer"),
    ("{% if i > f %}x{% endif %}", "integer column with a decimal column"),
    ("{{ t|date('%Y') }}", "`date` on text"),
    ("{{ row }}", "`row` as a whole"),
    ("{{ t[0] }}", "indexing"),
    ("{{ t.upper() }}", "a call"),
    ("{% if (t or i) > 3 %}x{% endif %}", "type varies by row"),
    ("{{ t|truncate(i) }}", "not a literal"),
    ("{% macro m() %}x{% endmacro %}{{ m() }}", "macro"),
    ("{{ t is string }}", "`is string` test"),
]


@pytest.mark.parametrize(("source", "reason"), FALLS_BACK)
def test_outside_the_subset_falls_back_with_a_reason(source: str, reason: str) -> None:
    tmpl = compile_template(source, SCHEMA)
    assert tmpl.sql is None
    assert reason in (tmpl.fallback_reason or ""), tmpl.fallback_reason
    assert "line 1" in (tmpl.fallback_reason or "")
    assert tmpl.explain().startswith("-- per row:")


def test_explain_returns_the_sql() -> None:
    tmpl = compile_template("Hi {{ t }}", SCHEMA)
    assert tmpl.explain() == tmpl.sql == "concat('Hi ', \"t\")"  # concat() skips NULLs: no COALESCE needed


def test_column_names_are_quoted(con: duckdb.DuckDBPyConnection) -> None:
    schema = {'we"ird': "text", "select": "integer", "Product Name": "text", "_tpl1": "text"}
    tmpl = compile_template('{{ row[\'we"ird\']|upper }}|{{ row.select }}|{{ row["Product Name"]|title }}'
                            '|{{ _tpl1|upper }}', schema)
    rows = [{'we"ird': "ß", "select": 1, "Product Name": "a b", "_tpl1": "q"}, {'we"ird': None, "select": None,
                                                                             "Product Name": None, "_tpl1": None}]
    df = frame(rows, schema)
    assert sql_outputs(con, tmpl, df) == row_outputs(tmpl, df) == ["SS|1|A B|Q", "|||"]


def test_numbers_print_like_python_for_any_double(con: duckdb.DuckDBPyConnection) -> None:
    rng = random.Random(7)
    values = [struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0] for _ in range(10_000)]
    values += [rng.randint(-10 ** 6, 10 ** 6) / 8 for _ in range(3_000)]          # exact halfway cases
    values += [round(rng.uniform(-1e7, 1e7), rng.randint(0, 4)) for _ in range(3_000)]
    values += [m * 10.0 ** e for e in range(-30, 30) for m in (1.0, 9.999999999999999, 5.0)]
    tmpl = compile_template("{{ f }}|{{ f|number }}|{{ f|number(2) }}|{{ f|number(10) }}|{{ f|percent(1) }}"
                            "|{{ f|currency('EUR') }}", {"f": "decimal"})
    df = pl.DataFrame({"f": pl.Series(values, dtype=pl.Float64)})
    assert sql_outputs(con, tmpl, df) == row_outputs(tmpl, df)


# ---- the property: random data × random templates from the subset grammar -------------------

INTERESTING = ["", " ", "ß", "İ", "Σ", "ΟΔΟΣ", "σ", "ς", "👍🏽", "e\u0301", "\u00a0", "\t", "\n", "ﬁ", "ǅ", "ǆ", "a",
               "Z", "-", "(", "'", '"', "0", "1.5", "Zürich", "Weißbier", "\u2028", "ʼ", "·", "A.B", "x-y z", "ᾳ",
               "ΐ", "%", "\\", "2024-01-08"]
TEXT = st.one_of(st.none(), st.sampled_from(INTERESTING),
                 st.lists(st.sampled_from([*INTERESTING, "a", "b", "Σ", " "]), max_size=6).map("".join),
                 st.text(st.characters(blacklist_categories=["Cs"]), max_size=8))
FLOATS = st.one_of(st.none(), st.floats(), st.sampled_from(
    [0.0, -0.0, 100.0, 1e16, 1e15, 0.1 + 0.2, 107.52, 1e-5, 2.5, 0.125, 99.995, 9007199254740993.0, -1.5e300,
     float("nan"), float("inf"), 1234.5, -0.001]))
INTS = st.one_of(st.none(), st.integers(-(2 ** 63), 2 ** 63 - 1), st.integers(-200, 200))
ROW = st.fixed_dictionaries({
    "t": TEXT, "u": TEXT, "i": INTS, "j": INTS, "f": FLOATS, "g": FLOATS, "b": st.one_of(st.none(), st.booleans()),
    "d": st.one_of(st.none(), st.dates()), "ts": st.one_of(st.none(), st.datetimes()),
    "Product Name": TEXT, "url": TEXT,
})


def _lit(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


TEXT_COLS = ["t", "u", "row['Product Name']", "url"]
NUM_LITERALS = ["0", "3", "100", "-5", "2.5", "100.0", "0.0", "1e16", "9223372036854775807", "1e300"]
STR_LITERALS = st.sampled_from(INTERESTING[:12]).map(_lit)
COLUMNS = st.sampled_from([*TEXT_COLS, "i", "j", "f", "g", "b", "d", "ts"])
LITERALS = st.one_of(STR_LITERALS, st.sampled_from([*NUM_LITERALS, "none", "true", "false"]))
FILTERS = st.sampled_from([
    "upper", "lower", "capitalize", "title", "trim", "truncate(3)", "truncate(0)", 'truncate(5, "…")',
    'default("dflt")', "default(u)", "default(0, true)", 'replace("a", "ß")', 'replace("Σ", "")',
    'replace(" ", "_")', "currency", 'currency("EUR")', 'currency("gbp")', 'currency("JPY")', "number",
    "number(2)", "percent", "percent(0)", "date", 'date("%d %B %Y %-I%p %j %f %A %a %b %y %H:%M:%S %%")',
])
COMPARE_OPS = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])
CONDITIONS = st.one_of(
    COLUMNS,
    st.tuples(st.sampled_from(TEXT_COLS), COMPARE_OPS, st.one_of(STR_LITERALS, st.sampled_from(TEXT_COLS)))
    .map(" ".join),
    st.tuples(st.sampled_from(["i", "j", "f", "g"]), COMPARE_OPS, st.sampled_from(NUM_LITERALS)).map(" ".join),
    st.tuples(st.sampled_from(["i", "j"]), COMPARE_OPS, st.sampled_from(["i", "j", "b"])).map(" ".join),
    st.tuples(st.sampled_from(["f", "g"]), COMPARE_OPS, st.sampled_from(["f", "g"])).map(" ".join),
    st.tuples(st.sampled_from(["d", "ts", "b"]), st.sampled_from(["==", "!=", "<", ">="]),
              st.sampled_from(["d", "ts", "b", "none", "true", "1"])).map(" ".join),
    st.tuples(COLUMNS, st.sampled_from(["in", "not in"]),
              st.lists(LITERALS, min_size=1, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]")).map(" ".join),
    COLUMNS.map(lambda c: f"{c} is none"),
    COLUMNS.map(lambda c: f"{c} is not none"),
)
CONDS = st.recursive(CONDITIONS, lambda inner: st.one_of(
    inner.map(lambda c: f"not ({c})"),
    st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(lambda p: f"({p[0]}) {p[1]} ({p[2]})"),
), max_leaves=3)
EXPRS = st.recursive(st.one_of(COLUMNS, LITERALS), lambda inner: st.one_of(
    st.tuples(inner, FILTERS).map(lambda p: f"({p[0]}) | {p[1]}"),
    st.tuples(inner, inner).map(lambda p: f"({p[0]} or {p[1]})"),
    st.tuples(inner, inner).map(lambda p: f"({p[0]} and {p[1]})"),
    st.tuples(inner, inner).map(lambda p: f"({p[0]} ~ {p[1]})"),
    st.tuples(inner, CONDS, inner).map(lambda p: f"({p[0]} if {p[1]} else {p[2]})"),
), max_leaves=5)
DATA = st.sampled_from(["", "Hi ", " — ", "$", "\n", "ß ", "'q' ", "%", "}"])


def _pieces(depth: int) -> st.SearchStrategy[str]:
    output = EXPRS.map(lambda e: "{{ " + e + " }}")
    if depth == 0:
        return st.lists(st.one_of(DATA, output), min_size=1, max_size=3).map("".join)
    body = _pieces(depth - 1)
    branch = st.tuples(CONDS, body, st.lists(st.tuples(CONDS, body), max_size=1), st.one_of(st.none(), body)).map(
        lambda p: "{% if " + p[0] + " %}" + p[1] + "".join("{% elif " + c + " %}" + b for c, b in p[2])
        + ("{% else %}" + p[3] if p[3] is not None else "") + "{% endif %}")
    return st.lists(st.one_of(DATA, output, branch), min_size=1, max_size=4).map("".join)


TEMPLATES = _pieces(1)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(rows=st.lists(ROW, min_size=1, max_size=6), source=TEMPLATES)
def test_sql_equals_per_row_render(con: duckdb.DuckDBPyConnection, rows: list[dict], source: str) -> None:
    tmpl = compile_template(source, SCHEMA)
    if tmpl.sql is None:
        event("falls back")
        return
    event("compiles to SQL")
    df = frame(rows)
    assert sql_outputs(con, tmpl, df) == row_outputs(tmpl, df)


# ---- the same property for SQL specialised to what the rows hold (a preview's prefix) -------

ASCII_TEXT = st.one_of(st.none(), st.sampled_from(["", " ", "a", "Z", "x-y z", "A.B", "\t", "\x1c", "abc ", " q", "%"]),
                       st.text(st.characters(max_codepoint=127, blacklist_categories=["Cs"]), max_size=10))
CENTS = st.one_of(st.none(), st.integers(-10 ** 9, 10 ** 9).filter(bool).map(lambda n: n / 100))
PLAIN_ROW = st.fixed_dictionaries({
    "t": ASCII_TEXT, "u": st.one_of(ASCII_TEXT, st.sampled_from(["Weißbier", "Zürich", "ß", "Σ"])), "i": INTS,
    "j": INTS, "f": CENTS, "g": st.one_of(CENTS, FLOATS), "b": st.one_of(st.none(), st.booleans()),
    "d": st.one_of(st.none(), st.dates()), "ts": st.one_of(st.none(), st.datetimes()),
    "Product Name": ASCII_TEXT, "url": st.one_of(ASCII_TEXT, TEXT),
})


SPECIALISED = st.tuples(
    st.sampled_from(["t", "u", "row['Product Name']", "url", "f", "g", "(t or u)", "(t ~ f)", "(f or 'x')"]),
    st.lists(st.sampled_from(["upper", "lower", "capitalize", "title", "trim", "truncate(3)", "truncate(1)",
                              'truncate(5, "…")', 'truncate(4, "")', 'replace("a", "ß")', 'default("dflt")',
                              "string"]), max_size=3),
).map(lambda p: "{{ " + " | ".join([p[0], *p[1]]) + " }}")
SPECIALISED_TEMPLATES = st.lists(st.one_of(SPECIALISED, _pieces(0)), min_size=1, max_size=4).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(rows=st.one_of(st.lists(PLAIN_ROW, min_size=1, max_size=6), st.lists(ROW, min_size=1, max_size=6)),
       source=st.one_of(SPECIALISED_TEMPLATES, TEMPLATES))
def test_sql_specialised_to_the_rows_equals_per_row_render(con: duckdb.DuckDBPyConnection, rows: list[dict],
                                                           source: str) -> None:
    tmpl = compile_template(source, SCHEMA)
    if tmpl.sql is None:
        return
    df = frame(rows)
    facts = column_facts(df.to_arrow())
    sql = tmpl.sql_for(facts)
    event("specialised" if sql != tmpl.sql else "unchanged")
    assert sql_outputs(con, tmpl, df, sql) == row_outputs(tmpl, df)


@pytest.mark.parametrize(("source", "absent"), [
    ("{{ t|upper }}", "regexp_matches"), ("{{ t|lower }}", "string_split"), ("{{ t|truncate(3) }}", "OR length("),
    ("{{ f }}", "isnan"), ("{{ t|title|capitalize }}", "any_special"),
])
def test_specialised_sql_leaves_out_branches_the_rows_cannot_take(source: str, absent: str) -> None:
    df = frame([{**ROWS[0], "t": "plain words here", "f": 19.99}])
    tmpl = compile_template(source, SCHEMA)
    assert tmpl.sql is not None
    specialised = tmpl.sql_for(column_facts(df.to_arrow()))
    assert specialised is not None and len(specialised) < len(tmpl.sql)
    assert absent not in specialised and tmpl.sql_for({}) == tmpl.sql
