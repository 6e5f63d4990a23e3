"""The rules step of a plan: the compiled rules SELECT, a per-row fallback, or a pass-through.

The rules compiler reserves `__`-names and emits only schema columns, so the row index
rides through it under an ordinary-looking alias and is renamed back to `__row` after.
When a rule set cannot become SQL (`NotCompilable`), the rules run per row in Python on
just the rows a query needs (a preview prefix, or the whole table once for stats/bulk)
and the plan reads their output as its source.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from engine.errors import EngineError
from engine.generation.schema import ROW, quote
from engine.rules import (
    NotCompilable,
    PreparedRules,
    Rule,
    compile_rules,
    parse_rules,
    prepare_rules,
)
from engine.templates.sql_aliases import alias_table, case_aliases

__all__ = ["ROW_ALIAS", "SOURCE", "RulesStage", "build_rules_stage"]

SOURCE = "__source"
ROW_ALIAS = "dotoro_row_index_9f3a"
_ARROW = {"integer": pa.int64(), "decimal": pa.float64(), "boolean": pa.bool_(), "date": pa.date32(),
          "datetime": pa.timestamp("us")}


@dataclass
class RulesStage:
    """SQL for the rules step, the column kinds it yields, and its metadata columns."""

    select_sql: str
    output_kinds: dict[str, str]
    meta_columns: list[str] = field(default_factory=list)
    prepared: PreparedRules | None = None  # set when the rules run per row
    fallback_reason: str | None = None
    aliases: dict[str, str] = field(default_factory=dict)  # column → its SQL name (sql_aliases.case_aliases)
    _full: pa.Table | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def registered(self, table: pa.Table, *, whole: bool) -> pa.Table:
        """What the plan registers as "__source": `transform`'s table with its columns under their SQL names."""
        return alias_table(self.transform(table, whole=whole), self.aliases)

    def transform(self, table: pa.Table, *, whole: bool) -> pa.Table:
        """The source as the SQL sees it: unchanged, or the per-row rules' output."""
        if self.prepared is None:
            return table
        if whole:
            with self._lock:
                if self._full is None:
                    self._full = self._apply(self.prepared, table)
                return self._full
        return self._apply(self.prepared, table)

    def _apply(self, prepared: PreparedRules, table: pa.Table) -> pa.Table:
        targets = [m for m in self.meta_columns if m.startswith("__target_")]
        out: dict[str, list[Any]] = {c: [] for c in [ROW, *self.output_kinds, "__skipped", "__tags", "__groups",
                                                     *targets, "__rules_fired"]}
        for row in table.to_pylist():
            index = row.pop(ROW)
            try:
                outcome = prepared.apply(row)
            except EngineError as exc:
                if exc.row is None:
                    exc.row = index
                raise
            out[ROW].append(index)
            for c in self.output_kinds:
                out[c].append(outcome.row.get(c))
            out["__skipped"].append(outcome.skipped)
            out["__tags"].append(list(outcome.tags))
            out["__groups"].append(list(outcome.groups))
            for t in targets:
                out[t].append(outcome.targeting.get(t.removeprefix("__target_")))
            out["__rules_fired"].append(list(outcome.fired))
        arrays = {c: pa.array(v, _ARROW.get(self.output_kinds.get(c, ""))) for c, v in out.items()
                  if c in self.output_kinds}
        return pa.table({
            ROW: pa.array(out[ROW], pa.int64()), **arrays,
            "__skipped": pa.array(out["__skipped"], pa.bool_()),
            "__tags": pa.array(out["__tags"], pa.list_(pa.string())),
            "__groups": pa.array(out["__groups"], pa.list_(pa.string())),
            **{t: pa.array(out[t], pa.string()) for t in targets},
            "__rules_fired": pa.array(out["__rules_fired"], pa.list_(pa.string())),
        })


def _target_keys(rules: list[Rule]) -> list[str]:
    keys: list[str] = []
    for rule in rules:
        for action in rule.actions:
            key = action.params.get("key") if action.type == "set_targeting" else None
            if isinstance(key, str) and f"__target_{key}" not in keys:
                keys.append(f"__target_{key}")
    return keys


def _rules_key(rules: Any) -> str | None:
    """A stable text key for a rule set given as JSON, dicts or Rule objects (None: not cacheable)."""
    try:
        if isinstance(rules, str):
            return rules
        items = rules.rules if hasattr(rules, "rules") else rules
        return json.dumps([r.to_dict() if isinstance(r, Rule) else r for r in items], sort_keys=True)
    except (TypeError, ValueError):
        return None


@functools.lru_cache(maxsize=128)
def _compiled_sql(key: str, kinds: tuple[tuple[str, str], ...]) -> tuple[str, dict[str, str], list[str]]:
    """The compiled rules step for a rule set and schema; raises NotCompilable for the per-row path."""
    return _compile(list(parse_rules(key, schema=dict(kinds))), dict(kinds), None)


def _compile(parsed: list[Rule], kinds: dict[str, str], lookups: Any) -> tuple[str, dict[str, str], list[str]]:
    compiled = compile_rules(parsed, {**kinds, ROW_ALIAS: "integer"}, lookups)
    inner = f"(SELECT * EXCLUDE ({quote(ROW)}), {quote(ROW)} AS {quote(ROW_ALIAS)} FROM {quote(SOURCE)})"
    sql = (f"SELECT * EXCLUDE ({quote(ROW_ALIAS)}), {quote(ROW_ALIAS)} AS {quote(ROW)}\n"
           f"FROM ({compiled.select_sql(inner)})")
    meta = ["__tags", "__groups", *compiled.target_columns, "__rules_fired"]
    out_kinds = {k: v for k, v in compiled.output_schema.items() if k != ROW_ALIAS}
    return sql, out_kinds, meta


def build_rules_stage(rules: Any, kinds: Mapping[str, str], *, lookups: Any = None) -> RulesStage:
    """Compile the rules (if any) against the source columns (cached per rule set and schema)."""
    if not rules:
        return RulesStage(f"SELECT *, false AS {quote('__skipped')} FROM {quote(SOURCE)}", dict(kinds),
                          aliases=case_aliases(kinds))
    if ROW_ALIAS in kinds:
        raise EngineError(f"column {ROW_ALIAS!r} is reserved; rename it", field=ROW_ALIAS)
    key = _rules_key(rules) if lookups is None else None
    try:
        if key is not None:
            sql, out_kinds, meta = _compiled_sql(key, tuple(kinds.items()))
        else:
            sql, out_kinds, meta = _compile(list(parse_rules(rules, schema=dict(kinds))), dict(kinds), lookups)
    except NotCompilable as exc:
        parsed = list(parse_rules(rules, schema=dict(kinds)))
        prepared = prepare_rules(parsed, dict(kinds), lookups)
        meta = ["__tags", "__groups", *_target_keys(parsed), "__rules_fired"]
        return RulesStage(f"SELECT * FROM {quote(SOURCE)}", dict(prepared.output_schema), meta, prepared,
                          exc.message, aliases=case_aliases(prepared.output_schema))
    return RulesStage(sql, dict(out_kinds), list(meta), aliases=case_aliases(out_kinds))
