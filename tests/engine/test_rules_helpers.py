"""Shared helpers for the rules tests: run a rule set both ways and insist they agree."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import Any

import duckdb
import pyarrow as pa

from engine.rules import (
    Action,
    Condition,
    ConditionGroup,
    Rule,
    RuleOutcome,
    apply_rules,
    compile_rules,
    prepare_rules,
)

ARROW_TYPES = {
    "integer": pa.int64(), "decimal": pa.float64(), "boolean": pa.bool_(), "date": pa.date32(),
    "datetime": pa.timestamp("us"), "url": pa.string(), "email": pa.string(), "text": pa.string(),
}
SCHEMA = {"name": "text", "price": "integer", "cost": "decimal", "city": "text", "active": "boolean",
          "launch": "date", "seen": "datetime", "link": "url"}
BASE_ROW: dict[str, Any] = {"name": "Shoe 42", "price": 150, "cost": 9.5, "city": "Paris", "active": True,
                            "launch": dt.date(2024, 5, 1), "seen": dt.datetime(2024, 5, 1, 10, 0), "link": None}


def table(rows: Sequence[Mapping[str, Any]], schema: Mapping[str, str]) -> pa.Table:
    """An Arrow table with one typed column per schema entry."""
    return pa.table({c: pa.array([r.get(c) for r in rows], type=ARROW_TYPES[k]) for c, k in schema.items()})


def same(a: Any, b: Any) -> bool:
    """Equality that tells -0.0 from 0.0 and treats NaN as equal to NaN."""
    if isinstance(a, float) and isinstance(b, float):
        return repr(a) == repr(b)
    return type(a) is type(b) and a == b if a is not None and b is not None else a is b


def run_both(rules: Sequence[Rule], rows: Sequence[Mapping[str, Any]], schema: Mapping[str, str] = SCHEMA,
             lookups: Mapping[str, Mapping[str, str]] | None = None,
             con: duckdb.DuckDBPyConnection | None = None) -> list[RuleOutcome]:
    """Apply per row and compiled; assert every row agrees; return the per-row outcomes."""
    compiled = compile_rules(rules, schema, lookups)
    own = con is None
    con = con or duckdb.connect()
    try:
        con.register("__src", table(rows, schema))
        result = con.execute(compiled.select_sql("__src"))
        names = [d[0] for d in result.description]
        sql_rows = [dict(zip(names, values)) for values in result.fetchall()]
        con.unregister("__src")
    finally:
        if own:
            con.close()
    assert len(sql_rows) == len(rows)
    outcomes = []
    prepared = prepare_rules(rules, schema, lookups)
    for index, (row, got) in enumerate(zip(rows, sql_rows)):
        out = prepared.apply(row) if index else apply_rules(rules, row, schema=schema, lookups=lookups)
        expected = dict(out.row)
        expected["__skipped"] = out.skipped
        expected["__tags"] = out.tags
        expected["__groups"] = out.groups
        for column in compiled.target_columns:
            expected[column] = out.targeting.get(column.removeprefix("__target_"))
        expected["__rules_fired"] = out.fired
        assert list(got) == list(expected), f"row {index}: columns differ"
        diffs = {c: (expected[c], got[c]) for c in expected if not same(expected[c], got[c])}
        assert not diffs, f"row {index} {row!r}: per-row vs SQL differ: {diffs}\n{compiled.explain()}"
        outcomes.append(out)
    return outcomes


def one_rule(*actions: Action, conditions: ConditionGroup | None = None, **kwargs: Any) -> Rule:
    """A single enabled rule."""
    return Rule(kwargs.pop("id", "r1"), kwargs.pop("name", "Rule one"), conditions=conditions or ConditionGroup(),
                actions=list(actions), **kwargs)


def condition_matches(condition: Condition, value: Any, kind: str) -> bool:
    """Whether `condition` matches a one-column row, checked both ways."""
    rule = one_rule(Action("add_tag", {"tag": "hit"}), conditions=ConditionGroup("and", [condition]))
    (out,) = run_both([rule], [{condition.field: value}], {condition.field: kind})
    return out.tags == ["hit"]


def is_nan(value: Any) -> bool:
    """True for float NaN."""
    return isinstance(value, float) and math.isnan(value)
