"""GROUP BY transforms: aggregation table, key grouping and order, and bad specs."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest

from engine.errors import EngineError
from engine.rules import Condition
from engine.transforms import (
    OPS,
    Aggregation,
    TransformError,
    TransformSpec,
    canonical_op,
    group_by,
)

DATA = pl.DataFrame({
    "city": ["Paris", None, "Berlin", "", "Paris", "  ", "Berlin", "paris"],
    "price": [10, 20, 30, None, 50, 60, 70, 5],
    "name": ["a", "b", None, "d", "e", " ", "g", "h"],
    "score": [1.5, None, 2.0, 3.0, None, 1.0, 0.5, 4.0],
    "day": [dt.date(2024, 1, d) for d in (5, 1, 3, 2, 4, 6, 7, 8)],
    "vip": [True, False, None, True, True, False, False, True],
})
KEYS = ["Paris", None, "Berlin", "paris"]  # first-seen order; null, '' and '  ' are one group


def _agg(op: str, field: str | None = None, **params: Any) -> list[Any]:
    result = group_by(DATA, TransformSpec(["city"], [Aggregation(op, field, "out", params)]))
    assert result["city"].to_list() == KEYS
    return result["out"].to_list()


@pytest.mark.parametrize(("op", "field", "params", "expected"), [
    ("COUNT", None, {}, [2, 3, 2, 1]),
    ("COUNT", "price", {}, [2, 2, 2, 1]),
    ("COUNT", "name", {}, [2, 2, 1, 1]),  # null and blank text are skipped
    ("COUNT DISTINCT", "vip", {}, [1, 2, 1, 1]),
    ("count_distinct", "price", {}, [2, 2, 2, 1]),
    ("COUNT_IF", None, {"condition": {"field": "price", "operator": "greater_than", "value": 25}}, [1, 1, 2, 0]),
    ("COUNT_IF", None, {"condition": Condition("name", "in", ["a", "B"])}, [1, 1, 0, 0]),
    ("COUNT_IF", None, {"condition": {"logic": "or", "items": [
        {"field": "vip", "operator": "equals", "value": True}, {"field": "score", "operator": "is_empty"}]}},
     [2, 2, 0, 1]),
    ("SUM", "price", {}, [60, 80, 100, 5]),
    ("SUM", "score", {}, [1.5, 4.0, 2.5, 4.0]),
    ("AVG", "price", {}, [30.0, 40.0, 50.0, 5.0]),
    ("AVG", "score", {}, [1.5, 2.0, 1.25, 4.0]),
    ("MIN", "name", {}, ["a", "b", "g", "h"]),
    ("MAX", "price", {}, [50, 60, 70, 5]),
    ("MIN", "day", {}, [dt.date(2024, 1, 4), dt.date(2024, 1, 1), dt.date(2024, 1, 3), dt.date(2024, 1, 8)]),
    ("FIRST", "score", {}, [1.5, 3.0, 2.0, 4.0]),
    ("LAST", "name", {}, ["e", "d", "g", "h"]),
    ("LAST", "score", {}, [1.5, 1.0, 0.5, 4.0]),
    ("CONCAT", "name", {}, ["a, e", "b, d", "g", "h"]),
    ("CONCAT", "price", {"separator": "|"}, ["10|50", "20|60", "30|70", "5"]),
    ("CONCAT", "score", {"separator": " "}, ["1.5", "3.0 1.0", "2.0 0.5", "4.0"]),
    ("CONCAT", "vip", {}, ["True, True", "False, True, False", "False", "True"]),
    ("COLLECT", "price", {}, [[10, 50], [20, 60], [30, 70], [5]]),
    ("COLLECT", "name", {"limit": 1}, [["a"], ["b"], ["g"], ["h"]]),
])
def test_aggregation_table(op: str, field: str | None, params: dict[str, Any], expected: list[Any]) -> None:
    assert _agg(op, field, **params) == expected


def test_every_op_has_a_case() -> None:
    assert set(OPS) == {"COUNT", "COUNT DISTINCT", "COUNT_IF", "SUM", "MIN", "MAX", "AVG", "FIRST", "LAST",
                        "CONCAT", "COLLECT"}


def test_several_keys_and_default_output_names() -> None:
    spec = TransformSpec(["vip", "city"], [Aggregation("COUNT"), Aggregation("SUM", "price")])
    result = group_by(DATA, spec)
    assert result.columns == ["vip", "city", "count", "sum_price"]
    assert result.rows() == [(True, "Paris", 2, 60), (False, None, 2, 80), (None, "Berlin", 1, 30),
                             (True, None, 1, None), (False, "Berlin", 1, 70), (True, "paris", 1, 5)]


def test_numeric_and_date_keys() -> None:
    result = group_by(DATA, TransformSpec(["price"], [Aggregation("COUNT", output="n")]))
    assert result["price"].to_list() == [10, 20, 30, None, 50, 60, 70, 5]
    by_day = group_by(DATA.with_columns(pl.col("day").dt.month().alias("month")),
                      TransformSpec(["month"], [Aggregation("MAX", "day", "last_day")]))
    assert by_day.rows() == [(1, dt.date(2024, 1, 8))]


def test_empty_frame_keeps_the_columns() -> None:
    result = group_by(DATA.head(0), TransformSpec(["city"], [Aggregation("COUNT", output="n"),
                                                             Aggregation("COLLECT", "price")]))
    assert result.columns == ["city", "n", "collect_price"] and result.height == 0


def test_spec_round_trip() -> None:
    spec = TransformSpec(["city"], [Aggregation("COUNT_IF", None, "vips", {"condition": Condition("vip", "equals",
                                                                                                  True)}),
                                    Aggregation("CONCAT", "name", "names", {"separator": "/"})])
    again = TransformSpec.from_dict(spec.to_dict())
    assert group_by(DATA, again).equals(group_by(DATA, spec))


@pytest.mark.parametrize(("spec", "message"), [
    (TransformSpec([], [Aggregation("COUNT")]), "group_by needs at least one column"),
    (TransformSpec("city", [Aggregation("COUNT")]), "group_by needs at least one column"),  # type: ignore[arg-type]
    (TransformSpec(["city"], []), "add at least one aggregation"),
    (TransformSpec(["citty"], [Aggregation("COUNT")]), "group_by uses unknown column 'citty'; did you mean 'city'?"),
    (TransformSpec(["city", "city"], [Aggregation("COUNT")]), "group_by lists 'city' twice"),
    (TransformSpec(["city"], [Aggregation("SUM", "prise")]), "uses unknown column 'prise'; did you mean 'price'?"),
    (TransformSpec(["city"], [Aggregation("COUNT", output="n"), Aggregation("SUM", "price", "n")]),
     "the output name 'n' is used twice"),
    (TransformSpec(["city"], [Aggregation("COUNT", output="city")]), "the output name 'city' is used twice"),
    (TransformSpec(["city"], [Aggregation("SUM", "name")]), "SUM needs a number column, but 'name' holds text"),
    (TransformSpec(["city"], [Aggregation("AVG", "day")]), "AVG needs a number column"),
    (TransformSpec(["city"], [Aggregation("MEDIAN", "price")]), "unknown aggregation 'MEDIAN'"),
    (TransformSpec(["city"], [Aggregation("SUMM", "price")]), "did you mean 'SUM'?"),
    (TransformSpec(["city"], [Aggregation("MIN")]), "MIN needs a field"),
    (TransformSpec(["city"], [Aggregation("COUNT_IF")]), "COUNT_IF needs params.condition"),
    (TransformSpec(["city"], [Aggregation("COUNT_IF", params={"condition": {"field": "x", "operator": "equals",
                                                                          "value": 1}})]),
     "condition 1 uses unknown column 'x'"),
    (TransformSpec(["city"], [Aggregation("COUNT_IF", params={"condition": {"field": "price", "operator": "big",
                                                                          "value": 1}})]),
     "unknown operator 'big'"),
    (TransformSpec(["city"], [Aggregation("CONCAT", "name", params={"separator": 1})]), "separator must be text"),
    (TransformSpec(["city"], [Aggregation("COLLECT", "name", params={"limit": 0})]), "limit must be a whole number"),
    (TransformSpec(["city"], [Aggregation("COLLECT", "name", params={"limt": 3})]), "unknown parameter 'limt'"),
    (TransformSpec(["city"], [Aggregation("COUNT", output="__x")]), "reserved"),
])
def test_bad_specs_fail_before_running(spec: TransformSpec, message: str) -> None:
    with pytest.raises(TransformError) as info:
        group_by(DATA, spec)
    assert message in str(info.value)
    assert isinstance(info.value, EngineError)


def test_malformed_dict_spec() -> None:
    with pytest.raises(TransformError, match="malformed"):
        TransformSpec.from_dict({"group_by": ["city"], "aggregations": [{"field": "price"}]})


@pytest.mark.parametrize(("alias", "canonical"), [("count distinct", "COUNT DISTINCT"), ("Count_If", "COUNT_IF"),
                                                  ("avg", "AVG"), (" collect ", "COLLECT")])
def test_op_aliases(alias: str, canonical: str) -> None:
    assert canonical_op(alias) == canonical


def test_large_frame_is_vectorised() -> None:
    n = 200_000
    frame = pl.DataFrame({"k": [f"k{i % 1000}" for i in range(n)], "v": list(range(n))})
    result = group_by(frame, TransformSpec(["k"], [Aggregation("SUM", "v"), Aggregation("COUNT")]))
    assert result.height == 1000 and result["k"][0] == "k0" and result["count"].sum() == n
