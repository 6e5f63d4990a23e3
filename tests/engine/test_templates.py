"""Templates: filters, printing rules, fallbacks, validation messages and the Dotoro converter."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from engine.templates import (
    MAX_VARIABLES,
    TEMPLATE_MAX_CHARS,
    TemplateError,
    compile_template,
    convert_dotoro,
    render_rows,
    validate_template,
)

D = dt.date(2024, 1, 8)
DT = dt.datetime(2024, 1, 8, 15, 4, 5)

# ---- filters: filter call, column kind, value → output -------------------------------------

FILTER_CASES: list[tuple[str, str, Any, str]] = [
    ("upper", "text", "straße", "STRASSE"),
    ("upper", "text", "ﬁx ŉ", "FIX ʼN"),
    ("upper", "text", None, ""),
    ("upper", "decimal", 1e16, "1E+16"),
    ("upper", "boolean", True, "TRUE"),
    ("lower", "text", "ΟΔΟΣ ΣΑΣ", "οδος σας"),
    ("lower", "text", "İstanbul", "i̇stanbul"),
    ("lower", "text", "ABC Déjà", "abc déjà"),
    ("lower", "date", D, "2024-01-08"),
    ("capitalize", "text", "hELLO wORLD", "Hello world"),
    ("capitalize", "text", "ßa", "SSa"),
    ("capitalize", "text", "", ""),
    ("title", "text", "hello-world (foo) bar", "Hello-World (Foo) Bar"),
    ("title", "text", "they're HERE", "They're Here"),
    ("title", "text", "mIxEd\u00a0case", "Mixed\u00a0Case"),
    ("title", "text", "[a]<b>{c}", "[A]<B>{C}"),
    ("trim", "text", "  a b \n", "a b"),
    ("trim", "text", "\u00a0x\u3000", "x"),
    ("trim", "integer", 5, "5"),
    ("truncate(5)", "text", "Hello world", "Hello..."),
    ("truncate(6)", "text", "Hello world", "Hello..."),
    ("truncate(11)", "text", "Hello world", "Hello world"),
    ("truncate(3, '…')", "text", "abcdef", "abc…"),
    ("truncate(3, suffix='')", "text", "abcdef", "abc"),
    ("truncate(0)", "text", "abc", "..."),
    ("truncate(0)", "text", "", ""),
    ("truncate(3)", "integer", 123456, "123..."),
    ("truncate(2)", "text", "👍🏽x", "👍🏽..."),
    ("replace('a', 'o')", "text", "banana", "bonono"),
    ("replace(' ', '')", "text", "a b c", "abc"),
    ("replace('.', ',')", "decimal", 2.5, "2,5"),
    ("default('n/a')", "text", None, "n/a"),
    ("default('n/a')", "text", "", "n/a"),
    ("default('n/a')", "text", " ", " "),
    ("default('n/a')", "integer", 0, "0"),
    ("default('n/a', true)", "integer", 0, "n/a"),
    ("default(5)", "integer", None, "5"),
    ("d('x')", "text", None, "x"),
    ("currency", "decimal", 1234.5, "$1,234.50"),
    ("currency('EUR')", "decimal", 1234.5, "€1,234.50"),
    ("currency('eur')", "decimal", 1.0, "€1.00"),
    ("currency('GBP')", "decimal", -3.456, "-£3.46"),
    ("currency('JPY')", "decimal", 1234.5, "1,234.50 JPY"),
    ("currency", "integer", 5, "$5.00"),
    ("currency", "decimal", 0.125, "$0.12"),
    ("currency", "decimal", 2.675, "$2.67"),
    ("currency", "decimal", -0.001, "-$0.00"),
    ("currency", "decimal", None, ""),
    ("currency", "text", "n/a", "n/a"),
    ("currency", "boolean", True, "True"),
    ("number", "decimal", 1234.5, "1,234"),
    ("number(2)", "decimal", 1234.5, "1,234.50"),
    ("number(2)", "integer", 1234567, "1,234,567.00"),
    ("number", "decimal", 1e16, "10,000,000,000,000,000"),
    ("number", "decimal", float("nan"), "nan"),
    ("number(1)", "decimal", float("-inf"), "-inf"),
    ("percent", "decimal", 0.156, "15.6%"),
    ("percent(0)", "decimal", 0.5, "50%"),
    ("percent(2)", "integer", 12, "1,200.00%"),
    ("percent", "text", "x", "x"),
    ("date", "date", D, "2024-01-08"),
    ("date('%d %B %Y')", "date", D, "08 January 2024"),
    ("date('%-d %b, %A')", "date", D, "8 Jan, Monday"),
    ("date('%Y-%m-%d %H:%M')", "datetime", DT, "2024-01-08 15:04"),
    ("date('%-I:%M%p %a %j %y %S %f %%')", "datetime", DT, "3:04PM Mon 008 24 05 000000 %"),
    ("date('%d/%m/%Y')", "text", "2024-01-08", "08/01/2024"),
    ("date('%H:%M')", "text", "2024-01-08T10:30:00", "10:30"),
    ("date", "text", "not a date", "not a date"),
    ("date('%Y')", "date", dt.date(99, 1, 1), "0099"),
    ("date", "date", None, ""),
    ("date", "integer", 7, "7"),
    ("slug", "text", "Crème Brûlée — 2 for $5!", "creme-brulee-2-for-5"),
    ("slug", "text", "Straße Øl", "strasse-ol"),
    ("slug", "text", None, ""),
]


@pytest.mark.parametrize(("call", "kind", "value", "expected"), FILTER_CASES)
def test_filter(call: str, kind: str, value: Any, expected: str) -> None:
    tmpl = compile_template("{{ v | " + call + " }}", {"v": kind})
    assert tmpl.render({"v": value}) == expected


# ---- what `{{ value }}` prints -------------------------------------------------------------

PRINTS = [
    ("decimal", 107.52, "107.52"), ("decimal", 100.0, "100.0"), ("decimal", 1e16, "1e+16"),
    ("decimal", 1e-5, "1e-05"), ("decimal", -0.0, "-0.0"), ("decimal", float("nan"), "nan"),
    ("decimal", float("inf"), "inf"), ("decimal", 0.1 + 0.2, "0.30000000000000004"),
    ("integer", -42, "-42"), ("boolean", True, "True"), ("boolean", False, "False"),
    ("date", D, "2024-01-08"), ("datetime", dt.datetime(2024, 1, 8, 10), "2024-01-08 10:00:00"),
    ("datetime", dt.datetime(2024, 1, 8, 10, 0, 0, 120), "2024-01-08 10:00:00.000120"),
    ("text", None, ""), ("integer", None, ""), ("text", "a\nb", "a\nb"),
]


@pytest.mark.parametrize(("kind", "value", "expected"), PRINTS)
def test_printing(kind: str, value: Any, expected: str) -> None:
    assert compile_template("{{ v }}", {"v": kind}).render({"v": value}) == expected


PRICES = {"sale": "decimal", "regular": "decimal"}
TEXTS = {"name": "text", "Product Name": "text"}
SEMANTICS: list[tuple[str, dict[str, str], dict[str, Any], str]] = [
    ('{{ sale or regular or "Ask us" }}', PRICES, {"sale": None, "regular": 5.0}, "5.0"),
    ('{{ sale or regular or "Ask us" }}', PRICES, {"sale": 0.0, "regular": None}, "Ask us"),
    ('{{ sale or regular or "Ask us" }}', PRICES, {"sale": 19.99, "regular": 25.0}, "19.99"),
    ("{% if sale > 10 %}big{% else %}small{% endif %}", PRICES, {"sale": None}, "small"),
    ("{% if sale < 10 %}cheap{% endif %}", PRICES, {"sale": None}, ""),
    ("{% if sale == none %}none{% endif %}", PRICES, {"sale": None}, "none"),
    ("{% if sale != 3 %}ne{% endif %}", PRICES, {"sale": None}, "ne"),
    ("{{ name ~ '!' }}", TEXTS, {"name": None}, "!"),
    ("{{ name }}\n", TEXTS, {"name": "x"}, "x\n"),
    ("{{ name | upper | truncate(3) }}", TEXTS, {"name": "straße"}, "STR..."),
    ("{{ row['Product Name'] }}/{{ row.name }}", TEXTS, {"Product Name": "Shoe", "name": "n"}, "Shoe/n"),
    ("{% for w in name.split() %}{{ loop.index }}{{ w }}{% endfor %}", TEXTS, {"name": "a b"}, "1a2b"),
    ("{{ name | default('x') }}", TEXTS, {}, "x"),
]


@pytest.mark.parametrize(("source", "schema", "row", "expected"), SEMANTICS)
def test_semantics(source: str, schema: dict[str, str], row: dict[str, Any], expected: str) -> None:
    assert compile_template(source, schema).render(row) == expected


RENDER_ERRORS = [
    ("{{ name }}", {}, "`name` has no value in this row"),
    ("{% if name > 3 %}x{% endif %}", {"name": "a"}, "cannot compare"),
    ("{{ name | truncate(n) }}", {"name": "a", "n": -1}, "truncate needs a whole number"),
    ("{{ 1 / n }}", {"name": "a", "n": 0}, "division by zero"),
    # issue 16 bug 5: an empty search text put the replacement between every character ("-a-b-")
    ("{{ name | replace(name, '-') }}", {"name": ""}, "the text to search for in `replace` is empty"),
    ("{{ 'ab' | replace(name, '-') }}", {"name": ""}, "between every character"),
    ("{{ 'ab'.replace(name, '-') }}", {"name": ""}, "the text to search for in `replace` is empty"),
]


@pytest.mark.parametrize(("source", "row", "fragment"), RENDER_ERRORS)
def test_render_errors_are_template_errors(source: str, row: dict[str, Any], fragment: str) -> None:
    tmpl = compile_template(source, {"name": "text", "n": "integer"})
    with pytest.raises(TemplateError, match=fragment) as caught:
        tmpl.render(row)
    assert caught.value.line == 1


def test_render_rows_names_the_row() -> None:
    tmpl = compile_template("{{ 10 // n }}", {"n": "integer"})
    assert render_rows(tmpl, [{"n": 5}, {"n": 2}]) == ["2", "5"]
    with pytest.raises(TemplateError, match=r"^row 2, line 1: division by zero") as caught:
        render_rows(tmpl, [{"n": 5}, {"n": 0}])
    assert caught.value.row == 1


def test_variables_are_the_columns_used() -> None:
    tmpl = compile_template("{% set x = a %}{{ x }}{{ row['B c'] }}{% for i in range(2) %}{{ i }}{% endfor %}",
                            {"a": "text", "B c": "text", "unused": "text"})
    assert tmpl.variables == frozenset({"a", "B c"})
    whole_row = compile_template("{% for k in row %}{{ k }}{% endfor %}", {"a": "text", "b": "text"})
    assert whole_row.variables == frozenset({"a", "b"})


def test_unknown_schema_kind_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown kind"):
        compile_template("x", {"a": "money"})


# ---- validation -----------------------------------------------------------------------------

COLUMNS = ["product_name", "price", "city", "Product Name", "created_at"]
INVALID = [
    ("{{ prodct_name }}", ["line 1, column 4", "unknown variable `prodct_name`", "did you mean `product_name`?"]),
    ("Hello\n  {{ city }} {{ prise }}", ["line 2, column 17", "did you mean `price`?"]),
    ("{{ row['Product Nme'] }}", ["line 1, column 8", "unknown column `Product Nme`",
                                  'did you mean `row["Product Name"]`?']),
    ("{{ row.citty }}", ["line 1, column 8", "unknown column `citty`", "did you mean `city`?"]),
    ("{{ zzz }}", ["unknown variable `zzz`", "the columns are `product_name`"]),
    ("{{ product_name | uper }}", ["line 1, column 19", "unknown filter `uper`", "did you mean `upper`?"]),
    ("{{ price is numbr }}", ["line 1, column 13", "unknown test `numbr`"]),
    ("{{ product_name }", ["line 1, column 17", "syntax error"]),
    ("{% if price %}\nx", ["line 2", "syntax error", "end of template"]),
    ("ok\n{{ 'abc }}", ["line 2, column 4", "unexpected char"]),
    ("{% for %}", ["line 1, column 8", "syntax error"]),
    ("{{ price | number(50) }}", ["line 1, column 12", "decimals must be a whole number from 0 to 10"]),
    ("{{ city | truncate(-1) }}", ["truncate needs a whole number"]),
    ("{{ created_at | date('%Q') }}", ["unknown directive %Q"]),
    ("{{ city | truncate(1, 2, 3) }}", ["wrong arguments for `truncate`"]),
    ("{{ city | replace('', '-') }}", ["line 1, column 11", "the text to search for in `replace` is empty",
                                       "give the text to replace"]),
    ("{{ city | replace(old='', new='-') }}", ["the text to search for in `replace` is empty"]),
    ("{{ city | attr('x') }}", ["`attr` is not available"]),
    ("{% include 'x.html' %}", ["line 1, column 1", "`{% include %}` is not allowed"]),
    ("{{ city.__class__ }}", ["line 1, column 9", "`__class__` is off limits"]),
    ("x" * (TEMPLATE_MAX_CHARS + 1), ["too long", "50,000"]),
    ("ok\n{{ city ~ '\ud800' }}", ["line 2, column 12", "lone surrogate, U+D800", "type the character again"]),
]


@pytest.mark.parametrize(("source", "fragments"), INVALID)
def test_validation_errors(source: str, fragments: list[str]) -> None:
    report = validate_template(source, COLUMNS)
    assert not report.ok
    message = report.errors[0].message
    for fragment in fragments:
        assert fragment in message, message
    with pytest.raises(TemplateError) as caught:
        compile_template(source, dict.fromkeys(COLUMNS, "text"))
    assert str(caught.value) == message


def test_error_positions_and_suggestion_are_fields() -> None:
    issue = validate_template("{{ city }}\n{{ prodct_name|upper }}", COLUMNS).errors[0]
    assert (issue.severity, issue.line, issue.column) == ("error", 2, 4)
    assert (issue.variable, issue.suggestion) == ("prodct_name", "product_name")
    with pytest.raises(TemplateError) as caught:
        compile_template("{{ city }}\n{{ prodct_name|upper }}", dict.fromkeys(COLUMNS, "text"))
    assert (caught.value.line, caught.value.column) == (2, 4)


def test_local_names_are_not_unknown() -> None:
    source = ("{% set greeting = 'hi' %}{{ greeting }}{% for c in city %}{{ c }}{{ loop.index }}{% endfor %}"
              "{% macro m(x) %}{{ x }}{% endmacro %}{{ m(price) }}{% with y = 1 %}{{ y }}{% endwith %}")
    report = validate_template(source, COLUMNS)
    assert report.ok, report.errors
    assert report.variables == frozenset({"city", "price"})


def test_too_many_variables() -> None:
    columns = [f"c{i}" for i in range(MAX_VARIABLES + 1)]
    report = validate_template("".join(f"{{{{ {c} }}}}" for c in columns), columns)
    assert "at most 100" in report.errors[0].message
    assert validate_template("".join(f"{{{{ {c} }}}}" for c in columns[:-1]), columns).ok


def test_empty_column_warnings() -> None:
    report = validate_template("{{ city }} {{ price }}", COLUMNS, null_counts={"city": 312, "price": 0},
                               row_count=2000)
    assert report.ok
    [warning] = report.warnings
    assert warning.severity == "warning" and warning.variable == "city"
    assert "`city` is empty in 312 of 2,000 rows" in warning.message
    assert (warning.line, warning.column) == (1, 4)
    assert "default" in (warning.suggestion or "")
    no_total = validate_template("{{ city }}", COLUMNS, null_counts={"city": 3}).warnings[0].message
    assert no_total.endswith("`city` is empty in 3 rows")


@pytest.mark.parametrize("source", [
    "{{ city | default('your area') }}",
    "{{ city or 'your area' }}",
    "{% if city %}in {{ city }}{% endif %}",
    "{{ city if city else 'x' }}",
    "{% if city is none %}somewhere{% endif %}",
])
def test_guarded_columns_do_not_warn(source: str) -> None:
    assert validate_template(source, COLUMNS, null_counts={"city": 5}).warnings == ()


# ---- the Dotoro converter -------------------------------------------------------------------

CONVERSIONS = [
    ("Hello {name}!", "Hello {{ name }}!"),
    ("{name|uppercase}", "{{ name | upper }}"),
    ("{name|lowercase}{name|titlecase}{name|capitalize}{name|trim}{name|slug}",
     "{{ name | lower }}{{ name | title }}{{ name | capitalize }}{{ name | trim }}{{ name | slug }}"),
    ("{sale_price|regular_price}", "{{ (sale_price if sale_price is not none else regular_price) }}"),
    ("{sale_price|regular_price|\"Ask us\"}",
     '{{ (sale_price if sale_price is not none else (regular_price if regular_price is not none else "Ask us")) }}'),
    ("{name|truncate:50}", "{{ name | truncate(50) }}"),
    ('{name|truncate:50:"…"}', '{{ name | truncate(50, "…") }}'),
    ("{price|currency:EUR}", '{{ price | currency("EUR") }}'),
    ("{a|b|uppercase}", "{{ (a if a is not none else b) | upper }}"),
    ("{a|uppercase|b}", "{{ (a if a is not none else b) | upper }}"),  # Dotoro: filters after the fallback
    ("{ Product Name }", '{{ row["Product Name"] }}'),
    ("{if}", '{{ row["if"] }}'),
    ("{{literal}}", "{{ '{' }}literal{{ '}' }}"),
    ("a } b", "a } b"),
    ("line1\n{x}", "line1\n{{ x }}"),
    ("{created|date:\"%d %B\"}", '{{ created | date("%d %B") }}'),
    ("{t|replace:\"a\":\"b\"}", '{{ t | replace("a", "b") }}'),
]


@pytest.mark.parametrize(("dotoro", "ours"), CONVERSIONS)
def test_convert_dotoro(dotoro: str, ours: str) -> None:
    assert convert_dotoro(dotoro) == ours


def test_converted_templates_render() -> None:
    source = convert_dotoro("{{Deal}} {name|uppercase} at {sale_price|regular_price|\"?\"} in {Product Name}")
    tmpl = compile_template(source, {"name": "text", "sale_price": "decimal", "regular_price": "decimal",
                                     "Product Name": "text"})
    row = {"name": "shoe", "sale_price": None, "regular_price": 9.5, "Product Name": "x"}
    assert tmpl.render(row) == "{Deal} SHOE at 9.5 in x"


CONVERT_ERRORS = [
    ("{name|shout:3}", ["unknown filter `shout`", "line 1, column 1"]),
    ("ok\nHi {name", ["never closed", "line 2, column 4"]),
    ("{a.{b}", ["never closed"]),
    ("{a.{b.{c.{d.{e.{f.{g}}}}}}}", ["nest more than 5"]),
    ("{}", ["empty placeholder"]),
    ("{a||b}", ["empty part"]),
    ('{a|"x}', ["unclosed quote"]),
]


@pytest.mark.parametrize(("dotoro", "fragments"), CONVERT_ERRORS)
def test_convert_dotoro_errors(dotoro: str, fragments: list[str]) -> None:
    with pytest.raises(TemplateError) as caught:
        convert_dotoro(dotoro)
    for fragment in fragments:
        assert fragment in str(caught.value)


def test_register_filter_is_the_extension_point() -> None:
    from engine.templates import FILTERS, FilterSpec, register_filter

    register_filter(FilterSpec("shout", lambda value: f"{value}!"))
    try:
        tmpl = compile_template("{{ a | shout }}", {"a": "text"})
        assert tmpl.render({"a": "hey"}) == "hey!"
        assert tmpl.sql is None and "`shout` filter" in (tmpl.fallback_reason or "")
    finally:
        del FILTERS["shout"]
        register_filter(FILTERS["upper"])  # rebuilds the environment without `shout`
    assert not validate_template("{{ a | shout }}", ["a"]).ok


# ---- names Jinja reserves read the column of that name on both paths (issue 16 bug 4) -----------

JINJA_NAMES = ["self", "loop", "varargs", "kwargs", "caller", "range", "namespace", "dict", "lipsum", "cycler",
               "joiner", "context", "environment"]


@pytest.mark.parametrize("name", JINJA_NAMES)
@pytest.mark.parametrize("shape", ["{{ %s }}", "{{ %s | upper }}!", "{%% for i in [1, 2] %%}{{ %s }}{%% endfor %%}"])
def test_a_column_with_a_name_jinja_reserves_renders_its_value_on_both_paths(name: str, shape: str) -> None:
    import duckdb
    import polars as pl

    from tests.engine.test_templates_support import row_outputs, sql_outputs

    if name == "loop" and "for" in shape:
        return  # inside a loop, `loop` is the loop (Jinja's documented meaning); there is no SQL path to differ
    tmpl = compile_template(shape % name, {name: "text", "other": "text"})
    assert name in tmpl.variables  # the per-row path is given the column
    df = pl.DataFrame({name: ["Nike", None], "other": ["x", "y"]})
    expected = {"{{ %s }}": ["Nike", ""], "{{ %s | upper }}!": ["NIKE!", "!"]}.get(shape, ["NikeNike", ""])
    assert row_outputs(tmpl, df) == expected
    if tmpl.sql is not None:
        assert sql_outputs(duckdb.connect(), tmpl, df) == expected


def test_self_without_such_a_column_is_an_unknown_variable_and_a_local_self_is_kept() -> None:
    with pytest.raises(TemplateError, match="unknown variable `self`"):
        compile_template("{{ self }}", {"a": "text"})
    assert compile_template("{% set self = 'me' %}{{ self }}", {"a": "text"}).render({"a": "x"}) == "me"
