"""Property: for random rows and random rule sets, compiled DuckDB SQL == apply_rules per row."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.rules import OPERATORS, Action, Condition, ConditionGroup, Rule
from tests.engine.test_rules_helpers import run_both

SCHEMA = {"t": "text", "n": "integer", "d": "decimal", "b": "boolean", "day": "date", "ts": "datetime", "u": "url"}
try:
    from engine.templates import compile_template  # noqa: F401

    HAS_TEMPLATES = True
except ImportError:
    HAS_TEMPLATES = False

TEXTS = ["", " ", "abc", "ABC", "Shoe 42", "100", "100.0", " 7 ", "1e2", "straße", "İstanbul", "ΟΔΟΣ", "a\nb",
         "x,y", "-0", "007", "Ünï", "price: 12.50", "it's", "a\\1", "True", "2024-01-01", "K"]
text_values = st.one_of(st.none(), st.sampled_from(TEXTS), st.text(alphabet="aAbB01 .,-İıßΣ\n", max_size=6))
int_values = st.one_of(st.none(), st.sampled_from([0, 100, -5, 7, 2**53 + 1]), st.integers(-1000, 1000))
float_values = st.one_of(st.none(), st.sampled_from([0.0, -0.0, 100.0, 0.1, 2.5, 1e20, 1e-5, -93.05, 1e308]),
                         st.floats(allow_nan=True, allow_infinity=True))
dates = st.one_of(st.none(), st.dates(dt.date(1900, 1, 1), dt.date(2100, 1, 1)))
stamps = st.one_of(st.none(), st.datetimes(dt.datetime(1900, 1, 1), dt.datetime(2100, 1, 1)),
                   st.sampled_from([dt.datetime(2024, 1, 1, 10, 0), dt.datetime(2024, 1, 1, 10, 0, 0, 5)]))
rows = st.lists(st.fixed_dictionaries({
    "t": text_values, "n": int_values, "d": float_values, "b": st.one_of(st.none(), st.booleans()),
    "day": dates, "ts": stamps, "u": st.sampled_from([None, "", "https://x.com/a?b=1", "HTTPS://X.COM"]),
}), min_size=1, max_size=6)

SCALARS = ["100", 100, "abc", "a", 5, 2.5, "2024-01-01", "true", "1e2", " 7 ", "ß", "i", -1, 0, "", "Shoe"]
PATTERNS = ["^a", "b$", r"\d+", "[a-c]", "colou?r", "(ab|cd)", r"\bx\b", "^$", ".", "İ", "s", r"\s", "[^a-z]",
            "^[0-9]{3}", r"\.", "(?:1|2)0"]


@st.composite
def conditions(draw: st.DrawFn) -> Condition:
    operator = draw(st.sampled_from(sorted(OPERATORS)))
    shape = OPERATORS[operator].value
    if shape == "none":
        value: Any = None
    elif shape == "pattern":
        value = draw(st.sampled_from(PATTERNS))
    elif shape == "list":
        value = draw(st.one_of(st.lists(st.sampled_from(SCALARS), min_size=1, max_size=3),
                               st.sampled_from(["a, b", "100,5", "abc , 7"])))
    else:
        value = draw(st.sampled_from([s for s in SCALARS if s != ""] if operator not in ("equals", "not_equals")
                                     else SCALARS))
    return Condition(draw(st.sampled_from(sorted(SCHEMA))), operator, value, draw(st.booleans()))


groups = st.recursive(
    st.builds(lambda items, logic: ConditionGroup(logic, items), st.lists(conditions(), max_size=3),
              st.sampled_from(["and", "or"])),
    lambda inner: st.builds(lambda items, logic: ConditionGroup(logic, items),
                            st.lists(st.one_of(conditions(), inner), max_size=3), st.sampled_from(["and", "or"])),
    max_leaves=6)

TEMPLATES = ["{{ t }}-{{ n }}", "{{ d }}", "x {{ b }} {{ day }} {{ ts }}", "{{ u or 'none' }}"] if HAS_TEMPLATES else []
literal = st.sampled_from(["X", "", "Ünï", "a'b", "\\1", *TEMPLATES])
writable = st.sampled_from(["t", "n", "d", "u", "new1", "new2"])
actions = st.one_of(
    st.just(Action("skip", {})),
    st.builds(lambda f, v: Action("set_field", {"field": f, "value": v}), writable, literal),
    st.builds(lambda f, m, v: Action("modify_field", {"field": f, "mode": m, "value": v}),
              st.sampled_from(sorted(SCHEMA)), st.sampled_from(["append", "prepend"]), literal),
    st.builds(lambda f, find, v: Action("modify_field", {"field": f, "mode": "replace", "find": find, "value": v}),
              st.sampled_from(["t", "n", "d", "u"]), st.sampled_from(["a", "1", "ß", "0", "."]), literal),
    st.builds(lambda f, find, v: Action("modify_field", {"field": f, "mode": "replace", "find": find, "regex": True,
                                                         "value": v}),
              st.sampled_from(["t", "n", "day"]), st.sampled_from(["[0-9]+", "a|b", "x{2}", r"\s", "^.", "0$"]),
              literal),
    st.builds(lambda g: Action("add_to_group", {"group": g}), st.sampled_from(["g1", "g2"])),
    st.builds(lambda g: Action("remove_from_group", {"group": g}), st.sampled_from(["g1", "g2"])),
    st.builds(lambda t: Action("add_tag", {"tag": t}), st.sampled_from(["t1", "t2"])),
    st.builds(lambda k, v: Action("set_targeting", {"key": k, "value": v}), st.sampled_from(["subreddit", "flair"]),
              literal),
    st.builds(lambda f, e: Action("calculate", {"field": f, "expression": e}),
              st.sampled_from(["calc", "n", "d", "t"]),
              st.sampled_from(["n * 2", "d / n", "n % 3", "round(d, 2)", "round(d)", "min(n, d)", "max(n, d, 1)",
                               "abs(n - d)", "t + 1", "-d", "(n + 1) * (d - 2)", "d * 1e300", "n / 0", "u * 1"])),
    st.builds(lambda f, s, table, default: Action("lookup", {"field": f, "source_field": s, "table": table,
                                                             "default": default}),
              st.sampled_from(["lk", "t", "n"]), st.sampled_from(["t", "n", "b", "d", "u"]),
              st.sampled_from([[["abc", "X"], ["100", "H"], ["", "E"], ["True", "T"]], "data", "big"]),
              st.sampled_from([None, "D"])),
)


@st.composite
def rule_sets(draw: st.DrawFn) -> list[Rule]:
    count = draw(st.integers(1, 5))
    return [Rule(f"r{i}", f"Rule {i}", draw(st.booleans()) or draw(st.booleans()), draw(st.integers(0, 3)),
                 draw(groups), draw(st.lists(actions, min_size=1, max_size=3))) for i in range(count)]


LOOKUPS = {"data": {"abc": "from data", "7": "seven", "nan": "NaN"},
           "big": {**{str(i): f"n{i}" for i in range(-5, 60)}, "abc": "A", "": "empty", "True": "yes", "X": "x"}}


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    yield connection
    connection.close()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(rules=rule_sets(), data=rows)
def test_compiled_sql_equals_per_row(con: duckdb.DuckDBPyConnection, rules: list[Rule],
                                     data: list[dict[str, Any]]) -> None:
    run_both(rules, data, SCHEMA, LOOKUPS, con)
