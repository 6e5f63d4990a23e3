"""Dotted column names (``item.brand``, from flattened JSON) written as Jinja attribute access.

In Jinja ``{{ item.brand }}`` is attribute ``brand`` of a variable ``item``. When the data set has
a column named ``item.brand`` (and the template does not declare ``item`` itself, with ``set``,
``for`` or a macro), the tree is rewritten to ``row["item.brand"]`` right after parsing, so the
per-row render and the compiled SQL read the same column and agree byte for byte. The longest
matching path wins: with columns ``item`` and ``item.pricing.msrp``, ``item.pricing.msrp`` is the
latter. ``item["brand"]`` and ``row.item.brand`` resolve the same way.
"""

from __future__ import annotations

from collections.abc import Collection

from jinja2 import nodes

ROW = "row"  # the same context name as validate.ROW (kept here to avoid an import cycle)


def _path(node: nodes.Node) -> list[str] | None:
    """``item.pricing.msrp`` as ["item", "pricing", "msrp"], or None when the chain is not names only."""
    parts: list[str] = []
    while isinstance(node, nodes.Getattr | nodes.Getitem):
        if isinstance(node, nodes.Getattr):
            parts.append(node.attr)
        elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            parts.append(node.arg.value)
        else:
            return None
        node = node.node
    if not isinstance(node, nodes.Name) or node.ctx != "load":
        return None
    parts.append(node.name)
    return parts[::-1]


def resolve_dotted(ast: nodes.Template, columns: Collection[str]) -> nodes.Template:
    """Rewrite attribute chains that spell a dotted column name into ``row["that.name"]`` (in place)."""
    dotted = {c for c in columns if "." in c}
    if not dotted:
        return ast
    declared = {n.name for n in ast.find_all(nodes.Name) if n.ctx != "load"}
    if ROW in declared:
        return ast
    if any(ast.find_all((nodes.For, nodes.Macro, nodes.CallBlock))):  # names Jinja defines inside them
        declared |= {"loop", "caller", "varargs", "kwargs"}

    def column_of(node: nodes.Node) -> str | None:
        path = _path(node)
        if path is None or path[0] in declared:
            return None
        if path[0] == ROW and len(path) > 2:
            path = path[1:]
        name = ".".join(path)
        return name if len(path) > 1 and name in dotted else None

    def visit(node: nodes.Node) -> None:
        for field in node.fields:
            child = getattr(node, field, None)
            if isinstance(child, list):
                for index, item in enumerate(child):
                    if isinstance(item, nodes.Node):
                        child[index] = replaced(item)
            elif isinstance(child, nodes.Node):
                setattr(node, field, replaced(child))

    def replaced(node: nodes.Node) -> nodes.Node:
        if isinstance(node, nodes.Getattr | nodes.Getitem) and getattr(node, "ctx", "load") == "load":
            name = column_of(node)
            if name is not None:
                line = node.lineno
                return nodes.Getitem(nodes.Name(ROW, "load", lineno=line), nodes.Const(name, lineno=line), "load",
                                     lineno=line)
        visit(node)
        return node

    visit(ast)
    return ast
