"""Saved rule sets: create, save, duplicate, delete, import/export JSON, and "Test on data" with a per-row trace."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import polars as pl
from sqlalchemy import select

from engine.rules import (
    FieldChange,
    NotNumbers,
    Rule,
    RuleError,
    TraceStep,
    apply_rules,
    not_numbers,
    parse_rules,
    rule_match_counts,
)
from studio import audit, datasets
from studio.context import Context, Permission, allows
from studio.errors import NotFound, ValidationFailed
from studio.naming import clean_unique_name
from studio.permissions import requires
from studio.store.base import utcnow
from studio.store.campaign_models import RuleSet
from studio.store.models import User
from studio.store.session import Store, TenantSession

MAX_NAME = 120
MAX_IMPORT_BYTES = 1_000_000


@dataclass(frozen=True)
class RuleSetInfo:
    """A saved rule set as pages see it: its rules as JSON-ready dicts."""

    id: uuid.UUID
    name: str
    rules: list[dict[str, Any]]
    updated_at: dt.datetime
    version: int = 1

    @property
    def rule_count(self) -> int:
        return len(self.rules)


@dataclass(frozen=True)
class RuleSetVersion:
    """One kept version of a rule set: its rules, when and by whom it was saved."""

    version: int
    rules: list[dict[str, Any]]
    saved_at: dt.datetime | None
    saved_by: str
    note: str


@dataclass(frozen=True)
class RowTrace:
    """One row before and after the rules, and each rule's part in it."""

    index: int
    before: dict[str, Any]
    after: dict[str, Any]
    skipped: bool
    tags: list[str]
    groups: list[str]
    targeting: dict[str, str]
    steps: list[TraceStep]

    def changes(self) -> list[tuple[str, FieldChange]]:
        """(rule name, change) for every change, in firing order."""
        return [(step.rule_name, change) for step in self.steps if step.matched for change in step.changes]


@dataclass(frozen=True)
class RuleTest:
    """Rules tried on one data set: rows each rule's conditions match, and `trace(row)` for any row."""

    rules: list[Rule]
    counts: dict[str, int]
    row_count: int
    schema: dict[str, str]
    table: pl.DataFrame = field(repr=False)
    not_numbers: list[NotNumbers] = field(default_factory=list)  # numeric comparisons passing over text cells

    def trace(self, row_index: int) -> RowTrace:
        """What the rules do to row `row_index` (0-based), rule by rule."""
        if not 0 <= row_index < self.row_count:
            raise ValidationFailed(f"Row {row_index + 1:,} does not exist: the data set has {self.row_count:,} rows.")
        before = self.table.row(row_index, named=True)
        out = apply_rules(self.rules, before, schema=self.schema, lookups={})
        return RowTrace(row_index, before, out.row, out.skipped, out.tags, out.groups, out.targeting, out.trace)


# --- rules as data (no store) ----------------------------------------------------------------

def validate(rules: Any, schema: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """Rules checked by the engine (with a schema: columns, templates, expressions too), as JSON-ready dicts.

    Raises RuleError, whose message names the rule and the field to fix.
    """
    checked = [rule.to_dict() for rule in parse_rules(rules, schema=dict(schema) if schema is not None else None)]
    _storable(checked)
    return checked


def _storable(rules: list[dict[str, Any]]) -> None:
    """Refuse what the database cannot keep in JSON: NUL characters, lone surrogates, infinite numbers."""
    try:
        text = json.dumps(rules, ensure_ascii=False, allow_nan=False)
    except ValueError:
        raise ValidationFailed("A rule holds a number too large to store (it reads as infinity): use a smaller "
                               "number.") from None
    if "\\u0000" in text:
        raise ValidationFailed("A rule contains a NUL character (\\0), which cannot be saved: remove it from the "
                               "rule's names, fields and values.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationFailed("A rule contains an invalid character (a lone surrogate such as \\ud800), which "
                               "cannot be saved: retype the text around it.") from None


def import_rules(text: str | bytes, schema: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """Rules from exported JSON (a list, or {"rules": [...]}); bad JSON or rules raise with a clear message."""
    if len(text) > MAX_IMPORT_BYTES:
        raise ValidationFailed(f"That file is too big for a rule set (over {MAX_IMPORT_BYTES:,} bytes).")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationFailed("That file is not UTF-8 text; export the rules as JSON and try again.") from None
    if not text.strip():
        raise ValidationFailed("Paste the rules as JSON (a list of rules, or {\"rules\": [...]}).")
    data = _load_export(text)
    return validate(data, schema)


def _load_export(text: str) -> Any:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RuleError(f"The rules are not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.",
                        line=exc.lineno, column=exc.colno) from None
    except RecursionError:
        raise RuleError("The rules nest lists or objects too deeply to be read: export them again from the "
                        "studio, or remove the extra nesting.") from None
    except ValueError:  # Python refuses integers of more than 4,300 digits
        raise RuleError("The rules hold a number with thousands of digits, which cannot be read: shorten it, "
                        "or put it in quotes as text.") from None
    if isinstance(data, dict) and "rules" in data and "format" in data:
        data = data["rules"]  # our own export envelope
    return data


def export_rules(rules: Sequence[Mapping[str, Any]], *, name: str | None = None) -> str:
    """Rules as pretty JSON that `import_rules` reads back."""
    doc: dict[str, Any] = {"format": "dotoro.rules/1"}
    if name:
        doc["name"] = name
    doc["rules"] = [dict(r) for r in rules]
    return json.dumps(doc, ensure_ascii=False, indent=2)


# --- the store ----------------------------------------------------------------------------

@requires(Permission.VIEW)
def can_edit(store: Store, ctx: Context) -> bool:
    """Whether the acting member may save rule sets here (pages mirror it; services enforce it)."""
    with store.session_scope(ctx) as s:
        return bool(s.info.get("system")) or allows(s.role, Permission.EDIT)


def _info(r: RuleSet) -> RuleSetInfo:
    return RuleSetInfo(r.id, r.name, [dict(x) for x in r.rules or []], r.updated_at, r.version or 1)


MAX_VERSIONS = 100  # the oldest versions beyond this are dropped from the history


def _entry(ctx: Context, version: int, rules: list[dict[str, Any]], note: str = "") -> dict[str, Any]:
    return {"version": version, "rules": [dict(x) for x in rules], "saved_at": utcnow().isoformat(),
            "saved_by": str(ctx.user_id) if ctx.user_id else None, "note": note}


def _get(s: TenantSession, rule_set_id: uuid.UUID) -> RuleSet:
    r = s.scalar(select(RuleSet).where(RuleSet.id == rule_set_id))
    if r is None:
        raise NotFound("This rule set does not exist (any more) in this workspace.")
    return r


def _clean_name(s: TenantSession, name: str, *, exclude: uuid.UUID | None = None) -> str:
    return clean_unique_name(s, RuleSet, name, "rule set", max_len=MAX_NAME, exclude=exclude)


@requires(Permission.VIEW)
def list_rule_sets(store: Store, ctx: Context) -> list[RuleSetInfo]:
    """The workspace's rule sets, by name."""
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        return [_info(r) for r in s.scalars(select(RuleSet).order_by(RuleSet.name))]


@requires(Permission.VIEW)
def get_rule_set(store: Store, ctx: Context, rule_set_id: uuid.UUID) -> RuleSetInfo:
    """One rule set of this workspace (NotFound for any other)."""
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        return _info(_get(s, rule_set_id))


@requires(Permission.EDIT)
def create_rule_set(store: Store, ctx: Context, name: str, rules: Any = ()) -> RuleSetInfo:
    """A new rule set; the rules are validated first."""
    clean = validate(rules)
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        r = RuleSet(name=_clean_name(s, name), rules=clean, version=1, history=[_entry(ctx, 1, clean)],
                    updated_at=utcnow())
        s.add(r)
        s.flush()
        audit.record(s, "rule_set.create", object_type="rule_set", object_id=r.id,
                     summary=f"Created rule set {r.name!r} ({len(clean)} rules)")
        return _info(r)


@requires(Permission.EDIT)
def save_rule_set(store: Store, ctx: Context, rule_set_id: uuid.UUID, rules: Any, *,
                  name: str | None = None, note: str = "") -> RuleSetInfo:
    """Replace a rule set's rules (and optionally its name) after validating them; changed rules are a new
    version (the previous ones are kept, see `versions`)."""
    clean = validate(rules)
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        r = _get(s, rule_set_id)
        if name is not None:
            r.name = _clean_name(s, name, exclude=r.id)
        if clean != list(r.rules or []):
            history = list(r.history or []) or [_entry(ctx, r.version or 1, list(r.rules or []), "before versions")]
            r.version = (r.version or 1) + 1
            r.history = [*history, _entry(ctx, r.version, clean, note)][-MAX_VERSIONS:]
        r.rules = clean
        r.updated_at = utcnow()
        audit.record(s, "rule_set.save", object_type="rule_set", object_id=r.id,
                     summary=f"Saved rule set {r.name!r} as version {r.version} ({len(clean)} rules)"
                     + (f" ({note})" if note else ""))
        return _info(r)


@requires(Permission.VIEW)
def versions(store: Store, ctx: Context, rule_set_id: uuid.UUID) -> list[RuleSetVersion]:
    """Every kept version, newest first, with who saved it (a rule set saved before versions: its current rules)."""
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        r = _get(s, rule_set_id)
        history = list(r.history or []) or [{"version": r.version or 1, "rules": list(r.rules or []),
                                              "saved_at": r.updated_at.isoformat() if r.updated_at else None,
                                              "saved_by": None, "note": ""}]
        ids = {uuid.UUID(h["saved_by"]) for h in history if h.get("saved_by")}
        names = {row[0]: row[1] for row in s.execute(select(User.id, User.name).where(User.id.in_(ids)))} if ids else {}
    out = []
    for h in reversed(history):
        who = uuid.UUID(h["saved_by"]) if h.get("saved_by") else None
        at = dt.datetime.fromisoformat(h["saved_at"]) if h.get("saved_at") else None
        out.append(RuleSetVersion(int(h["version"]), [dict(x) for x in h["rules"]], at,
                                  names.get(who, "someone") if who else "system", h.get("note") or ""))
    return out


@requires(Permission.EDIT)
def restore_version(store: Store, ctx: Context, rule_set_id: uuid.UUID, version: int) -> RuleSetInfo:
    """Save an earlier version's rules as a new version (history is never rewritten)."""
    kept = {v.version: v for v in versions(store, ctx, rule_set_id)}
    if version not in kept:
        raise NotFound(f"Version {version} of this rule set is not kept any more.")
    return save_rule_set(store, ctx, rule_set_id, kept[version].rules, note=f"restored from version {version}")


@requires(Permission.EDIT)
def duplicate_rule_set(store: Store, ctx: Context, rule_set_id: uuid.UUID) -> RuleSetInfo:
    """A copy named "<name> (copy)"."""
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        src = _get(s, rule_set_id)
        taken = set(s.scalars(select(RuleSet.name)))
        base = f"{src.name} (copy)"[:MAX_NAME]
        name, n = base, 2
        while name in taken:
            name, n = f"{base[:MAX_NAME - 6]} ({n})", n + 1
        r = RuleSet(name=name, rules=[dict(x) for x in src.rules or []], updated_at=utcnow())
        s.add(r)
        s.flush()
        audit.record(s, "rule_set.duplicate", object_type="rule_set", object_id=r.id,
                     summary=f"Duplicated rule set {src.name!r} as {r.name!r}")
        return _info(r)


@requires(Permission.EDIT)
def delete_rule_set(store: Store, ctx: Context, rule_set_id: uuid.UUID) -> str:
    """Delete a rule set; returns its name for the confirmation message."""
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        r = _get(s, rule_set_id)
        name = r.name
        s.delete(r)
        audit.record(s, "rule_set.delete", object_type="rule_set", object_id=rule_set_id,
                     summary=f"Deleted rule set {name!r}")
        return name


@requires(Permission.VIEW)
def schema_of(store: Store, ctx: Context, dataset_id: uuid.UUID) -> dict[str, str]:
    """Column → kind of a data set (for the builder's column and operator pickers)."""
    return {c.name: c.kind for c in datasets.get_dataset(store, ctx, dataset_id).columns}


@requires(Permission.VIEW)
def test_on_data(store: Store, ctx: Context, dataset_id: uuid.UUID, rules: Any, aggregates: Any = ()) -> RuleTest:
    """Validate `rules` against a data set, count the rows each rule's conditions match (viewers may test).

    `aggregates` (a set's derived columns over the whole data set, engine/generation/aggregates.py) are added
    to every row first, so conditions on them count as the generation will."""
    from engine.generation.aggregates import add_aggregates, aggregate_kinds, parse_aggregates

    columns = schema_of(store, ctx, dataset_id)
    schema = {**columns, **aggregate_kinds(parse_aggregates(aggregates), columns)}  # refused before loading
    parsed = parse_rules(rules, schema=schema)
    table = datasets.load_table(store, ctx, dataset_id)
    if aggregates:
        table, schema = add_aggregates(table, columns, aggregates)
    counts = rule_match_counts(parsed, table, schema) if parsed else {}
    return RuleTest(parsed, counts, table.height, schema, table, not_numbers(parsed, cast("Mapping[str, Sequence[Any]]", table), schema))  # a frame reads as its columns

