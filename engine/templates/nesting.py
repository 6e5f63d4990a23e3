"""Nesting caps, checked before Jinja parses or compiles a template.

Jinja's parser recurses once per bracket and per unary operator, its code generator and our
tree walks once per nested node, and Python refuses generated code with more than 20 nested
loops or 100 indentation levels. A template past those points would raise RecursionError,
IndentationError or SyntaxError somewhere later (at validation, or worse when it first
renders); these checks refuse it up front with the limit in the message.
"""

from __future__ import annotations

from jinja2 import Environment, nodes
from jinja2.exceptions import TemplateSyntaxError

from engine.templates.errors import TemplateError
from engine.templates.limits import MAX_BLOCK_NESTING, MAX_EXPRESSION_DEPTH, MAX_EXPRESSION_NESTING

_BLOCKS = frozenset({"if", "for", "macro", "call", "filter", "with", "block", "autoescape", "set", "trans"})
_OPEN = frozenset({"lparen", "lbracket", "lbrace"})
_CLOSE = frozenset({"rparen", "rbracket", "rbrace"})
_UNARY = frozenset({"sub", "add"})


def _blocks_refusal(depth: int, line: int) -> TemplateError:
    return TemplateError(f"blocks are nested {depth} deep here; the limit is {MAX_BLOCK_NESTING} "
                         "(`{% if %}`, `{% for %}` and other blocks inside each other): "
                         "use `{% elif %}` or `and` instead of another level", line=line)


def _brackets_refusal(depth: int, line: int) -> TemplateError:
    return TemplateError(f"brackets are nested {depth} deep here; the limit is {MAX_EXPRESSION_NESTING} "
                         "(`(`, `[`, `{`, `not` and `-` inside each other): split the expression with `{% set %}`",
                         line=line)


def _depth_refusal(depth: int, line: int) -> TemplateError:
    return TemplateError(f"an expression chains {depth} operations inside each other; the limit is "
                         f"{MAX_EXPRESSION_DEPTH} (filters, `+`, `or`, …): split it with `{{% set %}}` "
                         "or test a list with `in [ … ]`", line=line)


def check_source_nesting(env: Environment, text: str) -> None:
    """Refuse block or bracket nesting over the caps, from the tokens alone (no recursion)."""
    blocks = 0
    brackets = 0
    unary = 0
    tag: list[str] = []  # the tokens of the block tag being read
    try:
        for token in env.lexer.tokenize(text):
            kind = token.type
            if kind == "block_begin":
                tag = []
                continue
            if kind == "block_end":
                if tag and tag[0] in _BLOCKS and not (tag[0] == "set" and "assign" in tag):
                    blocks += 1
                    if blocks > MAX_BLOCK_NESTING:
                        raise _blocks_refusal(blocks, token.lineno)
                elif tag and tag[0].startswith("end") and tag[0][3:] in _BLOCKS:
                    blocks = max(0, blocks - 1)
                tag = []
                continue
            if tag is not None:
                tag.append(token.value if kind == "name" and not tag else kind)
            if kind in _OPEN:
                brackets += 1
            elif kind in _CLOSE:
                brackets = max(0, brackets - 1)
            if kind in _UNARY or (kind == "name" and token.value == "not"):
                unary += 1
            elif kind not in ("whitespace", "comment"):
                unary = 0 if kind not in _OPEN else unary
            if brackets + unary > MAX_EXPRESSION_NESTING:
                raise _brackets_refusal(brackets + unary, token.lineno)
    except TemplateSyntaxError:
        return  # the parser reports it, with a position


def check_tree_depth(ast: nodes.Template) -> None:
    """Refuse expressions nested deeper than the cap (chained filters, `+`, `or`…), walking without recursion."""
    stack: list[tuple[nodes.Node, int]] = [(ast, 0)]
    while stack:
        node, depth = stack.pop()
        here = depth + 1 if isinstance(node, nodes.Expr) else 0
        if here > MAX_EXPRESSION_DEPTH:
            raise _depth_refusal(here, node.lineno)
        for child in node.iter_child_nodes():
            stack.append((child, here))
