"""Operator × input → match, each case checked per row AND in compiled DuckDB SQL."""

from __future__ import annotations

import datetime as dt

import pytest

from engine.rules import OPERATORS, Action, Condition, ConditionGroup, Rule, not_numbers
from engine.rules.operators import ALL_KINDS
from tests.engine.test_rules_helpers import condition_matches

D = dt.date(2024, 5, 1)
TS = dt.datetime(2024, 5, 1, 10, 0)
NAN = float("nan")

CASES = [
    # operator, value, kind, cell, case_sensitive, expected
    ("equals", "100", "text", "100", False, True),
    ("equals", 100, "text", "100", False, True),
    ("equals", 100, "integer", 100, False, True),
    ("equals", "100", "integer", 100, False, True),
    ("equals", "100.0", "integer", 100, False, True),
    ("equals", 100, "text", "100.00", False, True),
    ("equals", "007", "text", "7", False, True),
    ("equals", " 100 ", "integer", 100, False, True),
    ("equals", "1e2", "integer", 100, False, False),  # exponents are text, not numbers
    ("equals", "1e2", "text", "1E2", False, True),  # ...compared as text, case-insensitively
    ("equals", "abc", "text", "ABC", False, True),
    ("equals", "abc", "text", "ABC", True, False),
    ("equals", "", "text", None, False, True),
    ("equals", "", "text", "", False, True),
    ("equals", "x", "text", None, False, False),
    ("equals", "true", "boolean", True, False, True),
    ("equals", True, "boolean", True, False, True),
    ("equals", "false", "boolean", True, False, False),
    ("equals", "2024-05-01", "date", D, False, True),
    ("equals", "2024-05-01 10:00:00", "datetime", TS, False, True),
    ("equals", "2.5", "decimal", 2.5, False, True),
    ("equals", 0.1, "decimal", 0.1, False, True),
    ("equals", "nan", "decimal", NAN, False, True),  # NaN is not a number: compared as text 'nan'
    ("equals", 0, "decimal", -0.0, False, True),
    ("equals", "STRASSE", "text", "straße", False, False),  # folding is lower(), not casefold()
    ("equals", "i", "text", "İ", False, True),  # DuckDB lower('İ') = 'i'
    ("equals", "οδοσ", "text", "ΟΔΟΣ", False, True),  # no final-sigma rule
    ("equals", "a", "url", "A", False, True),
    ("not_equals", "a", "text", None, False, True),
    ("not_equals", 5, "integer", 5, False, False),
    ("not_equals", "5", "text", "5.0", False, False),
    ("contains", "SHOE", "text", "Red shoes", False, True),
    ("contains", "SHOE", "text", "Red shoes", True, False),
    ("contains", "x", "text", None, False, False),
    ("contains", "0", "integer", 105, False, True),
    ("not_contains", "x", "text", None, False, True),
    ("not_contains", "oe", "text", "shoe", False, False),
    ("starts_with", "red", "text", "Red shoes", False, True),
    ("starts_with", "shoes", "text", "Red shoes", False, False),
    ("ends_with", "SHOES", "text", "Red shoes", False, True),
    ("ends_with", ".com", "url", "https://x.com", False, True),
    ("greater_than", 100, "integer", 150, False, True),
    ("greater_than", 100, "integer", 100, False, False),
    ("greater_than", "100", "text", "99", False, False),  # both numbers: 99 < 100
    ("greater_than", "100", "text", "abc", False, False),  # a number compares numbers: 'abc' is not one
    ("greater_than", 100, "text", "N/A", False, False),  # issue 16 bug 3: "N/A" used to match as text
    ("greater_than", 100, "text", "150", False, True),
    ("greater_than", 100, "text", "99.5", False, False),
    ("less_than", 100, "text", "N/A", False, False),
    ("less_than_or_equal", "100", "text", "-", False, False),
    ("greater_than_or_equal", 0, "text", "", False, False),
    ("greater_than", "abc", "text", "abd", False, True),  # a text value still compares text
    ("greater_than", 100, "date", D, False, False),  # a date is not a number
    ("less_than", 100, "url", "https://x.com/1", False, False),
    ("greater_than", 5, "integer", None, False, False),  # blank never compares
    ("greater_than", "2024-01-01", "date", D, False, True),
    ("greater_than", "2024-05-01 09:59:59", "datetime", TS, False, True),
    ("greater_than", "b", "text", "B", False, False),
    ("greater_than", "B", "text", "a", True, True),  # code points: 'a' (97) > 'B' (66)
    ("greater_than", "-5", "decimal", -4.5, False, True),
    ("greater_than", 1, "boolean", True, False, False),  # a number compares numbers: true is not one
    ("less_than", 100, "integer", None, False, False),
    ("less_than", 10, "text", "9", False, True),
    ("less_than", "10", "text", "9a", False, False),
    ("less_than", 0, "decimal", NAN, False, False),  # 'nan' vs '0' as text
    ("greater_than_or_equal", 100, "integer", 100, False, True),
    ("greater_than_or_equal", 100.5, "decimal", 100.4, False, False),
    ("less_than_or_equal", "100", "integer", 100, False, True),
    ("less_than_or_equal", "2024-05-01", "date", D, False, True),
    ("regex", "^sale", "text", "SALE 50%", False, True),
    ("regex", "^sale", "text", "SALE 50%", True, False),
    ("regex", r"\d{3}", "text", "abc123", False, True),
    ("regex", r"\d{3}", "text", "abc12", False, False),
    ("regex", "a$", "text", "a\n", False, False),  # $ is the very end
    ("regex", "a.b", "text", "a\nb", False, False),  # . never matches a newline
    ("regex", r"\bcat\b", "text", "a cat!", False, True),
    ("regex", r"\bcat\b", "text", "concat", False, False),
    ("regex", "colou?r", "text", "COLOR", False, True),
    ("regex", "^$", "text", None, False, True),
    ("regex", "[à-ÿ]", "text", "ÜBER", False, True),
    ("regex", "i", "text", "İ", False, False),  # RE2 folding: İ is not i
    ("regex", "I", "text", "ı", False, False),
    ("regex", "k", "text", "\u212a", False, True),  # Kelvin sign folds to k in both
    ("regex", r"\w+@\w+\.com", "email", "ME@EXAMPLE.COM", False, True),
    ("regex", r"^\d+$", "integer", 42, False, True),
    ("regex", "(red|blue) shoe", "text", "Blue Shoe", False, True),
    ("in", ["a", "b"], "text", "B", False, True),
    ("in", "a, b ,c", "text", "c", False, True),
    ("in", [1, 2, 3], "integer", 2, False, True),
    ("in", ["1", "2"], "integer", 2, False, True),
    ("in", [100], "text", "100.0", False, True),
    ("in", ["x", 5], "text", "X", False, True),
    ("in", ["x"], "text", None, False, False),
    ("in", [""], "text", None, False, True),
    ("in", ["a"], "text", "A", True, False),
    ("not_in", ["a"], "text", "b", False, True),
    ("not_in", ["a"], "text", None, False, True),
    ("not_in", [1, 2], "decimal", 2.0, False, False),
    ("is_empty", None, "text", None, False, True),
    ("is_empty", None, "text", "", False, True),
    ("is_empty", None, "text", " \t\n", False, True),
    ("is_empty", None, "text", "x", False, False),
    ("is_empty", None, "text", "\u00a0", False, False),  # only ASCII whitespace is blank
    ("is_empty", None, "integer", 0, False, False),
    ("is_empty", None, "integer", None, False, True),
    ("is_empty", "", "boolean", False, False, False),
    ("is_not_empty", None, "text", "x", False, True),
    ("is_not_empty", None, "date", None, False, False),
    ("is_not_empty", None, "datetime", TS, False, True),
]


@pytest.mark.parametrize(("operator", "value", "kind", "cell", "case_sensitive", "expected"), CASES)
def test_operator_table(operator: str, value: object, kind: str, cell: object, case_sensitive: bool,
                        expected: bool) -> None:
    condition = Condition("col", operator, value, case_sensitive)
    assert condition_matches(condition, cell, kind) is expected


def test_every_operator_has_a_case() -> None:
    assert {case[0] for case in CASES} == set(OPERATORS)


@pytest.mark.parametrize("name", sorted(OPERATORS))
def test_registry_entries_describe_themselves(name: str) -> None:
    spec = OPERATORS[name]
    assert spec.name == name
    assert spec.label
    assert spec.kinds <= ALL_KINDS and spec.kinds
    assert spec.value in ("none", "scalar", "list", "pattern")


@pytest.mark.parametrize(("condition", "kind", "cells", "expected"), [
    (Condition("c", "greater_than", 100), "text", ["150", "N/A", "", None, "x"], (2, ((2, "N/A"), (5, "x")))),
    (Condition("c", "less_than_or_equal", "7.5"), "url", ["a", "7"], (1, ((1, "a"),))),
    (Condition("c", "greater_than", "abc"), "text", ["N/A"], None),  # a text value compares text
    (Condition("c", "greater_than", 100), "integer", [1, None], None),  # numbers already
    (Condition("c", "equals", 100), "text", ["N/A"], None),  # equals compares text when the cell is not a number
    (Condition("c", "greater_than", 100), "text", ["1", "2"], None),
])
def test_not_numbers_names_the_rows_a_numeric_comparison_passes_over(condition: Condition, kind: str,
                                                                   cells: list, expected: tuple | None) -> None:
    rule = Rule("r", "Pricey", conditions=ConditionGroup("or", [ConditionGroup("and", [condition])]),
                actions=[Action("skip", {})])
    found = not_numbers([rule], {"c": cells}, {"c": kind})
    assert ((found[0].rows, found[0].examples) if found else None) == expected
