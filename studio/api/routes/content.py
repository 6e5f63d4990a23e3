"""Templates and rule sets (both with versions): create, read, update, delete, list and restore versions."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from studio import rule_sets as rs
from studio import templates as tp
from studio.api import models as m
from studio.api.deps import Cursor, Limit, Read, Write, page_of

templates = APIRouter(prefix="/templates", tags=["templates"])
rule_sets = APIRouter(prefix="/rule-sets", tags=["rule sets"])


def _template(t: tp.TemplateInfo) -> m.Template:
    return m.Template(id=t.id, name=t.name, format=f"{t.platform}/{t.format}", fields=t.fields, version=t.version,
                      updated_at=t.updated_at)


@templates.get("", summary="List templates")
def list_templates(who: Read, cursor: Cursor = None, limit: Limit = 100, format: str | None = None) -> m.ListOf[m.Template]:
    items, after = page_of(tp.list_templates(who.store, who.ctx, format_key=format), cursor, limit)
    return m.ListOf[m.Template](items=[_template(t) for t in items], next_cursor=after)


@templates.post("", status_code=status.HTTP_201_CREATED, summary="Create a template")
def create_template(who: Write, body: m.TemplateCreate) -> m.Template:
    return _template(tp.create_template(who.store, who.ctx, body.name, body.format, body.fields))


@templates.get("/{template_id}", summary="One template")
def get_template(who: Read, template_id: uuid.UUID) -> m.Template:
    return _template(tp.get_template(who.store, who.ctx, template_id))


@templates.patch("/{template_id}", summary="Save new fields (a new version) and/or rename")
def update_template(who: Write, template_id: uuid.UUID, body: m.TemplateUpdate) -> m.Template:
    info = tp.get_template(who.store, who.ctx, template_id)
    if body.name is not None and body.name != info.name:
        info = tp.rename_template(who.store, who.ctx, template_id, body.name)
    if body.fields is not None:
        info = tp.save_template(who.store, who.ctx, template_id, body.fields, expected_version=body.expected_version,
                                note=body.note)
    return _template(info)


@templates.delete("/{template_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a template")
def delete_template(who: Write, template_id: uuid.UUID) -> Response:
    tp.delete_template(who.store, who.ctx, template_id)
    return Response(status_code=204)


@templates.get("/{template_id}/versions", summary="Saved versions of a template")
def template_versions(who: Read, template_id: uuid.UUID) -> list[m.TemplateVersion]:
    return [m.TemplateVersion(version=v.version, fields=v.fields, saved_at=v.saved_at, saved_by=v.saved_by, note=v.note)
            for v in tp.versions(who.store, who.ctx, template_id)]


@templates.post("/{template_id}/versions/{version}/restore", summary="Restore a version (saved as the newest)")
def restore_version(who: Write, template_id: uuid.UUID, version: int) -> m.Template:
    return _template(tp.restore_version(who.store, who.ctx, template_id, version))


def _rule_set(r: rs.RuleSetInfo) -> m.RuleSet:
    return m.RuleSet(id=r.id, name=r.name, rules=r.rules, updated_at=r.updated_at, version=r.version)


@rule_sets.get("", summary="List rule sets")
def list_rule_sets(who: Read, cursor: Cursor = None, limit: Limit = 100) -> m.ListOf[m.RuleSet]:
    items, after = page_of(rs.list_rule_sets(who.store, who.ctx), cursor, limit)
    return m.ListOf[m.RuleSet](items=[_rule_set(r) for r in items], next_cursor=after)


@rule_sets.post("", status_code=status.HTTP_201_CREATED, summary="Create a rule set")
def create_rule_set(who: Write, body: m.RuleSetCreate) -> m.RuleSet:
    return _rule_set(rs.create_rule_set(who.store, who.ctx, body.name, body.rules))


@rule_sets.get("/{rule_set_id}", summary="One rule set")
def get_rule_set(who: Read, rule_set_id: uuid.UUID) -> m.RuleSet:
    return _rule_set(rs.get_rule_set(who.store, who.ctx, rule_set_id))


@rule_sets.put("/{rule_set_id}", summary="Replace a rule set's rules (and optionally its name)")
def save_rule_set(who: Write, rule_set_id: uuid.UUID, body: m.RuleSetUpdate) -> m.RuleSet:
    return _rule_set(rs.save_rule_set(who.store, who.ctx, rule_set_id, body.rules, name=body.name, note=body.note))


@rule_sets.get("/{rule_set_id}/versions", summary="Saved versions of a rule set")
def rule_set_versions(who: Read, rule_set_id: uuid.UUID) -> list[m.RuleSetVersion]:
    return [m.RuleSetVersion(version=v.version, rules=v.rules, saved_at=v.saved_at, saved_by=v.saved_by, note=v.note)
            for v in rs.versions(who.store, who.ctx, rule_set_id)]


@rule_sets.post("/{rule_set_id}/versions/{version}/restore", summary="Restore a rule set version (saved as the newest)")
def restore_rule_set_version(who: Write, rule_set_id: uuid.UUID, version: int) -> m.RuleSet:
    return _rule_set(rs.restore_version(who.store, who.ctx, rule_set_id, version))


@rule_sets.delete("/{rule_set_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a rule set")
def delete_rule_set(who: Write, rule_set_id: uuid.UUID) -> Response:
    rs.delete_rule_set(who.store, who.ctx, rule_set_id)
    return Response(status_code=204)
