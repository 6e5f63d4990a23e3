"""The filter registry: each filter's per-row function and (when exact) its SQL form.

Built-ins register here the same way an extension would (`register_filter`). A filter
without `sql` still works everywhere; templates that use it render per row.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jinja2 import filters as jinja_filters
from jinja2.utils import pass_eval_context

from engine.templates import filters, hygiene, sql_filters
from engine.templates.limits import refuse_big, weight
from engine.templates.sql_filters import SqlFilter


@dataclass(frozen=True)
class FilterSpec:
    """One filter: `func(value, *args)` per row; `sql` its exact SQL form (None: per row only)."""

    name: str
    func: Callable[..., Any]
    sql: SqlFilter | None = None
    per_row_reason: str = ""
    signature: inspect.Signature = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "signature", inspect.signature(self.func))


FILTERS: dict[str, FilterSpec] = {}
"""Name → spec, for every filter a template may use."""

BLOCKED_FILTERS = {
    "attr": "`attr` is not available: templates cannot reach object attributes by name",
    "format": "`format` is not available: join text with `~` instead",
    "center": "`center` is not available",
    "indent": "`indent` is not available",
    "wordwrap": "`wordwrap` is not available",
    "batch": "`batch` is not available",
    "slice": "`slice` is not available",
    "random": "`random` is not available: output must be reproducible",
    "pprint": "`pprint` is not available",
    "xmlattr": "`xmlattr` is not available",
    "urlize": "`urlize` is not available",
    "safe": "`safe` is not needed: output is plain text",
    "escape": "`escape` is not available: output is plain text",
    "e": "`e` is not available: output is plain text",
    "forceescape": "`forceescape` is not available: output is plain text",
}
"""Jinja built-ins a template may not use, with the message that says so."""

_JINJA_KEPT = ("abs", "count", "dictsort", "filesizeformat", "first", "float", "groupby", "int", "items",
               "last", "length", "list", "max", "min", "reject", "rejectattr", "reverse", "round",
               "select", "selectattr", "sort", "striptags", "sum", "unique", "wordcount")
"""Jinja built-ins kept as they are (per row only). Those that build new text from every item of
a list (`map`, `tojson`, `urlencode`) are left out: a list of references to one huge string
would let them allocate without bound."""


def register_filter(spec: FilterSpec) -> None:
    """Add or replace a filter (templates compiled earlier keep the filters they had)."""
    FILTERS[spec.name] = spec
    # imported here because the sandbox imports this module
    from engine.templates.sandbox import template_environment

    template_environment.cache_clear()


@pass_eval_context
def _join(eval_ctx: Any, value: Any, d: str = "", attribute: Any = None) -> str:
    """Jinja's `join`, refusing to build a string over the size cap."""
    items = list(value)
    refuse_big(sum(weight(x) for x in items) + len(str(d)) * max(len(items) - 1, 0), "join")
    return jinja_filters.do_join(eval_ctx, items, d, attribute)


def _string(value: Any) -> str:
    """Jinja's `string`, refusing to print a huge list."""
    refuse_big(weight(value), "string")
    return str(jinja_filters.FILTERS["string"](value))


def _builtins() -> None:
    ours = [
        FilterSpec("upper", filters.upper, sql_filters.sql_upper),
        FilterSpec("lower", filters.lower, sql_filters.sql_lower),
        FilterSpec("capitalize", filters.capitalize, sql_filters.sql_capitalize),
        FilterSpec("title", filters.title, sql_filters.sql_title),
        FilterSpec("trim", filters.trim, sql_filters.sql_trim),
        FilterSpec("truncate", filters.truncate, sql_filters.sql_truncate),
        FilterSpec("replace", filters.replace, sql_filters.sql_replace),
        FilterSpec("default", filters.default, sql_filters.sql_default),
        FilterSpec("d", filters.default, sql_filters.sql_default),
        FilterSpec("currency", filters.currency, sql_filters.sql_currency),
        FilterSpec("number", filters.number, sql_filters.sql_number),
        FilterSpec("percent", filters.percent, sql_filters.sql_percent),
        FilterSpec("date", filters.date_, sql_filters.sql_date),
        FilterSpec("slug", filters.slug, None, "`slug` folds Unicode (NFKD), which DuckDB cannot do exactly"),
        FilterSpec("dedupe_words", hygiene.dedupe_words, hygiene.sql_dedupe_words),
        FilterSpec("stopwords", hygiene.stopwords, hygiene.sql_stopwords),
        FilterSpec("part", hygiene.part, None, "`part` wraps words into pieces per row"),
        FilterSpec("join", _join, None),
        FilterSpec("string", _string, None),
    ]
    for spec in ours:
        FILTERS[spec.name] = spec
    for name in _JINJA_KEPT:
        FILTERS[name] = FilterSpec(name, jinja_filters.FILTERS[name], None)


_builtins()


def jinja_filter_table() -> dict[str, Callable[..., Any]]:
    """The `filters` mapping for the Jinja environment."""
    return {name: spec.func for name, spec in FILTERS.items()}
