"""Dotoro templates (DOTORO_REFERENCE §1) through the converter: reference input → expected text, on both paths.

Each case converts a Dotoro template, renders it per row and, where the template compiles to SQL,
through DuckDB too; both must print the expected text. Documented differences are named in
engine/templates/convert.py (every date token replaced, bad arguments refused).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import pytest

from engine.templates import TemplateError, compile_template, convert_dotoro
from tests.engine.test_templates_support import frame, row_outputs, sql_outputs

SCHEMA = {"name": "text", "city": "text", "tags": "text", "time": "text", "price": "decimal", "ratio": "decimal",
          "qty": "integer", "sale": "integer", "regular": "integer", "d": "date", "ts": "datetime",
          "iso": "text", "lang": "text", "category.en": "text", "category_de": "text", "a": "text", "b": "text",
          "c": "text"}
BASE: dict[str, Any] = {"name": "hello world", "city": None, "tags": "a,b,c", "time": "10:30", "price": 1234.5,
                        "ratio": 0.156, "qty": 1234567, "sale": None, "regular": 95, "d": dt.date(2024, 1, 15),
                        "ts": dt.datetime(2024, 1, 15, 9, 5, 3), "iso": "2024-01-15", "lang": "en",
                        "category.en": "Shoes", "category_de": "Schuhe", "a": None, "b": "bee", "c": "sea"}

# (Dotoro template, row changes, expected text)
REFERENCE: list[tuple[str, dict[str, Any], str]] = [
    ("{name}", {}, "hello world"),
    ("{ name }", {}, "hello world"),  # the name is trimmed
    ("{name|uppercase}", {}, "HELLO WORLD"),
    ("{name|lowercase}", {"name": "HeLLo"}, "hello"),
    ("{name|capitalize}", {"name": "hello WORLD"}, "Hello world"),
    ("{name|titlecase}", {"name": "hello big world"}, "Hello Big World"),
    ("{name|trim}", {"name": "  x  "}, "x"),
    ("{name|trim|uppercase|truncate:5}", {"name": "  hello world "}, "HELLO..."),  # a chain, left to right
    # truncate:N[:suffix]: slice(0, N).trimEnd() + suffix (default "..."), suffix not counted in N
    ("{name|truncate:8}", {}, "hello wo..."),
    ("{name|truncate:6}", {}, "hello..."),
    ("{name|truncate:50}", {}, "hello world"),
    ("{name|truncate:0}", {}, "..."),
    ("{name|truncate:5:…}", {}, "hello…"),
    ('{name|truncate:5:" [more]"}', {}, "hello [more]"),
    ("{name|truncate: 5}", {}, "hello..."),  # a number argument may carry spaces
    ("{name|truncate}", {}, "hello world"),  # no length: unchanged
    ("{price|currency}", {}, "$1,234.50"),
    ("{price|currency:EUR}", {}, "€1,234.50"),
    ("{price|currency:gbp}", {}, "£1,234.50"),
    ("{qty|number}", {}, "1,234,567"),
    ("{price|number:2}", {}, "1,234.50"),
    ("{ratio|percent}", {}, "15.6%"),
    # format:PATTERN on dates (every token; `[text]` literal)
    ("{d|format:YYYY-MM-DD}", {}, "2024-01-15"),
    ("{d|format:DD/MM/YYYY}", {}, "15/01/2024"),
    ("{d|format:MM/DD/YY}", {}, "01/15/24"),
    ("{d|format:MMM D, YYYY}", {}, "Jan 15, 2024"),
    ("{d|format:MMMM D}", {"d": dt.date(2024, 3, 5)}, "March 5"),
    ("{d|format:D.M.YYYY}", {"d": dt.date(2024, 3, 5)}, "5.3.2024"),
    ("{d|format:dddd, MMM D}", {}, "Monday, Jan 15"),
    ("{d|format:ddd}", {}, "Mon"),
    ("{d|format:[Week of] MMM D}", {}, "Week of Jan 15"),
    ("{d|format:YYYY 100%}", {}, "2024 100%"),
    ("{ts|format:YYYY-MM-DD HH:mm:ss}", {}, "2024-01-15 09:05:03"),
    ("{ts|format:H:m:s}", {}, "9:5:3"),
    ("{ts|format:h:mm A}", {"ts": dt.datetime(2024, 1, 15, 21, 5)}, "9:05 PM"),
    ("{ts|format:hh A}", {"ts": dt.datetime(2024, 1, 15, 0, 5)}, "12 AM"),
    ('{ts|format:"HH:mm"}', {}, "09:05"),
    ("{iso|format:DD/MM/YYYY}", {}, "15/01/2024"),  # ISO text is parsed (per row)
    ("{name|format:YYYY}", {}, "hello world"),  # not a date: unchanged
    ("{d|format}", {}, "2024-01-15"),  # no pattern: unchanged
    ("{d|format:YYYY}", {"d": None}, ""),
    ("{name|slug}", {"name": "Hello World!"}, "hello-world"),
    # replace:search[:repl]: every occurrence; no repl removes; unquoted text as written
    ("{name|replace:o:0}", {}, "hell0 w0rld"),
    ("{name|replace:o}", {}, "hell wrld"),
    ("{name|replace:o:}", {}, "hell wrld"),
    ("{name|replace: :-}", {}, "hello-world"),
    ("{tags|replace:,: / }", {}, "a /b /c"),  # a part's trailing spaces are trimmed …
    ('{tags|replace:,:" / "}', {}, "a / b / c"),  # … quotes keep them
    ("{tags|replace:,}", {}, "abc"),
    ("{name|replace:don't:do not}", {"name": "don't stop"}, "do not stop"),
    ('{time|replace:":":"h"}', {}, "10h30"),  # quoted arguments may hold a colon
    ("{time|replace:':':' h '}", {}, "10 h 30"),
    ("{price|replace:.:,}", {"price": 9.5}, "9,5"),
    ("{name|replace:l:L:extra}", {}, "heLLo worLd"),  # extra arguments are ignored
    ("{name|uppercase:extra}", {}, "HELLO WORLD"),
    # default:text applies to an empty value
    ("{city|default:Anywhere}", {}, "Anywhere"),
    ("{city|default:Anywhere}", {"city": "Rome"}, "Rome"),
    ("{city|default:Open: 9am}", {}, "Open: 9am"),
    ("{city|default}", {}, ""),
    # fallbacks: a part that is no filter is a column used when the value is missing; the last one wins
    ("{sale|regular}", {}, "95"),
    ("{sale|regular}", {"sale": 0}, "0"),  # 0 is a value, not missing
    ("{a|b|uppercase}", {}, "BEE"),
    ("{a|uppercase|b}", {}, "BEE"),  # filters apply to the value the fallback gave
    ("{a|b|c}", {}, "SEA".lower()),
    ("{a|b}", {"a": ""}, ""),  # '' is a value (Dotoro: only null and undefined are missing)
    ('{city|"your area"}', {}, "your area"),
    # dynamic keys and escapes
    ("{category.{lang}}", {}, "Shoes"),
    ("{category.{lang}}", {"lang": "EN"}, "Shoes"),  # ingest lowercased the header; the key is matched the same way
    ("{category.{lang}}", {"lang": "de"}, "Schuhe"),  # header category.de became category_de at ingest
    ("{category.{lang}}", {"lang": "fr"}, ""),
    ("{category.{lang|lowercase}|uppercase}", {"lang": "En"}, "SHOES"),
    ("Use {{variable}} syntax", {}, "Use {variable} syntax"),
    ("$5 off {name}", {}, "$5 off hello world"),
]


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    return duckdb.connect()


@pytest.mark.parametrize(("dotoro", "changes", "expected"), REFERENCE)
def test_reference_templates_render_the_same_on_both_paths(con: duckdb.DuckDBPyConnection, dotoro: str,
                                                           changes: dict[str, Any], expected: str) -> None:
    tmpl = compile_template(convert_dotoro(dotoro), SCHEMA)
    df = frame([{**BASE, **changes}], SCHEMA)
    assert row_outputs(tmpl, df) == [expected]
    if tmpl.sql is not None:
        assert sql_outputs(con, tmpl, df) == [expected]


@pytest.mark.parametrize("dotoro", ["{d|format:YYYY-MM-DD}", "{ts|format:MMM D, YYYY h:mm A}", "{d|format:dddd}",
                                    "{name|replace:o}", "{name|truncate:5:…}", "{a|b|uppercase}"])
def test_these_compile_into_the_plan(dotoro: str) -> None:
    tmpl = compile_template(convert_dotoro(dotoro), SCHEMA)
    assert tmpl.sql is not None, tmpl.fallback_reason


def test_a_date_held_as_text_renders_per_row_and_says_why() -> None:
    tmpl = compile_template(convert_dotoro("{iso|format:MMM D}"), SCHEMA)
    assert tmpl.sql is None and "date" in (tmpl.fallback_reason or "")
    assert tmpl.render({**BASE}) == "Jan 15"


@pytest.mark.parametrize(("dotoro", "ours"), [
    ("{d|format:MMM D, YYYY}", '{{ d | date("%b %-d, %Y") }}'),
    ("{d|format:[at] HH:mm}", '{{ d | date("at %H:%M") }}'),
    ("{name|replace:o}", '{{ name | replace("o", "") }}'),
    ("{name|truncate}", "{{ name }}"),
    ("{name|truncate:50}", "{{ name | truncate(50) }}"),
    ("[[Buy|Get]] {name} [[now|today]]", "[[Buy|Get]] {{ name }} [[now|today]]"),  # inline variations pass through
    ("[[{a}|{b}]]", "[[{{ a }}|{{ b }}]]"),
    ("{category.{lang}}", '{{ (row | lookup("category." ~ (lang))) }}'),
])
def test_conversion_text(dotoro: str, ours: str) -> None:
    assert convert_dotoro(dotoro) == ours


@pytest.mark.parametrize(("dotoro", "fragment"), [
    ("{name|truncate:-5}", "must be a whole number"),
    ("{name|truncate:abc}", "must be a whole number"),
    ("{name|truncate:5.5}", "must be a whole number"),
    ("{price|number:x}", "must be a whole number"),
    ("{price|number:99}", "decimals must be"),
    ("{name|replace::x}", "replace needs the text to search for"),
    ("{name|replace}", "replace needs the text to search for"),
    ("{name|replace:'s:x}", "unclosed quote"),
    ("{name|shout:3}", "unknown filter `shout`"),
])
def test_bad_arguments_are_refused_with_the_placeholder(dotoro: str, fragment: str) -> None:
    with pytest.raises(TemplateError) as caught:
        convert_dotoro("ok " + dotoro)
    assert fragment in str(caught.value) and "column 4" in str(caught.value)
