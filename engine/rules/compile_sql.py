"""Compile a rule set to one DuckDB SELECT that gives exactly the per-row result.

Shape of the query: a first projection converts written columns (type rule), adds the
metadata columns and evaluates every rule's conditions on the original columns as
`__m_<n>` booleans; then each action becomes an assignment
`CASE WHEN __m_<n> AND NOT __skipped THEN <new value> ELSE <column> END`, and
assignments that do not depend on each other share one `SELECT * REPLACE (...)` layer.
List columns (tags, groups, rules fired) are not rebuilt layer after layer (DuckDB's CASE
over lists grows badly): each add/remove records a boolean "fired" column, and the final
projection builds every list once from those.
Output: every column of the source (columns of the schema converted by the type rule;
others, such as a `__row` index, passed through unchanged), then new columns, then
`__skipped`, `__tags`, `__groups`, one `__target_<key>` per targeting key any rule sets,
and `__rules_fired` (rule ids, in firing order).

Lookups with more than 32 pairs LEFT JOIN their pairs instead of scanning a MAP per row;
joins do not keep row order, so such queries number the source rows (`row_number() OVER ()`)
and end with ORDER BY that number (the query is then blocking rather than streaming).

Fallback: when a template value is outside the SQL subset, `compile_rules` raises
`NotCompilable`; run the whole rule set per row with `prepare_rules(...).apply`.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import duckdb

from engine.rules.actions import TARGET_PREFIX, Join, ListEvent, SqlContext
from engine.rules.errors import NotCompilable, RuleError
from engine.rules.model import ordered
from engine.rules.operators import sql_cell
from engine.rules.plan import (
    PreparedCondition,
    PreparedGroup,
    RulesInput,
    check_schema,
    prepare_conditions,
    prepare_plan,
    validate_rules,
)
from engine.rules.values import quote_ident, sql_coerce, sql_str, sql_type
from engine.templates.sql_aliases import alias_table, case_aliases, fold

_META_INIT = (("__skipped", "false"), ("__tags", "CAST([] AS VARCHAR[])"), ("__groups", "CAST([] AS VARCHAR[])"))


@dataclass(frozen=True)
class _Step:
    column: str
    expr: str
    reads: frozenset[str] | None
    join: Join | None = None


@dataclass(frozen=True)
class RulesSQL:
    """A compiled rule set; `select_sql(source)` is the query over a table, view or subquery."""

    output_schema: dict[str, str]
    target_columns: tuple[str, ...]
    _first: tuple[str, ...]
    _layers: tuple[tuple[_Step, ...], ...]
    _final: tuple[str, ...]
    _ordered: bool = False  # a layer joins: number the rows first and restore their order
    aliases: Mapping[str, str] = dataclasses.field(default_factory=dict)
    """Columns the SQL reads and writes under another name (engine.templates.sql_aliases): rename the
    source's columns so (`alias_table`) before running it, and read its output under the same names."""

    def select_sql(self, source: str) -> str:
        """The SELECT over `source` (inserted verbatim after FROM)."""
        sql = f"SELECT {', '.join(self._first)} FROM {source}"
        for number, layer in enumerate(self._layers, start=1):
            replaced = ", ".join(f"{step.expr} AS {quote_ident(self.aliases.get(step.column, step.column))}"
                                 for step in layer)
            join = layer[0].join
            if join is None:
                sql = f"SELECT * REPLACE ({replaced}) FROM ({sql}) AS __layer{number}"
            else:
                sql = (f"SELECT * EXCLUDE ({', '.join(join.columns)}) REPLACE ({replaced}) "
                       f"FROM ({sql}) AS __layer{number} LEFT JOIN {join.relation} ON {join.on}")
        return f"SELECT {', '.join(self._final)} FROM ({sql}) AS __rules" + (
            " ORDER BY __rules_row" if self._ordered else "")

    def explain(self) -> str:
        """The query over a placeholder source, for a "show SQL" panel."""
        return self.select_sql("source")


def group_sql(group: PreparedGroup, ident: Callable[[str], str] = quote_ident) -> str:
    """A non-NULL boolean SQL expression for a prepared condition group (`ident`: a column's SQL name)."""
    if not group.items:
        return "true"
    joiner = " AND " if group.logic == "and" else " OR "
    return "(" + joiner.join(_item_sql(item, ident) for item in group.items) + ")"


def _item_sql(item: PreparedCondition | PreparedGroup, ident: Callable[[str], str]) -> str:
    if isinstance(item, PreparedGroup):
        return group_sql(item, ident)
    cell = sql_cell(ident(item.condition.field), item.kind)
    return item.spec.to_sql(cell, item.value, item.condition.case_sensitive)


def compile_rules(rules: RulesInput, schema: Mapping[str, str],
                  lookups: Mapping[str, Mapping[str, str]] | None = None) -> RulesSQL:
    """Compile to DuckDB SQL; raises RuleError for invalid rules, NotCompilable for the fallback."""
    plan = prepare_plan(rules, schema, lookups or {})
    aliases = case_aliases(plan.kinds)

    def ident(column: str) -> str:
        return quote_ident(aliases.get(column, column))

    names = itertools.count(1)
    ctx = SqlContext(ident, plan.kinds, lambda prefix: f"{prefix}_{next(names)}")
    flags: list[str] = []
    steps: list[_Step] = []
    targets: list[str] = []
    events: list[tuple[ListEvent, str]] = []  # with the boolean column recording that it fired

    def record(event: ListEvent, flag: str) -> None:
        column = f"__e_{len(events) + 1}"
        events.append((event, column))
        steps.append(_Step(column, f"({flag} AND NOT __skipped)", frozenset({flag, "__skipped"})))

    for number, prepared in enumerate(plan.prepared.values(), start=1):
        rule, flag = prepared.rule, f"__m_{number}"
        flags.append(f"{group_sql(prepared.group, ident)} AS {flag}")
        record(ListEvent("__rules_fired", "add", rule.id), flag)
        for index, (action, runnable) in enumerate(prepared.actions, start=1):
            try:
                outputs = runnable.sql(ctx)
            except NotCompilable as exc:
                raise NotCompilable(f"Rule {rule.name!r}, action {index} ({action.type}): {exc.message}",
                                    rule_id=rule.id, rule_name=rule.name) from None
            for a in outputs:
                if isinstance(a, ListEvent):
                    record(a, flag)
                    continue
                if a.column.startswith(TARGET_PREFIX) and a.column not in targets:
                    targets.append(a.column)
                column = ident(a.column)
                reads = None if a.reads is None else a.reads | {flag, "__skipped", a.column}
                guard = f"{flag} AND NOT __skipped"
                steps.append(_Step(a.column, f"CASE WHEN {guard} THEN {a.expr} ELSE {column} END", reads, a.join))
    converted = [f"{sql_coerce(ident(c), plan.schema[c], k)} AS {ident(c)}"
                 for c, k in plan.kinds.items() if c in plan.schema and plan.schema[c] != k]
    first = ["*" + (f" REPLACE ({', '.join(converted)})" if converted else "")]
    first += [f"CAST(NULL AS {sql_type(k)}) AS {ident(c)}" for c, k in plan.kinds.items() if c not in plan.schema]
    first += [f"{init} AS {name}" for name, init in _META_INIT]
    first += [f"CAST(NULL AS VARCHAR) AS {quote_ident(t)}" for t in targets]
    first += ["CAST([] AS VARCHAR[]) AS __rules_fired", *flags, *(f"false AS {column}" for _, column in events)]
    hidden = [f"__m_{n}" for n in range(1, len(flags) + 1)] + [column for _, column in events]
    ordered_rows = any(step.join is not None for step in steps)
    if ordered_rows:  # joins do not keep row order; an empty OVER () numbers rows in source order
        first.append("row_number() OVER () AS __rules_row")
        hidden.append("__rules_row")
    lists = [f"{_list_sql(events, name)} AS {name}" for name in ("__tags", "__groups", "__rules_fired")
             if any(event.list == name for event, _ in events)]
    final = "*" + (f" EXCLUDE ({', '.join(hidden)})" if hidden else "") + (
        f" REPLACE ({', '.join(lists)})" if lists else "")
    return RulesSQL(dict(plan.kinds), tuple(targets), tuple(first), _layers(steps), (final,), ordered_rows,
                    aliases)


def _list_sql(events: list[tuple[ListEvent, str]], name: str) -> str:
    """The final value of a list column from the events that fired, as the per-row path builds it.

    Values keep the order of the add that inserted them; an add inserts when the value is
    absent (no earlier fired add without a fired remove in between), and the value stays
    when no remove fires after it. Each add event thus gets a boolean mask over the fired
    columns, and `list_where` keeps the values whose mask holds.
    """
    mine = [(index, event, column) for index, (event, column) in enumerate(events) if event.list == name]
    values, masks = [], []
    for j, event, column in mine:
        if event.op != "add":
            continue
        same = [(i, e.op, c) for i, e, c in mine if e.value == event.value]
        removes = [(i, c) for i, op, c in same if op == "remove"]
        terms = [column]
        for a, _, earlier in (x for x in same if x[1] == "add" and x[0] < j):
            between = [c for r, c in removes if a < r < j]
            terms.append(f"NOT ({earlier}" + "".join(f" AND NOT {c}" for c in between) + ")")
        terms += [f"NOT {c}" for r, c in removes if r > j]
        values.append(sql_str(event.value))
        masks.append("(" + " AND ".join(terms) + ")")
    if not values:
        return "CAST([] AS VARCHAR[])"
    return f"list_where([{', '.join(values)}], [{', '.join(masks)}])"


def _layers(steps: list[_Step]) -> tuple[tuple[_Step, ...], ...]:
    """Group steps greedily: a layer never reads or rewrites a column it writes."""
    layers: list[list[_Step]] = []
    written: set[str] = set()
    for step in steps:
        fits = layers and step.join is None and layers[-1][0].join is None and step.column not in written and (
            (step.reads is not None and not step.reads & written) or not written)
        if not fits:
            layers.append([])
            written = set()
        layers[-1].append(step)
        written.add(step.column)
    return tuple(tuple(layer) for layer in layers)


def rule_match_counts(rules: RulesInput, data: Any, schema: Mapping[str, str], *,
                      source: str | None = None) -> dict[str, int]:
    """How many rows each rule's conditions match (disabled rules too), for "Test on data".

    `data`: a polars DataFrame, a pyarrow Table, a DuckDB relation, or a DuckDB connection
    together with `source` (a table, view or subquery). Skips and priorities are ignored:
    this counts condition matches on the original rows.
    """
    rule_list = validate_rules(rules, schema)
    schema = check_schema(schema)
    rule_order = ordered(rule_list)
    if not rule_order:
        return {}
    aliases = case_aliases(schema)

    def ident(column: str) -> str:
        return quote_ident(aliases.get(column, column))

    counts = ", ".join(f"count_if({group_sql(prepare_conditions(rule, schema), ident)})" for rule in rule_order)

    def sql(source: str) -> str:
        return f"SELECT {counts} FROM {source}"

    if aliases and isinstance(data, (duckdb.DuckDBPyConnection, duckdb.DuckDBPyRelation)):
        other = next(iter(aliases))
        first = next(n for n in schema if fold(n) == fold(other))
        raise RuleError(f"columns {first!r} and {other!r} differ only in letter case, which a DuckDB table cannot "
                        "hold; pass the data as a polars DataFrame or an Arrow table", field=other)
    if isinstance(data, duckdb.DuckDBPyConnection):
        if source is None:
            raise RuleError("rule_match_counts needs `source` when given a DuckDB connection")
        row = data.execute(sql(source)).fetchall()[0]
    elif isinstance(data, duckdb.DuckDBPyRelation):
        relation = data.query("__rules_data", sql("__rules_data"))
        assert relation is not None
        row = relation.fetchall()[0]
    else:
        con = duckdb.connect()
        try:
            con.register("__rules_data", alias_table(data, aliases))
            row = con.execute(sql("__rules_data")).fetchall()[0]
        finally:
            con.close()
    return {rule.id: int(count or 0) for rule, count in zip(rule_order, row)}
