"""Saved templates: create, save (a new version each time), restore, duplicate, delete; live field checks."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from engine.errors import EngineError
from engine.ingest import ColumnProfile
from engine.platforms import (
    FieldSpec,
    Format,
    Platform,
    get_count_method,
    get_format,
    list_formats,
    list_platforms,
)
from engine.templates import (
    TemplateError,
    TemplateReport,
    compile_template,
    validate_template,
)
from engine.templates.validate import reference
from studio import audit, datasets
from studio.context import Context, Permission, allows
from studio.errors import NotFound, ValidationFailed
from studio.naming import clean_unique_name
from studio.permissions import requires
from studio.store.base import utcnow
from studio.store.campaign_models import Template
from studio.store.models import User
from studio.store.session import Store, TenantSession

MAX_NAME = 120
MAX_VERSIONS = 100  # the oldest versions beyond this are dropped from the history


@dataclass(frozen=True)
class TemplateInfo:
    """A saved template as pages see it (plain data, no ORM object)."""

    id: uuid.UUID
    name: str
    platform: str
    format: str
    fields: dict[str, str]
    version: int
    updated_at: dt.datetime

    @property
    def format_key(self) -> str:
        """`platform/format`, e.g. `reddit/thread`."""
        return f"{self.platform}/{self.format}"


@dataclass(frozen=True)
class TemplateVersion:
    """One saved version: its fields, when and by whom, and a note (e.g. "restored from version 2")."""

    version: int
    fields: dict[str, str]
    saved_at: dt.datetime | None
    saved_by: str
    note: str


@dataclass(frozen=True)
class FieldCheck:
    """What the editor shows under one field: the report, the rendering of one row, its length."""

    report: TemplateReport
    rendered: str | None
    render_error: str | None
    length: int | None
    limit: int | None
    unit: str

    @property
    def over(self) -> int:
        """Characters over the platform limit (0 when within it or unknown)."""
        return max(0, (self.length or 0) - self.limit) if self.limit is not None else 0


# --- formats and live checks (no store) -------------------------------------------------

def format_choices() -> dict[str, str]:
    """"platform/format" → label, for pickers."""
    return {f.key: f.label for f in list_formats()}


def platforms() -> list[Platform]:
    """Registered platforms, in registration order (for the platform picker)."""
    return list_platforms()


def format_of(key: str) -> Format:
    """The platform format for `platform/format`."""
    platform, _, name = key.partition("/")
    try:
        return get_format(platform, name)
    except EngineError as exc:
        raise ValidationFailed(f"Unknown format {key!r}: {exc}") from None


def snippet(column: str) -> str:
    """The text inserted for a column: `{{ product_name }}` or `{{ row["Product Name"] }}`."""
    return "{{ " + reference(column) + " }}"


def check_field(spec: FieldSpec, source: str, columns: Sequence[ColumnProfile], row: Mapping[str, Any] | None,
                *, row_count: int | None = None) -> FieldCheck:
    """Validate one field's template against the columns and render it for `row` (when given and valid)."""
    report = validate_template(source, [c.name for c in columns], null_counts={c.name: c.null_count for c in columns},
                               row_count=row_count)
    method = get_count_method(spec.count)
    rendered = error = None
    if report.ok and row is not None and source:
        try:
            rendered = compile_template(source, {c.name: c.kind for c in columns}).render(row)
        except TemplateError as exc:
            error = str(exc)
    length = method.measure(rendered) if rendered is not None else None
    return FieldCheck(report, rendered, error, length, spec.max_chars, method.unit)


def _syntax_errors(fields: Mapping[str, str]) -> list[str]:
    """Problems that no data set can fix (syntax, unknown filters, blocked constructs), per field."""
    problems = []
    for name, source in fields.items():
        report = validate_template(source, [])
        problems += [f"{name}: {issue.message}" for issue in report.errors if issue.variable is None]
    return problems


def clean_fields(fmt: Format, fields: Mapping[str, str]) -> dict[str, str]:
    """The non-empty fields of `fields`, checked against the format and for syntax."""
    known = set(fmt.field_names)
    unknown = sorted(set(fields) - known)
    if unknown:
        raise ValidationFailed(f"{fmt.label} has no field {unknown[0]!r} (fields: {', '.join(fmt.field_names)}).")
    out = {name: source for name in fmt.field_names if (source := fields.get(name) or "").strip()}
    if not out:
        raise ValidationFailed("Write at least one field before saving.")
    problems = _syntax_errors(out)
    if problems:
        raise ValidationFailed("Fix the template before saving — " + "; ".join(problems))
    return out


# --- the store ----------------------------------------------------------------------------

@requires(Permission.VIEW)
def sample_row(store: Store, ctx: Context, dataset_id: uuid.UUID, index: int) -> dict[str, Any]:
    """Row `index` (0-based) of a data set, for the live rendering (viewers may preview)."""
    table = datasets.load_table(store, ctx, dataset_id, limit=index + 1)
    if not 0 <= index < table.height:
        raise ValidationFailed(f"Row {index + 1:,} does not exist: the data set has {table.height:,} rows.")
    return table.row(index, named=True)


@requires(Permission.VIEW)
def can_edit(store: Store, ctx: Context) -> bool:
    """Whether the acting member may save templates here (pages mirror it; services enforce it)."""
    with store.session_scope(ctx) as s:
        return bool(s.info.get("system")) or allows(s.role, Permission.EDIT)


def _info(t: Template) -> TemplateInfo:
    return TemplateInfo(t.id, t.name, t.platform, t.format, dict(t.fields), t.version, t.updated_at)


def _get(s: TenantSession, template_id: uuid.UUID) -> Template:
    t = s.scalar(select(Template).where(Template.id == template_id))
    if t is None:
        raise NotFound("This template does not exist (any more) in this workspace.")
    return t


def _clean_name(s: TenantSession, name: str, *, exclude: uuid.UUID | None = None) -> str:
    return clean_unique_name(s, Template, name, "template", max_len=MAX_NAME, exclude=exclude)


def _entry(ctx: Context, version: int, fields: Mapping[str, str], note: str = "") -> dict[str, Any]:
    return {"version": version, "fields": dict(fields), "saved_at": utcnow().isoformat(),
            "saved_by": str(ctx.user_id) if ctx.user_id else None, "note": note}


@requires(Permission.VIEW)
def list_templates(store: Store, ctx: Context, *, format_key: str | None = None) -> list[TemplateInfo]:
    """The workspace's templates by name; with `format_key` ("reddit/thread") only those of that format."""
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        stmt = select(Template).order_by(Template.name)
        if format_key:
            platform, _, name = format_key.partition("/")
            stmt = stmt.where(Template.platform == platform, Template.format == name)
        return [_info(t) for t in s.scalars(stmt)]


@requires(Permission.VIEW)
def get_template(store: Store, ctx: Context, template_id: uuid.UUID) -> TemplateInfo:
    """One template of this workspace (NotFound for any other)."""
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        return _info(_get(s, template_id))


@requires(Permission.EDIT)
def create_template(store: Store, ctx: Context, name: str, format_key: str, fields: Mapping[str, str]) -> TemplateInfo:
    """A new template at version 1."""
    fmt = format_of(format_key)
    clean = clean_fields(fmt, fields)
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        t = Template(name=_clean_name(s, name), platform=fmt.platform, format=fmt.name, fields=clean, version=1,
                     history=[_entry(ctx, 1, clean)], created_by=ctx.user_id, updated_at=utcnow())
        s.add(t)
        s.flush()
        audit.record(s, "template.create", object_type="template", object_id=t.id,
                     summary=f"Created template {t.name!r} ({fmt.label})")
        return _info(t)


@requires(Permission.EDIT)
def save_template(store: Store, ctx: Context, template_id: uuid.UUID, fields: Mapping[str, str], *,
                  expected_version: int | None = None, note: str = "") -> TemplateInfo:
    """Save `fields` as the next version; refuses when someone saved a newer version meanwhile."""
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        t = _get(s, template_id)
        if expected_version is not None and t.version != expected_version:
            raise ValidationFailed(f"{t.name!r} was saved as version {t.version} meanwhile (you edited version "
                                   f"{expected_version}). Copy your changes, reload and save again.")
        clean = clean_fields(format_of(f"{t.platform}/{t.format}"), fields)
        if clean == t.fields:
            return _info(t)
        t.version += 1
        t.fields = clean
        t.history = [*list(t.history or []), _entry(ctx, t.version, clean, note)][-MAX_VERSIONS:]
        t.updated_at = utcnow()
        audit.record(s, "template.save", object_type="template", object_id=t.id,
                     summary=f"Saved template {t.name!r} as version {t.version}" + (f" ({note})" if note else ""))
        return _info(t)


@requires(Permission.EDIT)
def rename_template(store: Store, ctx: Context, template_id: uuid.UUID, name: str) -> TemplateInfo:
    """Give a template another (unique) name; the version does not change."""
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        t = _get(s, template_id)
        old, t.name = t.name, _clean_name(s, name, exclude=t.id)
        if old != t.name:
            t.updated_at = utcnow()
            audit.record(s, "template.rename", object_type="template", object_id=t.id,
                         summary=f"Renamed template {old!r} to {t.name!r}")
        return _info(t)


@requires(Permission.VIEW)
def versions(store: Store, ctx: Context, template_id: uuid.UUID) -> list[TemplateVersion]:
    """Every kept version, newest first, with who saved it."""
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        history = list(_get(s, template_id).history or [])
        ids = {uuid.UUID(h["saved_by"]) for h in history if h.get("saved_by")}
        names = {r[0]: r[1] for r in s.execute(select(User.id, User.name).where(User.id.in_(ids)))} if ids else {}
    out = []
    for h in reversed(history):
        who = uuid.UUID(h["saved_by"]) if h.get("saved_by") else None
        at = dt.datetime.fromisoformat(h["saved_at"]) if h.get("saved_at") else None
        out.append(TemplateVersion(int(h["version"]), dict(h["fields"]), at,
                                   names.get(who, "someone") if who else "system", h.get("note") or ""))
    return out


@requires(Permission.EDIT)
def restore_version(store: Store, ctx: Context, template_id: uuid.UUID, version: int) -> TemplateInfo:
    """Save an earlier version's fields as a new version (history is never rewritten)."""
    kept = {v.version: v for v in versions(store, ctx, template_id)}
    if version not in kept:
        raise NotFound(f"Version {version} is not kept any more.")
    return save_template(store, ctx, template_id, kept[version].fields, note=f"restored from version {version}")


@requires(Permission.EDIT)
def duplicate_template(store: Store, ctx: Context, template_id: uuid.UUID, name: str | None = None) -> TemplateInfo:
    """A copy at version 1 named "<name> (copy)" unless a name is given."""
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        src = _get(s, template_id)
        if name is None:
            taken = set(s.scalars(select(Template.name)))
            base = f"{src.name} (copy)"[:MAX_NAME]
            name, n = base, 2
            while name in taken:
                name, n = f"{base[:MAX_NAME - 6]} ({n})", n + 1
        t = Template(name=_clean_name(s, name), platform=src.platform, format=src.format, fields=dict(src.fields),
                     version=1, history=[_entry(ctx, 1, src.fields, f"copied from {src.name!r} version {src.version}")],
                     created_by=ctx.user_id, updated_at=utcnow())
        s.add(t)
        s.flush()
        audit.record(s, "template.duplicate", object_type="template", object_id=t.id,
                     summary=f"Duplicated template {src.name!r} as {t.name!r}")
        return _info(t)


@requires(Permission.EDIT)
def delete_template(store: Store, ctx: Context, template_id: uuid.UUID) -> str:
    """Delete a template with its history; returns its name for the confirmation message."""
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        t = _get(s, template_id)
        name = t.name
        s.delete(t)
        audit.record(s, "template.delete", object_type="template", object_id=template_id,
                     summary=f"Deleted template {name!r}")
        return name
