"""The Jinja2 environment templates run in: an immutable sandbox with caps on work, size and reach.

Build it with `template_environment()` (cached); there is no module-level environment.
Templates are rewritten before code generation (`harden`) so that every loop counts its
steps, every comparison is null-safe and `~` joins nulls as '' — the per-row meaning the
SQL path reproduces.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any, Self

from jinja2 import StrictUndefined, nodes
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from jinja2.visitor import NodeTransformer

from engine.templates.errors import TemplateError
from engine.templates.limits import (
    MAX_INT_BITS,
    MAX_RANGE_ITEMS,
    MAX_STEPS,
    refuse_big,
    weight,
)
from engine.templates.registry import jinja_filter_table
from engine.templates.sql_compare import py_compare

_STEPS: contextvars.ContextVar[list[int]] = contextvars.ContextVar("dotoro_template_steps")

BLOCKED_ATTRIBUTES = frozenset({"format", "format_map", "mro", "translate", "maketrans", "encode",
                                "to_bytes", "expandtabs"})
"""Attributes no template may touch, on top of the sandbox's own rules (no `_names`)."""

_WIDTH_METHODS = frozenset({"center", "ljust", "rjust", "zfill"})


def tick(count: int = 1) -> None:
    """Count work done by the current render; stop it past MAX_STEPS."""
    box = _STEPS.get(None)
    if box is None:
        return
    box[0] += count
    if box[0] > MAX_STEPS:
        raise TemplateError(f"the template does too much work (more than {MAX_STEPS:,} loop steps and calls)")


class StepBudget:
    """`with StepBudget():` around one render gives it a fresh step count."""

    def __enter__(self) -> Self:
        self._token = _STEPS.set([0])
        return self

    def __exit__(self, *exc: object) -> None:
        _STEPS.reset(self._token)


def safe_range(*args: int) -> range:
    """`range()` capped at MAX_RANGE_ITEMS items."""
    try:
        result = range(*args)
        size = len(result)
    except OverflowError:
        size = MAX_RANGE_ITEMS + 1
    if size > MAX_RANGE_ITEMS:
        raise TemplateError(f"range() may hold at most {MAX_RANGE_ITEMS:,} items")
    return result


def steps(iterable: Iterable[Any]) -> Iterator[Any]:
    """Iterate, counting one step per item (wraps every `{% for %}`)."""
    for item in iterable:
        tick()
        yield item


def compare(left: Any, *chain: Any) -> bool:
    """`a < b <= c …` with our null-safe ordering (see sql_compare.py)."""
    for i in range(0, len(chain), 2):
        op, right = chain[i], chain[i + 1]
        if not py_compare(op, left, right):
            return False
        left = right
    return True


def concat(*parts: Any) -> str:
    """`a ~ b`: nulls join as '' (Jinja would print 'None')."""
    refuse_big(sum(weight(p) for p in parts), "`~`")
    return "".join("" if p is None else str(p) for p in parts)


def finalize(value: Any) -> Any:
    """What `{{ value }}` prints: null as ''; a huge list is refused before it is turned into text."""
    if value is None:
        return ""
    if not isinstance(value, str):
        refuse_big(weight(value), "printing this value")
    return value


def _check_binop(op: str, left: Any, right: Any) -> None:
    """Refuse operations whose result would be huge before computing them."""
    seqs = (str, list, tuple)
    if op == "%" and isinstance(left, str):
        raise SecurityError("formatting text with `%` is not allowed; join text with `~`")
    if op == "*":
        for seq, n in ((left, right), (right, left)):
            if isinstance(seq, seqs) and isinstance(n, int):
                refuse_big(weight(seq) * max(n, 0), "`*`")
        if isinstance(left, int) and isinstance(right, int) and left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise TemplateError("a number in the template grows too large")
    elif op == "+" and isinstance(left, seqs) and isinstance(right, seqs):
        refuse_big(weight(left) + weight(right), "`+`")
    elif op == "**" and isinstance(left, (int, float)) and isinstance(right, int):
        if isinstance(left, int) and abs(left) > 1 and left.bit_length() * abs(right) > MAX_INT_BITS:
            raise TemplateError("a number in the template grows too large")
    elif op in ("+", "-") and isinstance(left, int) and isinstance(right, int) and \
            max(left.bit_length(), right.bit_length()) > MAX_INT_BITS:
        raise TemplateError("a number in the template grows too large")


def _check_call(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    owner = getattr(obj, "__self__", None)
    name = getattr(obj, "__name__", "")
    if isinstance(owner, (bytes, bytearray)) or (isinstance(owner, (str, int)) and name in BLOCKED_ATTRIBUTES):
        raise SecurityError(f"calling `{name}` is not allowed in templates")
    if not isinstance(owner, str):
        return
    if name in _WIDTH_METHODS and args and isinstance(args[0], int):
        refuse_big(args[0], f"`{name}`")
    elif name == "replace" and len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
        hits = owner.count(args[0]) if args[0] else len(owner) + 1
        refuse_big(len(owner) + hits * (len(args[1]) - len(args[0])), "`replace`")


class TemplateSandbox(ImmutableSandboxedEnvironment):
    """ImmutableSandboxedEnvironment plus step, size and reach limits; plain-text output."""

    intercepted_binops = frozenset({"*", "**", "+", "-", "%", "//", "/"})

    def __init__(self) -> None:
        super().__init__(autoescape=False, undefined=StrictUndefined, finalize=finalize,
                         keep_trailing_newline=True, auto_reload=False)
        self.globals.clear()
        self.globals["range"] = safe_range
        self.filters = jinja_filter_table()
        # reached only through the nodes `harden` adds (nodes.EnvironmentAttribute)
        self.dotoro_steps = steps
        self.dotoro_compare = compare
        self.dotoro_concat = concat

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if attr in BLOCKED_ATTRIBUTES:
            return False
        return super().is_safe_attribute(obj, attr, value)

    def wrap_str_format(self, value: Any) -> None:
        """`str.format`/`format_map` are blocked outright (BLOCKED_ATTRIBUTES), not sandboxed."""

    def call_binop(self, context: Context, operator_: str, left: Any, right: Any) -> Any:
        _check_binop(operator_, left, right)
        return self.binop_table[operator_](left, right)

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        if obj is steps or obj is compare or obj is concat:
            return obj(*args)  # kwargs only ever hold Jinja's _loop_vars/_block_vars
        tick()
        _check_call(obj, args, kwargs)
        if isinstance(getattr(obj, "__self__", None), str) and getattr(obj, "__name__", "") == "join" and args:
            items = list(args[0])  # `sep.join(x)`: measure before building
            refuse_big(sum(weight(i) for i in items) + len(obj.__self__) * len(items), "`join`")
            args = (items, *args[1:])
        return super().call(context, obj, *args, **kwargs)


class _Harden(NodeTransformer):
    """Rewrite loops, comparisons and `~` to go through the sandbox's counted, null-safe helpers.

    Also gives `a if c` an implicit `else none`, so it prints '' instead of failing.
    """

    @staticmethod
    def _helper(name: str, args: list[nodes.Expr], lineno: int) -> nodes.Call:
        return nodes.Call(nodes.EnvironmentAttribute(name, lineno=lineno), args, [], None, None, lineno=lineno)

    def visit_For(self, node: nodes.For) -> nodes.For:
        self.generic_visit(node)
        node.iter = self._helper("dotoro_steps", [node.iter], node.lineno)  # type: ignore[list-item]
        return node

    def visit_Compare(self, node: nodes.Compare) -> nodes.Node:
        self.generic_visit(node)
        args: list[nodes.Expr] = [node.expr]
        for operand in node.ops:
            args += [nodes.Const(operand.op, lineno=node.lineno), operand.expr]
        return self._helper("dotoro_compare", args, node.lineno)

    def visit_CondExpr(self, node: nodes.CondExpr) -> nodes.CondExpr:
        self.generic_visit(node)
        if node.expr2 is None:  # `a if c` prints '' when c is false (not a strict-undefined error)
            node.expr2 = nodes.Const(None, lineno=node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return self._helper("dotoro_concat", list(node.nodes), node.lineno)


def harden(ast: nodes.Template, env: TemplateSandbox) -> nodes.Template:
    """The template tree rewritten for rendering (modifies and returns `ast`)."""
    result = _Harden().visit(ast)
    result.set_environment(env)
    return result


@lru_cache(maxsize=1)
def template_environment() -> TemplateSandbox:
    """The shared sandbox (cached: it holds no per-render state)."""
    return TemplateSandbox()
