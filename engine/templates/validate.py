"""Validation before any rendering: syntax, unknown variables and filters, reach, caps, empty columns."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jinja2 import meta, nodes
from jinja2.exceptions import TemplateSyntaxError

from engine.templates.dotted import resolve_dotted
from engine.templates.errors import TemplateError, describe, where
from engine.templates.limits import MAX_VARIABLES, TEMPLATE_MAX_CHARS
from engine.templates.nesting import check_source_nesting, check_tree_depth
from engine.templates.positions import Source
from engine.templates.registry import BLOCKED_FILTERS, FILTERS
from engine.templates.sandbox import BLOCKED_ATTRIBUTES, template_environment

ROW = "row"
"""The context name holding the whole row as a mapping (`row["Product Name"]`)."""

_LOADERS: dict[type[nodes.Node], str] = {nodes.Extends: "extends", nodes.Include: "include", nodes.Import: "import",
            nodes.FromImport: "from"}
_GUARDING_FILTERS = ("default", "d")


@dataclass(frozen=True)
class TemplateIssue:
    """One problem (severity 'error') or hint (severity 'warning'); the message carries the position."""

    severity: str
    message: str
    line: int | None = None
    column: int | None = None
    variable: str | None = None
    suggestion: str | None = None

    def error(self) -> TemplateError:
        """This issue raised as a TemplateError."""
        detail = self.message.split(": ", 1)[1] if self.line is not None else self.message
        return TemplateError(detail, line=self.line, column=self.column)


@dataclass(frozen=True)
class TemplateReport:
    """What validation found: the columns used, errors (block rendering) and warnings."""

    variables: frozenset[str]
    errors: tuple[TemplateIssue, ...]
    warnings: tuple[TemplateIssue, ...]

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class Analysis:
    """The parsed template and what validation learned about it."""

    ast: nodes.Template | None = None
    source: Source | None = None
    variables: set[str] = field(default_factory=set)
    errors: list[TemplateIssue] = field(default_factory=list)
    uses: list[tuple[str, int, bool]] = field(default_factory=list)  # (column, line, guarded)
    plain: bool = False  # only text, output and if/elif/else: no statement declares a name

    def fail(self, detail: str, line: int | None = None, column: int | None = None,
             variable: str | None = None, suggestion: str | None = None) -> None:
        prefix = where(line, column)
        self.errors.append(TemplateIssue("error", f"{prefix}: {detail}" if prefix else detail,
                                         line, column, variable, suggestion))


def is_identifier(name: str) -> bool:
    """Can `name` be written bare in a template (not a keyword, not `row`)?"""
    return name.isidentifier() and name not in _RESERVED


_RESERVED = frozenset({"and", "or", "not", "in", "is", "if", "else", "elif", "true", "false", "none", "True",
                       "False", "None", "loop", "self", "caller", "varargs", "kwargs", "range", ROW})


def reference(column: str) -> str:
    """How a template names a column: bare, dotted (`item.brand`, see dotted.py), or `row["…"]`."""
    if is_identifier(column) or (len(column.split(".")) > 1 and all(
            is_identifier(part) and not part.startswith("_") for part in column.split("."))):
        return column
    return 'row["' + column.replace("\\", "\\\\").replace('"', '\\"') + '"]'


def _suggest(name: str, columns: Sequence[str]) -> str | None:
    fields = [c for c in columns if c.startswith(name + ".")]  # `item` of flattened item.brand, item.price
    if fields:
        return fields[0]
    lowered = {c.lower(): c for c in columns}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[close[0]] if close else None


def _unknown(a: Analysis, what: str, name: str, columns: Sequence[str], line: int | None,
             column: int | None) -> None:
    match = _suggest(name, columns)
    if match is not None:
        hint = f"did you mean `{reference(match)}`?"
    elif columns:
        listed = ", ".join(f"`{reference(c)}`" for c in list(columns)[:8])
        hint = f"the columns are {listed}{' …' if len(columns) > 8 else ''}"
    else:
        hint = "the data set has no columns"
    a.fail(f"unknown {what} `{name}` — {hint}", line, column, name, match)


_NOT_LITERAL = object()


def _literal(node: nodes.Node) -> Any:
    """The value of a literal argument (`5`, `-1`, `"x"`), else _NOT_LITERAL."""
    if isinstance(node, nodes.Const):
        return node.value
    if isinstance(node, nodes.Neg) and isinstance(node.node, nodes.Const) and \
            isinstance(node.node.value, (int, float)):
        return -node.node.value
    return _NOT_LITERAL


def _check_filter(a: Analysis, src: Source, node: nodes.Filter) -> None:
    def col() -> int | None:  # positions are looked up for errors only (see Source.solid)
        return src.find_name(node.lineno, node.name, "filter")

    if node.name in BLOCKED_FILTERS:
        a.fail(BLOCKED_FILTERS[node.name], node.lineno, col())
        return
    spec = FILTERS.get(node.name)
    if spec is None:
        close = difflib.get_close_matches(node.name, list(FILTERS), n=1)
        hint = f" — did you mean `{close[0]}`?" if close else ""
        a.fail(f"unknown filter `{node.name}`{hint}", node.lineno, col(), suggestion=close[0] if close else None)
        return
    args = [_literal(x) for x in node.args if _literal(x) is not _NOT_LITERAL]
    kwargs = {str(k.key): _literal(k.value) for k in node.kwargs if _literal(k.value) is not _NOT_LITERAL}
    if spec.func.__module__.endswith("templates.filters") and len(args) == len(node.args) and \
            len(kwargs) == len(node.kwargs) and node.dyn_args is None and node.dyn_kwargs is None:
        try:
            spec.func(None, *args, **kwargs)
        except TemplateError as exc:
            a.fail(f"`{node.name}`: {exc.detail}", node.lineno, col())
        except TypeError as exc:
            a.fail(f"wrong arguments for `{node.name}`: {exc}", node.lineno, col())


def _static_checks(a: Analysis, src: Source, ast: nodes.Template) -> None:
    env = template_environment()
    for node in ast.find_all(nodes.Node):
        if isinstance(node, tuple(_LOADERS)):
            word = _LOADERS[type(node)]
            a.fail(f"`{{% {word} %}}` is not allowed: a template cannot load other templates",
                   node.lineno, src.first_tag(node.lineno, word))
        elif isinstance(node, nodes.Getattr) and (node.attr.startswith("_") or node.attr in BLOCKED_ATTRIBUTES):
            a.fail(f"`{node.attr}` is off limits: templates cannot reach Python internals", node.lineno,
                   src.find_name(node.lineno, node.attr, "attribute"))
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and \
                isinstance(node.arg.value, str) and node.arg.value.startswith("_") and \
                not (isinstance(node.node, nodes.Name) and node.node.name == ROW):
            a.fail(f"`{node.arg.value}` is off limits: templates cannot reach Python internals", node.lineno,
                   src.find_string(node.lineno, node.arg.value))
        elif isinstance(node, nodes.Filter):
            _check_filter(a, src, node)
        elif isinstance(node, nodes.Test) and node.name not in env.tests:
            close = difflib.get_close_matches(node.name, list(env.tests), n=1)
            hint = f" — did you mean `{close[0]}`?" if close else ""
            a.fail(f"unknown test `{node.name}`{hint}", node.lineno, src.find_name(node.lineno, node.name, "test"))


def _row_key(node: nodes.Node) -> str | None:
    """The column named by `row["X"]` / `row.X`, if this node is one."""
    if isinstance(node, (nodes.Getitem, nodes.Getattr)) and isinstance(node.node, nodes.Name) \
            and node.node.name == ROW and node.node.ctx == "load":
        if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            return node.arg.value
        if isinstance(node, nodes.Getattr) and not hasattr(dict, node.attr):
            return node.attr
    return None


def _walk_uses(node: nodes.Node, columns: set[str], guarded: frozenset[str],
               guard_here: bool = False) -> Iterator[tuple[str, int, bool, nodes.Node]]:
    """Every use of a column: (column, line, guarded, node); `row` alone yields ROW."""
    key = _row_key(node)
    if key is not None:
        yield key, node.lineno, guard_here or key in guarded, node
        return
    if isinstance(node, nodes.Name) and node.ctx == "load" and (node.name in columns or node.name == ROW):
        yield node.name, node.lineno, guard_here or node.name in guarded, node
        return
    if isinstance(node, (nodes.If, nodes.CondExpr)):  # the tested columns are guarded in the "then" part
        tested = frozenset(c for c, *_ in _walk_uses(node.test, columns, guarded))
        yield from _walk_uses(node.test, columns, guarded, True)
        then: list[nodes.Node] = node.body if isinstance(node, nodes.If) else [node.expr1]
        rest: list[nodes.Node | None] = [*node.elif_, *node.else_] if isinstance(node, nodes.If) else [node.expr2]
        for child in then:
            yield from _walk_uses(child, columns, guarded | tested, guard_here)
        for other in rest:
            if other is not None:
                yield from _walk_uses(other, columns, guarded, guard_here)
        return
    for name, child in node.iter_fields():
        kids = child if isinstance(child, list) else [child]
        for kid in kids:
            if not isinstance(kid, nodes.Node):
                continue
            guard = guard_here or (
                (isinstance(node, nodes.Filter) and node.name in _GUARDING_FILTERS and name == "node")
                or (isinstance(node, nodes.Or) and name == "left")
                or isinstance(node, nodes.Test))
            yield from _walk_uses(kid, columns, guarded, guard)


def is_plain(ast: nodes.Template) -> bool:
    """Only text, `{{ }}` and `{% if %}`: no loop, assignment, macro, block or scope declares a name."""
    return all(isinstance(n, (nodes.Output, nodes.If)) for n in ast.find_all(nodes.Stmt)) and \
        all(n.ctx == "load" for n in ast.find_all(nodes.Name))


def undeclared_variables(ast: nodes.Template, env: Any) -> set[str]:
    """`meta.find_undeclared_variables` for a plain template, without running Jinja's code generator.

    With nothing declared, every loaded name is looked up in the context, except `self`
    (Jinja's template reference) and the environment's globals.
    """
    return {n.name for n in ast.find_all(nodes.Name) if n.name != "self" and n.name not in env.globals}


def _shadowed_names(ast: nodes.Template, columns: Sequence[str]) -> set[str]:
    """Columns named like a Jinja global (`range`) or `self` that the template reads and never assigns.

    Jinja's own analysis leaves them out (it resolves them to the global or the template), but the
    renderer reads them from the row, as the SQL does.
    """
    names = list(ast.find_all(nodes.Name))
    assigned = {n.name for n in names if n.ctx != "load"}
    wanted = set(columns) | {"self"}
    return {n.name for n in names if n.ctx == "load" and n.name in wanted and n.name not in assigned}


_SURROGATE = re.compile("[\ud800-\udfff]")


def analyze(source: str, columns: Sequence[str]) -> Analysis:
    """Parse and check a template against the data set's columns."""
    a = Analysis()
    if not isinstance(source, str):
        a.fail(f"a template must be text, not {type(source).__name__}")
        return a
    if len(source) > TEMPLATE_MAX_CHARS:
        a.fail(f"the template is too long: {len(source):,} characters (at most {TEMPLATE_MAX_CHARS:,})")
        return a
    surrogate = _SURROGATE.search(source)
    if surrogate is not None:  # UTF-8 (DuckDB, Postgres, Reddit) cannot carry it: refused here, not in the render
        at = surrogate.start()
        a.fail(f"the template holds an invalid character (a lone surrogate, U+{ord(source[at]):04X}) that no text "
               "can carry; delete it and type the character again", source.count("\n", 0, at) + 1,
               at - source.rfind("\n", 0, at))
        return a
    env = template_environment()
    a.source = src = Source(env, source)
    try:
        check_source_nesting(env, src.text)  # before parsing: the parser recurses per bracket
        a.ast = ast = src.parse()
        check_tree_depth(ast)  # before any walk of the tree recurses per level
    except TemplateError as exc:
        a.fail(exc.detail, exc.line, exc.column)
        return a
    _static_checks(a, src, ast)
    if a.errors:
        return a
    resolve_dotted(ast, columns)  # `item.brand` → row["item.brand"] when that column exists
    a.plain = is_plain(ast)
    try:  # on a fresh tree: Jinja's optimizer folds constants in the tree it analyses
        undeclared = (undeclared_variables(ast, env) if a.plain else
                      meta.find_undeclared_variables(resolve_dotted(src.parse(), columns))) | \
            _shadowed_names(ast, columns)
    except TemplateSyntaxError as exc:
        a.fail(f"syntax error: {exc.message}", exc.lineno)
        return a
    except Exception as exc:  # noqa: BLE001 - Jinja folds constant parts while analysing, e.g. `'a'['b'] and x`
        a.fail(f"this expression always fails: {describe(exc)}")
        return a
    known = set(columns)
    free = {n for n in undeclared if n in known or n == ROW}
    for name in sorted(undeclared - free - set(env.globals)):
        lines = [n.lineno for n in ast.find_all(nodes.Name) if n.name == name and n.ctx == "load"]
        line = min(lines) if lines else None
        _unknown(a, "variable", name, columns, line, src.find_name(line, name))
    for column, line, guarded, node in _walk_uses(ast, free, frozenset()):
        if column == ROW and _row_key(node) is None:
            if ROW in undeclared:
                a.uses.append((ROW, line, guarded))
            continue
        if node is not None and _row_key(node) is not None and column not in known:
            col = src.find_string(line, column) if isinstance(node, nodes.Getitem) else \
                src.find_name(line, column, "attribute")
            _unknown(a, "column", column, columns, line, col)
            continue
        a.variables.add(column)
        a.uses.append((column, line, guarded))
    if len(a.variables) > MAX_VARIABLES:
        a.fail(f"the template uses {len(a.variables)} columns; at most {MAX_VARIABLES} are allowed")
    if any(column == ROW for column, _, _ in a.uses):
        a.variables.update(columns)  # `row` used as a whole (e.g. a loop over it) may read any column
    return a


def _warnings(a: Analysis, null_counts: Mapping[str, int], row_count: int | None) -> list[TemplateIssue]:
    out = []
    for column in sorted(a.variables):
        empty = int(null_counts.get(column, 0) or 0)
        uses = [(line, guarded) for c, line, guarded in a.uses if c == column]
        if empty <= 0 or all(guarded for _, guarded in uses):
            continue
        line = min((ln for ln, g in uses if not g), default=None)
        col = a.source.find_name(line, column) if a.source is not None else None
        of = f" of {row_count:,}" if row_count is not None else ""
        ref = reference(column)
        prefix = where(line, col)
        text = f"`{column}` is empty in {empty:,}{of} rows"
        out.append(TemplateIssue("warning", f"{prefix}: {text}" if prefix else text, line, col, column,
                                 f"{{{{ {ref} | default(\"…\") }}}}"))
    return out


def validate_template(source: str, columns: Sequence[str], *, null_counts: Mapping[str, int] | None = None,
                      row_count: int | None = None) -> TemplateReport:
    """Check a template against the columns; warn about used columns that are empty in some rows."""
    a = analyze(source, list(columns))
    warnings = _warnings(a, null_counts or {}, row_count) if not a.errors else []
    return TemplateReport(frozenset(a.variables), tuple(a.errors), tuple(warnings))


def raise_first(a: Analysis) -> Any:
    """Raise the first error of an analysis (the others are in `validate_template`'s report)."""
    if a.errors:
        raise a.errors[0].error()
    return None
