"""The calculate parser: what it refuses (never eval), and arithmetic that agrees with DuckDB."""

from __future__ import annotations

import math
import random

import duckdb
import pyarrow as pa
import pytest

from engine.rules import CalcError, parse_expression
from engine.rules.values import quote_ident

KINDS = {"price": "integer", "cost": "decimal", "name": "text", "launch": "date", "unit price": "decimal"}

REFUSED = [
    ("__import__('os')", "only the functions abs, round, min, max can be called"),
    ("__import__('os').system('true')", "only the functions"),
    ("().__class__.__bases__", "attribute access"),
    ("price.real", "attribute access"),
    ("(lambda: 1)()", "only the functions"),
    ("lambda: 1", "lambda is not allowed"),
    ("9**9**9", "`**` (power) is not supported"),
    ("2 ** 3", "`**` (power) is not supported"),
    ("price // 2", "`//` is not supported"),
    ("price << 2", "LShift is not allowed"),
    ("price if price else 0", "if/else is not allowed"),
    ("price and cost", "and/or are not allowed"),
    ("price < cost", "comparisons are not allowed"),
    ("[1, 2]", "List is not allowed"),
    ("{1: 2}", "Dict is not allowed"),
    ("'a'", "'a' is not a number"),
    ("f'{price}'", "JoinedStr is not allowed"),
    ("True + 1", "True is not a number"),
    ("None", "None is not a number"),
    ("1j", "1j is not a number"),
    ("1e400", "too large"),
    ("open('x')", "only the functions"),
    ("eval('1')", "only the functions"),
    ("getattr(price, 'x')", "only the functions"),
    ("round(price, ndigits=2)", "plain positional arguments"),
    ("max(*[price, cost])", "plain positional arguments"),
    ("round(price, 11)", "digits must be a whole number from 0 to 10"),
    ("round(price, cost)", "digits must be a whole number"),
    ("min(price)", "min() takes 2 to 20 arguments"),
    ("abs()", "abs() takes one argument"),
    ("price[0]", 'only row["Column Name"] may use brackets'),
    ("row.name", "attribute access"),
    ("prise + 1", "unknown column 'prise'; did you mean 'price'?"),
    ("launch + 1", "holds date values, which are not numbers"),
    ("price = 1", "not valid arithmetic"),
    ("price; import os", "not valid arithmetic"),
    ("x := 1", "not valid arithmetic"),
    ("", "empty"),
    ("1 + " * 200 + "1", "characters long"),
    ("(" * 201 + "1" + ")" * 201, "not valid arithmetic"),
    ("-" * 450 + "1", "parts"),
    ("1+" * 150 + "1", "more than 200 parts"),
]


@pytest.mark.parametrize(("source", "message"), REFUSED)
def test_refused_expressions(source: str, message: str) -> None:
    with pytest.raises(CalcError) as info:
        parse_expression(source, KINDS)
    assert message in str(info.value)


ROW = {"price": 150, "cost": 9.5, "name": "12", "unit price": 2.0}
VALUES = [
    ("price * 2", 300.0),
    ("price - cost * 2", 131.0),
    ("(price - cost) * 2", 281.0),
    ("price / 4", 37.5),
    ("price / 0", None),
    ("price % 7", 3.0),
    ("-price % 7", -3.0),
    ("price % 0", None),
    ("name * 2", 24.0),
    ('row["unit price"] * 3', 6.0),
    ("round(cost)", 10.0),
    ("round(0.5)", 1.0),
    ("round(-0.5)", -1.0),
    ("round(1.005, 2)", 1.0),  # 1.005 * 100 is 100.49999999999999 in binary
    ("round(price / 7, 3)", 21.429),
    ("min(price, cost)", 9.5),
    ("max(price, cost, 200)", 200.0),
    ("abs(cost - price)", 140.5),
    ("-cost", -9.5),
    ("+cost", 9.5),
    ("0 * -1", 0.0),
    ("1e308 * 10", None),
    ("1e308 * 10 - 1e308 * 10", None),
]


@pytest.mark.parametrize(("source", "expected"), VALUES)
def test_values_per_row_and_in_sql(source: str, expected: float | None) -> None:
    expression = parse_expression(source, KINDS)
    got = expression.evaluate(ROW, KINDS)
    assert repr(got) == repr(expected)
    con = duckdb.connect()
    con.register("t", pa.table({"price": [150], "cost": [9.5], "name": ["12"], "unit price": [2.0]}))
    ((sql_value,),) = con.execute(f"SELECT {expression.to_sql(quote_ident, KINDS)} FROM t").fetchall()
    assert repr(sql_value) == repr(expected)


def test_columns_read() -> None:
    assert parse_expression('price + row["unit price"] * cost', KINDS).columns == {"price", "unit price", "cost"}


def test_random_arithmetic_agrees_with_duckdb() -> None:
    rnd = random.Random(7)
    kinds = {"a": "decimal", "b": "decimal", "c": "integer"}
    specials = [0.0, -0.0, 1e308, -1e308, 5e-324, 0.1, 2.5, -93.05, math.inf, math.nan, None]

    def number() -> float | None:
        return rnd.choice(specials) if rnd.random() < 0.3 else rnd.uniform(-1e6, 1e6)

    def expr(depth: int) -> str:
        if depth == 0 or rnd.random() < 0.3:
            return rnd.choice(["a", "b", "c", "3", "0", "0.5", "1e300", "-2"])
        kind = rnd.randrange(4)
        if kind == 0:
            return f"({expr(depth - 1)} {rnd.choice('+-*/%')} {expr(depth - 1)})"
        if kind == 1:
            return f"{rnd.choice(['min', 'max'])}({expr(depth - 1)}, {expr(depth - 1)})"
        if kind == 2:
            return f"round({expr(depth - 1)}{', ' + str(rnd.randint(0, 10)) if rnd.random() < 0.7 else ''})"
        return f"{rnd.choice(['abs', '-'])}({expr(depth - 1)})"

    rows = [{"a": number(), "b": number(), "c": rnd.choice([None, 0, 7, -3, 2**53 + 1])} for _ in range(60)]
    con = duckdb.connect()
    con.register("t", pa.table({"a": pa.array([r["a"] for r in rows], pa.float64()),
                                "b": pa.array([r["b"] for r in rows], pa.float64()),
                                "c": pa.array([r["c"] for r in rows], pa.int64())}))
    for _ in range(150):
        expression = parse_expression(expr(4), kinds)
        got = [v for (v,) in con.execute(f"SELECT {expression.to_sql(quote_ident, kinds)} FROM t").fetchall()]
        expected = [expression.evaluate(row, kinds) for row in rows]
        assert [repr(v) for v in got] == [repr(v) for v in expected], expression.source
