"""Jinja AST → one DuckDB scalar expression, for the subset whose output it can match byte for byte.

Supported: text, `{{ expressions }}`, columns (`name`, `row["Name"]`), literals, filters that
have an SQL form (with literal arguments), `~`, `or`/`and`/`not`, `a if c else b`,
`{% if %}/{% elif %}/{% else %}` on comparisons (== != < <= > >=, `in [literals]`,
`is none`, `is defined`) and truthiness. Anything else raises `Unsupported`, and the
template renders per row instead. A column whose name differs from an earlier one of the
schema only in letter case is read under its `sql_aliases.case_aliases` name.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from jinja2 import nodes

from engine.templates.limits import MAX_SQL_GROWTH, too_big
from engine.templates.registry import FILTERS
from engine.templates.sql_aliases import case_aliases
from engine.templates.sql_compare import compare, in_list
from engine.templates.sql_filters import const_filter
from engine.templates.sql_guards import bind_all, string_guard
from engine.templates.sql_values import (
    SCHEMA_KINDS,
    Binder,
    Unsupported,
    Val,
    bool_val,
    choose,
    column,
    concat,
    constant,
    holds,
    is_null,
    sql_str,
    sum_sql,
    text,
    text_length,
    text_val,
    truth,
)
from engine.templates.validate import ROW

_CONSTRUCTS = {
    nodes.For: "a `{% for %}` loop", nodes.Assign: "`{% set %}`", nodes.AssignBlock: "`{% set %}`",
    nodes.Macro: "a macro", nodes.CallBlock: "`{% call %}`", nodes.FilterBlock: "a `{% filter %}` block",
    nodes.With: "`{% with %}`", nodes.Block: "a block", nodes.Scope: "a scope",
    nodes.ScopedEvalContextModifier: "`{% autoescape %}`", nodes.Add: "arithmetic (`+`)",
    nodes.Sub: "arithmetic (`-`)", nodes.Mul: "arithmetic (`*`)", nodes.Div: "arithmetic (`/`)",
    nodes.FloorDiv: "arithmetic (`//`)", nodes.Mod: "arithmetic (`%`)", nodes.Pow: "arithmetic (`**`)",
    nodes.Neg: "a negative sign", nodes.Pos: "a plus sign", nodes.Call: "a call", nodes.Slice: "slicing",
    nodes.List: "a list", nodes.Tuple: "a tuple", nodes.Dict: "a dict",
}


MAX_SQL_CHARS = 1_000_000
"""Templates whose SQL would be longer than this render per row instead."""


def _check_growth(ast: nodes.Template) -> None:
    """Keep templates whose `replace` filters lengthen text many-fold off the SQL path.

    DuckDB builds each step for a vector of 2,048 rows at once, so a row's MAX_STRING_CHARS is
    2,048 times that in memory; the per-row render holds one row's. Up to MAX_SQL_GROWTH (the
    product of new/old lengths over the template's replaces) the SQL needs at most that multiple
    of the data it reads.
    """
    growth = 1.0
    for node in ast.find_all(nodes.Filter):
        if node.name != "replace" or len(node.args) < 2:
            continue
        old, new = node.args[0], node.args[1]
        if isinstance(old, nodes.Const) and isinstance(new, nodes.Const) and \
                isinstance(old.value, str) and isinstance(new.value, str) and len(new.value) > len(old.value) > 0:
            growth *= len(new.value) / len(old.value)
    if growth > MAX_SQL_GROWTH:
        raise Unsupported(f"`replace` that lengthens text {growth:,.0f}-fold (more than {MAX_SQL_GROWTH}-fold "
                          "in SQL, which builds 2,048 rows at once)")


def _describe(node: nodes.Node) -> str:
    return _CONSTRUCTS.get(type(node), f"`{type(node).__name__}`")


class SqlCompiler:
    """Compiles one template tree against a schema (column → kind)."""

    def __init__(self, schema: Mapping[str, str], facts: Mapping[str, frozenset[str]] | None = None) -> None:
        self.kinds = {name: SCHEMA_KINDS[kind] for name, kind in schema.items()}
        self.aliases = case_aliases(schema)  # names equal but for case read distinct columns (sql_aliases.py)
        self.facts = facts or {}
        self.binder = Binder(schema)
        self.line: int | None = None

    def _column(self, name: str) -> Val:
        return column(self.aliases.get(name, name), self.kinds[name], self.facts.get(name, frozenset()))

    # ---- statements ----------------------------------------------------------------------

    def template(self, ast: nodes.Template) -> str:
        """The whole template as a non-null VARCHAR expression."""
        _check_growth(ast)
        return self._body(ast.body)

    def _body(self, body: list[nodes.Node]) -> str:
        return concat(self._located(self._statement, node) for node in body)

    def _statement(self, node: nodes.Node) -> str:
        if isinstance(node, nodes.Output):
            return concat(sql_str(child.data) if isinstance(child, nodes.TemplateData)
                          else text(self.expr(child)) for child in node.nodes)
        if isinstance(node, nodes.If):
            whens: list[str] = []
            for test, body in [(node.test, node.body), *((e.test, e.body) for e in node.elif_)]:
                cond = self._condition(test)
                if cond == "FALSE":
                    continue
                if cond == "TRUE":  # later branches and the else can never run
                    if not whens:
                        return self._body(body)
                    return f"(CASE {' '.join(whens)} ELSE {self._body(body)} END)"
                whens.append(f"WHEN {cond} THEN {self._body(body)}")
            otherwise = self._body(node.else_)
            return f"(CASE {' '.join(whens)} ELSE {otherwise} END)" if whens else otherwise
        raise Unsupported(_describe(node))

    def length(self, ast: nodes.Template) -> str:
        """BIGINT: the number of characters `template` prints, built without building the text.

        Stats need the lengths of every value, not the values: a sum of the pieces' lengths
        skips the concatenation, and case filters on ASCII text skip the mapping.
        """
        return self._body_length(ast.body)

    def _body_length(self, body: list[nodes.Node]) -> str:
        return sum_sql(self._located(self._statement_length, node) for node in body)

    def _statement_length(self, node: nodes.Node) -> str:
        if isinstance(node, nodes.Output):
            return sum_sql(str(len(child.data)) if isinstance(child, nodes.TemplateData)
                           else text_length(self.expr(child)) for child in node.nodes)
        if isinstance(node, nodes.If):  # the same branches as _statement
            whens: list[str] = []
            for test, body in [(node.test, node.body), *((e.test, e.body) for e in node.elif_)]:
                cond = self._condition(test)
                if cond == "FALSE":
                    continue
                if cond == "TRUE":
                    if not whens:
                        return self._body_length(body)
                    return f"(CASE {' '.join(whens)} ELSE {self._body_length(body)} END)"
                whens.append(f"WHEN {cond} THEN {self._body_length(body)}")
            otherwise = self._body_length(node.else_)
            return f"(CASE {' '.join(whens)} ELSE {otherwise} END)" if whens else otherwise
        raise Unsupported(_describe(node))

    def _condition(self, node: nodes.Node) -> str:
        return holds(self.expr(node))

    # ---- expressions ---------------------------------------------------------------------

    def expr(self, node: nodes.Node) -> Val:
        """The value of an expression node."""
        return self._located(self._expr, node)

    def _located(self, build: Callable[[Any], Any], node: nodes.Node) -> Any:
        try:
            return build(node)
        except Unsupported as exc:
            if exc.line is None:
                exc.line = node.lineno
            raise

    def _expr(self, node: nodes.Node) -> Val:
        if isinstance(node, nodes.Const):
            return constant(node.value)
        if isinstance(node, nodes.Name):
            if node.name in self.kinds and node.name != ROW:
                return self._column(node.name)
            raise Unsupported(f"`{node.name}`" if node.name != ROW else "`row` as a whole")
        if isinstance(node, (nodes.Getitem, nodes.Getattr)):
            return self._row_item(node)
        if isinstance(node, nodes.Filter):
            return self._filter(node)
        if isinstance(node, nodes.Test):
            return self._test(node)
        if isinstance(node, nodes.Compare):
            return self._compare(node)
        if isinstance(node, nodes.Not):
            v = self.expr(node.node)
            return constant(not v.const) if v.is_const else bool_val(f"(NOT {truth(v)})")
        if isinstance(node, (nodes.Or, nodes.And)):
            left, right = self.expr(node.left), self.expr(node.right)
            is_or = isinstance(node, nodes.Or)
            if left.is_const:
                return left if bool(left.const) == is_or else right
            if left.kind == right.kind == "boolean" and not left.nullable and not right.nullable:
                op = "OR" if is_or else "AND"
                return bool_val(f"({truth(left)} {op} {truth(right)})")
            # `a or b` is a if a else b; `a and b` is b if a else a
            return choose(holds(left), left, right, a_holds=True) if is_or else choose(holds(left), right, left)
        if isinstance(node, nodes.CondExpr):
            test = self.expr(node.test)
            otherwise = self.expr(node.expr2) if node.expr2 is not None else constant(None)
            if test.is_const:
                return self.expr(node.expr1) if test.const else otherwise
            return choose(holds(test), self.expr(node.expr1), otherwise)
        if isinstance(node, (nodes.Neg, nodes.Pos)):  # a signed literal: -5
            v = self.expr(node.node)
            if v.is_const and isinstance(v.const, (int, float)) and not isinstance(v.const, bool):
                return constant(-v.const if isinstance(node, nodes.Neg) else v.const)
            raise Unsupported(_describe(node))
        if isinstance(node, nodes.Concat):
            parts = self._concat_parts(node)
            if all(p.is_const for p in parts):
                return constant("".join("" if p.const is None else str(p.const) for p in parts))
            size = sum_sql(text_length(p) for p in parts)  # a length without the text refuses alike
            return text_val(self._guarded_concat(parts, node.lineno), string_guard(size, size, too_big("`~`"),
                                                                                    node.lineno),
                            frozenset.intersection(*(p.facts for p in parts)))
        raise Unsupported(_describe(node))

    def _concat_parts(self, node: nodes.Concat) -> list[Val]:
        """The parts of `a ~ (b ~ c)` as one list: the inner `~` fails exactly when its part of the outer does."""
        out: list[Val] = []
        for n in node.nodes:
            out += self._concat_parts(n) if isinstance(n, nodes.Concat) else [self.expr(n)]
        return out

    def _guarded_concat(self, parts: list[Val], line: int) -> str:
        """`a ~ b ~ …`, refused past MAX_STRING_CHARS as the per-row `~` refuses it (each part built once)."""
        live = [p for p in parts if not p.is_const]

        def body(bound: list[str]) -> str:
            values = dict(zip(map(id, live), bound, strict=True))
            pieces, sizes = [], []
            for p in parts:
                piece = text(p) if p.is_const else values[id(p)]
                pieces.append(piece)
                sizes.append(text_length(p) if p.is_const or piece == text(p) else f"length({piece})")
            return string_guard(sum_sql(sizes), concat(pieces), too_big("`~`"), line)

        return bind_all(self.binder, [text(p) for p in live], body)

    def _row_item(self, node: nodes.Getitem | nodes.Getattr) -> Val:
        base = node.node
        if isinstance(base, nodes.Name) and base.name == ROW:
            if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
                key = node.arg.value
            elif isinstance(node, nodes.Getattr) and not hasattr(dict, node.attr):
                key = node.attr
            else:
                key = None
            if isinstance(key, str) and key in self.kinds:
                return self._column(key)
        raise Unsupported("indexing" if isinstance(node, nodes.Getitem) else "attribute access")

    def _filter(self, node: nodes.Filter) -> Val:
        spec = FILTERS.get(node.name)
        if spec is None or node.node is None:
            raise Unsupported(f"the `{node.name}` filter")
        if spec.sql is None:
            raise Unsupported(spec.per_row_reason or f"the `{node.name}` filter")
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            raise Unsupported(f"`{node.name}` with *args/**kwargs")
        value = self.expr(node.node)
        args = [self.expr(a) for a in node.args]
        kwargs = {str(k.key): self.expr(k.value) for k in node.kwargs}
        try:
            bound = spec.signature.bind(value, *args, **kwargs)
        except TypeError as exc:
            raise Unsupported(f"`{node.name}` arguments: {exc}") from exc
        bound.apply_defaults()
        params = list(spec.signature.parameters)
        named = {k: (v if isinstance(v, Val) else constant(v)) for k, v in bound.arguments.items()
                 if k != params[0] and spec.signature.parameters[k].kind is not inspect.Parameter.VAR_KEYWORD}
        if value.is_const and all(v.is_const for v in named.values()):
            return const_filter(spec.func, value, named)
        self.line = node.lineno
        return spec.sql(self, value, named)

    def _test(self, node: nodes.Test) -> Val:
        if node.args or node.kwargs or node.dyn_args or node.dyn_kwargs:
            raise Unsupported(f"the `is {node.name}` test with arguments")
        value = self.expr(node.node)
        if node.name == "none":
            return constant(value.const is None) if value.is_const else bool_val(is_null(value))
        if node.name in ("defined", "undefined"):
            return constant(node.name == "defined")
        raise Unsupported(f"the `is {node.name}` test")

    def _compare(self, node: nodes.Compare) -> Val:
        left = self.expr(node.expr)
        if any(operand.op in ("in", "notin") for operand in node.ops):
            operand = node.ops[0]
            if len(node.ops) > 1:
                raise Unsupported("a chained comparison with `in`")
            target = operand.expr
            if isinstance(target, nodes.Const) and isinstance(target.value, (list, tuple)):
                items = list(target.value)
            elif isinstance(target, (nodes.List, nodes.Tuple)) and \
                    all(isinstance(i, nodes.Const) for i in target.items):
                items = [i.value for i in target.items if isinstance(i, nodes.Const)]
            else:
                raise Unsupported("`in` with something other than a list of literals")
            return in_list(left, items, operand.op == "notin")
        parts: list[Val] = []
        for operand in node.ops:
            right = self.expr(operand.expr)
            parts.append(compare(operand.op, left, right))
            left = right
        if any(p.is_const and not p.const for p in parts):
            return constant(False)
        live = [p for p in parts if not p.is_const]
        if not live:
            return constant(True)
        return live[0] if len(live) == 1 else bool_val("(" + " AND ".join(truth(p) for p in live) + ")")


def compile_sql(ast: nodes.Template, schema: Mapping[str, str],
                facts: Mapping[str, frozenset[str]] | None = None) -> tuple[str | None, str | None]:
    """(sql, None) when the whole template compiles, else (None, why it renders per row).

    `facts` (column → sql_values.text_facts of its text) must hold for every row the SQL will
    run on; they let filters leave out branches for text that cannot occur there.
    """
    try:
        sql = str(SqlCompiler(schema, facts).template(ast))  # a plain str, not the compiler's annotated pieces
        if len(sql) > MAX_SQL_CHARS:
            raise Unsupported(f"an expression of {len(sql):,} characters of SQL (at most {MAX_SQL_CHARS:,})")
        return sql, None
    except Unsupported as exc:
        at = f" (line {exc.line})" if exc.line else ""
        return None, f"{exc}{at} has no exact SQL form, so this field renders per row with Jinja2"


def compile_length_sql(ast: nodes.Template, schema: Mapping[str, str]) -> str | None:
    """BIGINT SQL for len() of the template's output (None when the template has no SQL form)."""
    try:
        sql = SqlCompiler(schema).length(ast)
    except Unsupported:
        return None
    return sql if len(sql) <= MAX_SQL_CHARS else None


def never_blank(ast: nodes.Template) -> bool:
    """Does the template always print a character above U+0020 (literal text outside any `if`)?"""
    return any(isinstance(node, nodes.Output) and any(
        isinstance(child, nodes.TemplateData) and any(ch > " " for ch in child.data) for child in node.nodes)
        for node in ast.body)

