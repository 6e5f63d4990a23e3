"""A compiled template: its SQL form when exact, and the sandboxed per-row render."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Template, nodes
from jinja2.exceptions import TemplateSyntaxError

from engine.templates.compile_sql import compile_length_sql, compile_sql, never_blank
from engine.templates.errors import TemplateError, describe
from engine.templates.limits import MAX_OUTPUT_CHARS, output_too_long
from engine.templates.sandbox import RenderBudget, harden, template_environment
from engine.templates.sql_aliases import case_aliases
from engine.templates.sql_values import SCHEMA_KINDS
from engine.templates.validate import ROW, analyze, raise_first

_UNSET: Any = object()


def _template_line(template: Template, exc: BaseException) -> int | None:
    """The template line the exception was raised on, from the generated code's traceback."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = template.get_corresponding_lineno(tb.tb_lineno)
        tb = tb.tb_next
    return line


@dataclass(frozen=True, eq=False)
class CompiledTemplate:
    """A validated template: `sql` (a DuckDB expression, or None) and `render(row)` per row.

    `sql` is a scalar expression over the columns (double-quoted; a name equal to an earlier one of
    the schema but for letter case under its `aliases` name, see sql_aliases.py) returning a VARCHAR that is
    never NULL and byte-identical to `render` for every row, refusals included, except that
    MAX_OUTPUT_CHARS is checked by the plan around it (`sql_guards.output_guard_sql`). When `sql` is None,
    `fallback_reason` says which construct keeps the template per row.

    A template with SQL generates its Jinja2 code on the first `render` only: a preview
    re-plans on every keystroke and never renders those per row. `never_blank`: the output
    always holds a character above U+0020 (literal text outside any `if`).
    """

    source: str
    variables: frozenset[str]
    sql: str | None
    fallback_reason: str | None
    schema: Mapping[str, str] = field(repr=False)
    _template: Template | None = field(repr=False)
    _ast: nodes.Template | None = field(default=None, repr=False)
    never_blank: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _length: Any = field(default=_UNSET, repr=False)
    _specialized: dict[Any, str] = field(default_factory=dict, repr=False)

    SPECIALIZED_ENTRIES = 8

    @property
    def aliases(self) -> dict[str, str]:
        """Columns `sql` reads under another name: rename a table's columns so before running it (`alias_table`)."""
        return case_aliases(self.schema)

    def sql_for(self, facts: Mapping[str, frozenset[str]]) -> str | None:
        """`sql` for rows where `facts` (column → sql_values.text_facts) hold: shorter when they rule
        out rare text (e.g. `upper` of ASCII text), so a preview plans faster; `sql` when they do not."""
        if self.sql is None:
            return None
        key = tuple(sorted((v, tuple(sorted(facts[v]))) for v in self.variables if facts.get(v)))
        if not key:
            return self.sql
        with self._lock:
            hit = self._specialized.get(key)
            if hit is None:
                ast = self._ast if self._ast is not None else analyze(self.source, list(self.schema)).ast
                assert ast is not None  # it compiled before
                hit = compile_sql(ast, self.schema, facts)[0] or self.sql
                if len(self._specialized) >= self.SPECIALIZED_ENTRIES:
                    self._specialized.clear()
                self._specialized[key] = hit
            return hit

    def length_sql(self) -> str | None:
        """BIGINT SQL equal to `len(render(row))` (code points) that skips building the text, or None."""
        with self._lock:
            return self._length_locked()

    def _length_locked(self) -> str | None:
        if self._length is _UNSET:
            length = compile_length_sql(self._ast, self.schema) if self.sql is not None and self._ast else None
            object.__setattr__(self, "_length", length)
        return self._length  # type: ignore[no-any-return]

    def _jinja(self) -> Template:
        with self._lock:
            if self._template is None:
                assert self._ast is not None
                self._length_locked()  # hardening rewrites the tree the length is compiled from
                object.__setattr__(self, "_template", _jinja_template(self._ast))
                object.__setattr__(self, "_ast", None)
            assert self._template is not None
            return self._template

    def render(self, row: Mapping[str, Any], *, deadline: float | None = None) -> str:
        """Render one row (values as Python objects) in the sandbox, within RENDER_SECONDS.

        `deadline` (a `time.monotonic()` value) is an earlier stop shared by several renders.
        """
        context = dict(row)
        context[ROW] = row
        t = self._template if self._template is not None else self._jinja()
        try:
            with RenderBudget(deadline):
                out: list[str] = []
                size = 0
                for piece in t.root_render_func(t.new_context(context)):
                    size += len(piece)
                    if size > MAX_OUTPUT_CHARS:
                        raise TemplateError(output_too_long())
                    out.append(piece)
                return "".join(out)
        except TemplateError as exc:
            raise exc.at(line=_template_line(t, exc)) from None
        except Exception as exc:  # noqa: BLE001 - untrusted template code: any failure is the author's to fix
            raise TemplateError(describe(exc), line=_template_line(t, exc)) from None

    def explain(self) -> str:
        """The SQL, or why the field renders per row (for a "show SQL" panel)."""
        return self.sql if self.sql is not None else f"-- per row: {self.fallback_reason}"


def compile_template(source: str, schema: Mapping[str, str]) -> CompiledTemplate:
    """Validate a template against a schema (column → kind) and compile both of its forms."""
    for name, kind in schema.items():
        if kind not in SCHEMA_KINDS:
            raise ValueError(f"column {name!r}: unknown kind {kind!r} (one of {', '.join(SCHEMA_KINDS)})")
    analysis = analyze(source, list(schema))
    raise_first(analysis)
    assert analysis.ast is not None
    sql, reason = compile_sql(analysis.ast, schema)
    if sql is not None and analysis.plain:  # no loops, macros or blocks: code generation cannot fail
        return CompiledTemplate(source, frozenset(analysis.variables), sql, reason, dict(schema), None, analysis.ast,
                                never_blank(analysis.ast))
    template = _jinja_template(analysis.ast)
    return CompiledTemplate(source, frozenset(analysis.variables), sql, reason, dict(schema), template)


def _jinja_template(ast: nodes.Template) -> Template:
    """Jinja2's code for a template tree, hardened for the sandbox (consumes the tree)."""
    env = template_environment()
    try:
        code = env.compile(harden(ast, env))
    except TemplateSyntaxError as exc:
        raise TemplateError(f"syntax error: {exc.message}", line=exc.lineno) from None
    except Exception as exc:  # noqa: BLE001 - Jinja folds constant parts while compiling, e.g. `'a'['b'] and x`
        raise TemplateError(f"this expression always fails: {describe(exc)}") from None
    return env.template_class.from_code(env, code, env.make_globals(None), None)


def render_rows(tmpl: CompiledTemplate, rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """Render every row per row; an error names the row (0-based `.row`, 1-based in the message)."""
    out = []
    render = tmpl.render
    for i, row in enumerate(rows):
        try:
            out.append(render(row))
        except TemplateError as exc:
            raise exc.at(row=i) from None
    return out
