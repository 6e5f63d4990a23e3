"""The Jinja2 environment templates run in: an immutable sandbox with caps on work, size and reach.

Build it with `template_environment()` (cached); there is no module-level environment.
Templates are rewritten before code generation (`harden`) so that every loop counts its
steps, every comparison is null-safe and `~` joins nulls as '' — the per-row meaning the
SQL path reproduces.
"""

from __future__ import annotations

import contextvars
import functools
import time
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from typing import Any, Self

from jinja2 import StrictUndefined, nodes
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from jinja2.visitor import NodeTransformer

from engine.templates.errors import TemplateError
from engine.templates.filters import EMPTY_REPLACE
from engine.templates.limits import (
    MAX_INT_BITS,
    MAX_RANGE_ITEMS,
    MAX_RENDER_WORK_CHARS,
    MAX_STEPS,
    MAX_STRING_CHARS,
    PREVIEW_SECONDS,
    RENDER_SECONDS,
    refuse_big,
    too_big,
    weight,
)
from engine.templates.registry import jinja_filter_table
from engine.templates.sql_compare import py_compare

_BUDGET: contextvars.ContextVar[_Meter] = contextvars.ContextVar("dotoro_template_budget")

BLOCKED_ATTRIBUTES = frozenset({"format", "format_map", "mro", "translate", "maketrans", "encode",
                                "to_bytes", "expandtabs"})
"""Attributes no template may touch, on top of the sandbox's own rules (no `_names`)."""

_WIDTH_METHODS = frozenset({"center", "ljust", "rjust", "zfill"})


class _Meter:
    """What one render has used so far: steps, characters built, and when it must stop."""

    __slots__ = ("deadline", "limit_note", "steps", "work")

    def __init__(self, deadline: float, limit_note: str) -> None:
        self.steps = 0
        self.work = 0
        self.deadline = deadline
        self.limit_note = limit_note

    def check_clock(self) -> None:
        if time.monotonic() > self.deadline:
            raise TemplateError(self.limit_note)


def _render_note() -> str:
    return (f"the template took longer than {RENDER_SECONDS:g} seconds for one row (the limit for one render); "
            "make it do less work, e.g. fewer loop steps or shorter text")


def preview_note() -> str:
    """The refusal when renders run past a preview's (or an editor check's) shared deadline."""
    return (f"rendering took longer than {PREVIEW_SECONDS:g} seconds in all (the limit for one preview); "
            "make the template do less work per row")


def tick(count: int = 1) -> None:
    """Count work done by the current render; stop it past MAX_STEPS or its deadline."""
    meter = _BUDGET.get(None)
    if meter is None:
        return
    meter.steps += count
    if meter.steps > MAX_STEPS:
        raise TemplateError(f"the template does too much work (more than {MAX_STEPS:,} loop steps and calls, "
                            "the limit for one row)")
    meter.check_clock()


def charge(result: Any) -> Any:
    """Count the characters an operation built against MAX_RENDER_WORK_CHARS (and check the clock)."""
    meter = _BUDGET.get(None)
    if meter is None:
        return result
    size = len(result) if isinstance(result, (str, list, tuple)) else 1
    if size > MAX_STRING_CHARS:
        raise TemplateError(too_big("one step"))
    meter.work += size
    if meter.work > MAX_RENDER_WORK_CHARS:
        raise TemplateError(f"the template builds too much text: more than {MAX_RENDER_WORK_CHARS:,} characters "
                            "in all for one row (the limit for one render); build less text in loops")
    meter.check_clock()
    return result


class RenderBudget:
    """`with RenderBudget():` around one render: fresh counts and a deadline RENDER_SECONDS away.

    The deadline is cooperative: every loop step, call, filter, operator and `~` checks it
    (`tick`/`charge`). A child process per render would cost milliseconds each and could not
    share the compiled template; a Python thread cannot be stopped from outside. Checking in
    the hooks is enough because each operation between two checks is itself bounded (by
    MAX_STRING_CHARS, MAX_RANGE_ITEMS and MAX_INT_BITS), so a render overruns its deadline by
    at most one bounded operation. `deadline` (a `time.monotonic()` value) is an earlier
    shared stop, e.g. a preview's; reaching it says so in the message.
    """

    def __init__(self, deadline: float | None = None) -> None:
        own = time.monotonic() + RENDER_SECONDS
        if deadline is not None and deadline < own:
            self._meter = _Meter(deadline, preview_note())
        else:
            self._meter = _Meter(own, _render_note())

    def __enter__(self) -> Self:
        self._meter.check_clock()
        self._token = _BUDGET.set(self._meter)
        return self

    def __exit__(self, *exc: object) -> None:
        _BUDGET.reset(self._token)


StepBudget = RenderBudget
"""The former name (a budget of steps only)."""


def _metered(func: Callable[..., Any]) -> Callable[..., Any]:
    """A filter that ticks once and charges its result (keeps Jinja's pass-context marker)."""
    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        tick()
        return charge(func(*args, **kwargs))

    return run


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
    texts = []
    for p in parts:
        if not isinstance(p, str) and p is not None:
            refuse_big(weight(p), "`~`")  # before printing a huge list
        texts.append("" if p is None else str(p))
    refuse_big(sum(len(t) for t in texts), "`~`")  # exactly what the SQL path measures
    return charge("".join(texts))  # type: ignore[no-any-return]


def finalize(value: Any) -> Any:
    """What `{{ value }}` prints: null as ''; a huge list is refused before it is turned into text."""
    if value is None:
        return ""
    if not isinstance(value, str):
        refuse_big(weight(value), "printing this value")
    return value


_NUMBER_TOO_LARGE = (f"a number in the template grows too large (more than {MAX_INT_BITS:,} bits, "
                     "the limit for arithmetic in a template)")


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
            raise TemplateError(_NUMBER_TOO_LARGE)
    elif op == "+" and isinstance(left, seqs) and isinstance(right, seqs):
        refuse_big(weight(left) + weight(right), "`+`")
    elif op == "**" and isinstance(left, (int, float)) and isinstance(right, int):
        if isinstance(left, int) and abs(left) > 1 and left.bit_length() * abs(right) > MAX_INT_BITS:
            raise TemplateError(_NUMBER_TOO_LARGE)
    elif op in ("+", "-") and isinstance(left, int) and isinstance(right, int) and \
            max(left.bit_length(), right.bit_length()) > MAX_INT_BITS:
        raise TemplateError(_NUMBER_TOO_LARGE)


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
        if not args[0]:
            raise TemplateError(EMPTY_REPLACE)
        hits = owner.count(args[0])
        refuse_big(len(owner) + hits * (len(args[1]) - len(args[0])), "`replace`")


class TemplateSandbox(ImmutableSandboxedEnvironment):
    """ImmutableSandboxedEnvironment plus step, size and reach limits; plain-text output."""

    intercepted_binops = frozenset({"*", "**", "+", "-", "%", "//", "/"})

    def __init__(self) -> None:
        super().__init__(autoescape=False, undefined=StrictUndefined, finalize=finalize,
                         keep_trailing_newline=True, auto_reload=False)
        self.globals.clear()
        self.globals["range"] = safe_range
        self.filters = {name: _metered(func) for name, func in jinja_filter_table().items()}
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
        tick()
        return charge(self.binop_table[operator_](left, right))

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        if obj is steps or obj is compare or obj is concat:
            return obj(*args)  # kwargs only ever hold Jinja's _loop_vars/_block_vars
        tick()
        _check_call(obj, args, kwargs)
        if isinstance(getattr(obj, "__self__", None), str) and getattr(obj, "__name__", "") == "join" and args:
            items = list(args[0])  # `sep.join(x)`: measure before building
            refuse_big(sum(weight(i) for i in items) + len(obj.__self__) * len(items), "`join`")
            args = (items, *args[1:])
        return charge(super().call(context, obj, *args, **kwargs))


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


class _SelfColumn(NodeTransformer):
    """`{{ self }}` reads the column named `self`, as the compiled SQL does (issue 16 bug 4).

    Jinja binds `self` to the template itself (`<TemplateReference None>`) whatever the row holds; the
    other names Jinja provides (`loop`, `range`, …) give way to a row's columns already. Left alone when
    the template assigns `self` itself.
    """

    def visit_Name(self, node: nodes.Name) -> nodes.Node:
        if node.name == "self" and node.ctx == "load":
            return nodes.Getitem(nodes.Name("row", "load", lineno=node.lineno), nodes.Const("self", lineno=node.lineno),
                                 "load", lineno=node.lineno)
        return node


def harden(ast: nodes.Template, env: TemplateSandbox) -> nodes.Template:
    """The template tree rewritten for rendering (modifies and returns `ast`)."""
    if not any(n.name == "self" and n.ctx != "load" for n in ast.find_all(nodes.Name)):
        ast = _SelfColumn().visit(ast)
    result = _Harden().visit(ast)
    result.set_environment(env)
    return result


@lru_cache(maxsize=1)
def template_environment() -> TemplateSandbox:
    """The shared sandbox (cached: it holds no per-render state)."""
    return TemplateSandbox()
