"""Rule actions: a registry of specs; each prepares into a per-row step and SQL assignments.

An action spec declares its parameters (for validation and for the rule builder), the
type effect on the column it writes (the type rule: set_field / modify_field / lookup
make their column text, calculate makes it decimal, text wins), and `prepare`, which
returns a `PreparedAction` with `apply(state)` (per row) and `sql(ctx)` (compiled).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from engine.rules.errors import NotCompilable

META_COLUMNS = ("__skipped", "__tags", "__groups", "__rules_fired")
TARGET_PREFIX = "__target_"
_TARGET_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")
PARAM_TYPES = ("field", "new_field", "text", "template", "bool", "choice", "expression", "table", "key")


@dataclass(frozen=True)
class Param:
    """One action parameter: its type (see PARAM_TYPES), whether required, default, choices."""

    name: str
    type: str
    required: bool = True
    default: Any = None
    choices: tuple[str, ...] = ()
    label: str = ""


@dataclass(frozen=True)
class FieldChange:
    """What one action did to one field of the row (or to tags/groups/targeting/skip)."""

    action: str
    field: str
    before: Any
    after: Any


@dataclass
class RowState:
    """The row as actions see it: values in output kinds, plus the row's metadata."""

    row: dict[str, Any]
    kinds: Mapping[str, str]
    skipped: bool = False
    tags: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    targeting: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Join:
    """A relation LEFT JOINed into the assignment's layer: `on` uses its `columns`."""

    relation: str
    on: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Assignment:
    """SQL for a new value of one column when the rule fires; `reads` None means unknown.

    With a `join`, the layer joins that relation first (unique keys, so rows are neither
    lost nor repeated) and the compiled query restores the source's row order.
    """

    column: str
    expr: str
    reads: frozenset[str] | None
    join: Join | None = None


@dataclass(frozen=True)
class ListEvent:
    """In SQL, an action on a list column (`__tags`, `__groups`): add or remove one value.

    The compiler records when each event fires and builds the lists once at the end, with
    the per-row semantics: add appends a value that is not there, remove drops it.
    """

    list: str
    op: str  # "add" | "remove"
    value: str


@dataclass(frozen=True)
class SqlContext:
    """What an action's SQL needs: column references, kinds, and fresh internal names."""

    column: Callable[[str], str]
    kinds: Mapping[str, str]
    fresh: Callable[[str], str] = lambda prefix: prefix


@dataclass(frozen=True)
class PrepareContext:
    """What `prepare` needs: the output schema (after the type rule) and lookup data sets.

    `lookups` is None while validating without data (names are not checked then).
    """

    kinds: Mapping[str, str]
    lookups: Mapping[str, Mapping[str, str]] | None


class PreparedAction:
    """A ready-to-run action."""

    def apply(self, state: RowState) -> list[FieldChange]:
        """Change `state` for one row and report what changed."""
        raise NotImplementedError

    def sql(self, ctx: SqlContext) -> list[Assignment | ListEvent]:
        """The column assignments (and list events) that do the same in SQL."""
        raise NotImplementedError


class ActionSpec:
    """Base of every action spec; register instances with `register_action`."""

    name: ClassVar[str]
    label: ClassVar[str]
    params: ClassVar[tuple[Param, ...]] = ()
    writes_kind: ClassVar[str | None] = None  # "text" or "decimal": the type rule for params["field"]
    creates_columns: ClassVar[bool] = False

    def check(self, params: dict[str, Any]) -> None:
        """Extra validation after the generic one; raise ValueError with what to fix."""

    def target(self, params: Mapping[str, Any]) -> str | None:
        """The data column this action writes, if any."""
        return params.get("field") if self.writes_kind else None

    def reads(self, params: Mapping[str, Any]) -> list[str]:
        """Existing columns the action needs (checked against the schema)."""
        return [params[p.name] for p in self.params if p.type == "field" and params.get(p.name) is not None]

    def prepare(self, params: Mapping[str, Any], ctx: PrepareContext) -> PreparedAction:
        """Build the runnable action; raise ValueError or NotCompilable-free errors with a message."""
        raise NotImplementedError


ACTIONS: dict[str, ActionSpec] = {}


def register_action(spec: ActionSpec) -> ActionSpec:
    """Add an action to the registry (built-ins use this too)."""
    ACTIONS[spec.name] = spec
    return spec


def validate_params(spec: ActionSpec, params: Mapping[str, Any]) -> dict[str, Any]:
    """Check params against the spec's declaration; return them with defaults filled in."""
    if not isinstance(params, Mapping):
        raise TypeError("params must be an object")
    known = {p.name: p for p in spec.params}
    unknown = [name for name in params if name not in known]
    if unknown:
        expected = ", ".join(known) or "none"
        raise ValueError(f"unknown parameter {unknown[0]!r} (expected: {expected})")
    out: dict[str, Any] = {}
    for p in spec.params:
        value = params.get(p.name)
        if value is None:
            if p.required:
                raise ValueError(f"parameter {p.name!r} is required")
            out[p.name] = p.default
            continue
        out[p.name] = _check_param(p, value)
    spec.check(out)
    return out


def _check_param(p: Param, value: Any) -> Any:
    if p.type == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"parameter {p.name!r} must be true or false")
        return value
    if p.type == "table":
        if isinstance(value, str) and value:
            return value
        if isinstance(value, (list, tuple)):
            return value
        raise ValueError(f"parameter {p.name!r} must be a list of [key, value] pairs or a data set name")
    if not isinstance(value, str):
        raise TypeError(f"parameter {p.name!r} must be text")
    if p.type == "choice" and value not in p.choices:
        raise ValueError(f"parameter {p.name!r} must be one of {', '.join(p.choices)}, not {value!r}")
    if p.type in ("field", "new_field", "key", "expression") and not value.strip():
        raise ValueError(f"parameter {p.name!r} must not be empty")
    if p.type in ("field", "new_field") and value.startswith("__"):
        raise ValueError(f"column names starting with '__' are reserved ({value!r})")
    if p.type == "key" and not _TARGET_KEY.match(value):
        raise ValueError(f"{p.name} {value!r} must start with a letter and hold only letters, digits and _ "
                         "(at most 40)")
    if "\x00" in value:
        raise ValueError(f"parameter {p.name!r} holds a NUL character")
    return value


# --- values that may hold {{ variables }} ---------------------------------------------------

def is_template(text: str) -> bool:
    """True when `text` holds template syntax and must be rendered."""
    return "{{" in text or "{%" in text or "{#" in text


class TextValue:
    """A literal or a template rendered against the current (modified-so-far) row."""

    def __init__(self, source: str, kinds: Mapping[str, str]) -> None:
        self.source = source
        self._template: Any = None
        if is_template(source):
            from engine.templates import TemplateError, compile_template

            try:
                self._template = compile_template(source, dict(kinds))
            except TemplateError as exc:
                raise ValueError(f"template {source!r}: {exc}") from None

    def render(self, row: Mapping[str, Any]) -> str:
        """The value for one row."""
        return self.source if self._template is None else str(self._template.render(dict(row)))

    def sql(self, kinds: Mapping[str, str]) -> tuple[str, frozenset[str] | None]:
        """A VARCHAR SQL expression and the columns it may read; NotCompilable if none exists."""
        from engine.rules.values import quote_ident, sql_str

        if self._template is None:
            return sql_str(self.source), frozenset()
        sql = self._template.sql
        if sql is None:
            why = getattr(self._template, "fallback_reason", None)
            raise NotCompilable(f"template {self.source!r} is outside the SQL subset"
                                f"{f' ({why})' if why else ''}; apply the rules per row")
        # the contract only promises .sql: count every column it quotes as read, too
        variables = set(getattr(self._template, "variables", ())) | {name for name in kinds if quote_ident(name) in sql}
        return f"({sql})", frozenset(variables) & frozenset(kinds)
