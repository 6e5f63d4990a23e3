"""Reviewing a campaign set like Google Ads Editor: edit any field with per-cell checks, approve or reject
row by row, find & replace across a filtered view, and settle edits whose source changed since (conflicts).

Who may approve is a workspace setting (``Workspace.approval``): any member who can edit, or admins only.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update

from engine.generation import check_value
from engine.platforms import FieldSpec, get_format
from studio import audit
from studio.context import Context, Permission, Role, allows
from studio.errors import NotFound, PermissionDenied, ValidationFailed
from studio.permissions import requires
from studio.store.base import utcnow
from studio.store.campaign_models import CampaignSet, Variation
from studio.store.models import Workspace
from studio.store.session import Store, TenantSession
from studio.variations import VariationFilter, filtered

STATUSES = ("pending", "approved", "rejected")
APPROVAL_POLICIES = {"editors": "Any member who can edit", "admins": "Admins and owners only"}
# The stored `title` column mirrors the first of these fields the format has (else its first field).
_TITLE_SOURCES = ("title", "headline", "primary_text", "text", "caption")


@dataclass
class ReviewOutcome:
    """What one round of grid changes did: fields saved, statuses set, and the refused cells with reasons."""

    edited: int = 0
    statuses: int = 0
    refused: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ReplaceCount:
    matching: int
    total: int


# --- who may approve ------------------------------------------------------------------------------

@requires(Permission.VIEW)
def approval_policy(store: Store, ctx: Context) -> str:
    """"editors" or "admins": who may approve or reject variations in this workspace."""
    with store.session_scope(ctx) as s:
        return _policy(s)


@requires(Permission.MANAGE_MEMBERS)
def set_approval_policy(store: Store, ctx: Context, policy: str) -> None:
    if policy not in APPROVAL_POLICIES:
        raise ValidationFailed(f"Approval must be one of: {', '.join(APPROVAL_POLICIES)}.")
    with store.session_scope(ctx) as s:
        s.require(Permission.MANAGE_MEMBERS)
        ws = s.get(Workspace, s.workspace_id)
        if ws is None:
            raise NotFound("This workspace no longer exists.")
        ws.approval = policy
        audit.record(s, "workspace.approval", object_type="workspace", object_id=ws.id,
                     summary=f"Approval: {APPROVAL_POLICIES[policy].lower()}")


@requires(Permission.VIEW)
def may_approve(store: Store, ctx: Context) -> bool:
    """Whether the acting member may approve or reject (for the page to mirror; the services check)."""
    with store.session_scope(ctx) as s:
        return _may_approve(s)


def _policy(s: TenantSession) -> str:
    return s.scalar(select(Workspace.approval).where(Workspace.id == s.workspace_id)) or "editors"


def _may_approve(s: TenantSession) -> bool:
    return may_approve_as(s, s.role)


def may_approve_as(s: TenantSession, role: Role | None) -> bool:
    """Whether a member with `role` may approve under the workspace's setting (a job acting for a member)."""
    needed = Permission.MANAGE_MEMBERS if _policy(s) == "admins" else Permission.EDIT
    return allows(role, needed)


def require_approver(s: TenantSession) -> None:
    """PermissionDenied unless the acting member may approve or reject under the workspace's setting."""
    s.require(Permission.EDIT)
    if not _may_approve(s):
        raise PermissionDenied("In this workspace only admins and owners approve or reject variations "
                               "(Workspace settings → Approval). Ask one of them to review this set.")


# --- checks ---------------------------------------------------------------------------------------

def _specs(s: TenantSession, set_id: uuid.UUID) -> tuple[CampaignSet, dict[str, FieldSpec]]:
    cs = s.scalar(select(CampaignSet).where(CampaignSet.id == set_id))
    if cs is None:
        raise NotFound("This campaign set does not exist (any more).")
    return cs, {f.name: f for f in get_format(cs.platform, cs.format).fields}


def problems_of(specs: Mapping[str, FieldSpec], fields: Mapping[str, Any]) -> str:
    """Every field's first failing check, in the wording generation stores ('name: reason; …')."""
    out = []
    for name, spec in specs.items():
        reason = check_value(spec, _text(fields.get(name)))
        if reason:
            out.append(f"{name}: {reason}")
    return "; ".join(out)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _apply_fields(v: Variation, specs: Mapping[str, FieldSpec], new: Mapping[str, str]) -> None:
    """Store a checked edit: the variation is marked edited and re-validated as a whole."""
    v.fields = {**v.fields, **new}
    title_src = next((n for n in _TITLE_SOURCES if n in specs), next(iter(specs), None))
    if title_src:
        v.title = _text(v.fields.get(title_src))[:1000]
    if "subreddit" in specs:
        v.subreddit = _text(v.fields.get("subreddit"))[:64]
    v.problems = problems_of(specs, v.fields)
    v.valid = not v.problems
    if not v.edited:
        v.source_hash = v.content_hash  # the generated text this edit starts from
    v.edited, v.updated_at = True, utcnow()


def _refusal(v: Variation, spec: FieldSpec, reason: str) -> str:
    return f"row {v.row_index + 1}, {spec.label}: {reason} — not saved"


# --- edits and statuses ---------------------------------------------------------------------------

@requires(Permission.EDIT)
def review(store: Store, ctx: Context, set_id: uuid.UUID, changes: Mapping[uuid.UUID, Mapping[str, str]]) -> ReviewOutcome:
    """Apply grid changes (variation id → {field or "status": value}). A cell that breaks its field's
    limit is refused with the reason and nothing of it is stored; the other cells are saved."""
    out = ReviewOutcome()
    if not changes:
        return out
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        _, specs = _specs(s, set_id)
        wants_status = any("status" in c for c in changes.values())
        if wants_status:
            require_approver(s)
        rows = {v.id: v for v in s.scalars(select(Variation).where(Variation.campaign_set_id == set_id,
                                                                   Variation.id.in_(list(changes))).with_for_update())}
        for vid, cells in changes.items():
            v = rows.get(vid)
            if v is None:
                out.refused.append("a variation was removed by a newer run — not saved")
                continue
            good: dict[str, str] = {}
            for name, value in cells.items():
                if name == "status":
                    if value not in STATUSES:
                        out.refused.append(f"row {v.row_index + 1}: status must be pending, approved or rejected")
                    elif value != v.status:
                        v.status, v.updated_at = value, utcnow()
                        out.statuses += 1
                    continue
                spec = specs.get(name)
                if spec is None:
                    out.refused.append(f"row {v.row_index + 1}: {name!r} is not a field of this format — not saved")
                    continue
                text = _text(value)
                reason = check_value(spec, text)
                if reason:
                    out.refused.append(_refusal(v, spec, reason))
                elif text != _text(v.fields.get(name)):
                    good[name] = text
            if good:
                _apply_fields(v, specs, good)
                out.edited += 1
        if out.edited:
            audit.record(s, "variation.edit", object_type="campaign_set", object_id=set_id,
                         summary=f"Edited {out.edited:,} variation{'' if out.edited == 1 else 's'}")
        if out.statuses:
            audit.record(s, "variation.review", object_type="campaign_set", object_id=set_id,
                         summary=f"Changed the status of {out.statuses:,} variation{'' if out.statuses == 1 else 's'}")
    return out


@requires(Permission.EDIT)
def edit(store: Store, ctx: Context, variation_id: uuid.UUID, fields: Mapping[str, str]) -> None:
    """Hand-edit one variation; a value that breaks its field's limit is refused (ValidationFailed)."""
    with store.session_scope(ctx) as s:
        set_id = s.scalar(select(Variation.campaign_set_id).where(Variation.id == variation_id))
    if set_id is None:
        raise NotFound("This variation does not exist (any more).")
    outcome = review(store, ctx, set_id, {variation_id: dict(fields)})
    if outcome.refused:
        raise ValidationFailed("; ".join(outcome.refused) + ". Shorten or correct the text and save again.")


@requires(Permission.EDIT)
def set_status(store: Store, ctx: Context, set_id: uuid.UUID, status: str, *, ids: list[uuid.UUID] | None = None,
               f: VariationFilter | None = None) -> int:
    """Approve, reject or reset some variations (by id) or a whole filtered view; returns how many changed."""
    if status not in STATUSES:
        raise ValidationFailed("Status must be approved, rejected or pending.")
    with store.session_scope(ctx) as s:
        require_approver(s)
        target = filtered(set_id, f or VariationFilter()).where(Variation.status != status)
        if ids is not None:
            target = target.where(Variation.id.in_(ids))
        sub = target.with_only_columns(Variation.id).scalar_subquery()
        result = s.execute(update(Variation).where(Variation.id.in_(sub)).values(status=status, updated_at=utcnow()))
        n = int(getattr(result, "rowcount", 0) or 0)
        audit.record(s, f"variation.{status}", object_type="campaign_set", object_id=set_id, summary=f"Marked {n:,} variation{'' if n == 1 else 's'} {status}")
        return n


# --- find & replace -------------------------------------------------------------------------------

def _pattern(find: str, match_case: bool) -> re.Pattern[str]:
    if not find:
        raise ValidationFailed("Type the text to find.")
    return re.compile(re.escape(find), 0 if match_case else re.IGNORECASE)


def _targets(specs: Mapping[str, FieldSpec], fields: Iterable[str] | None) -> list[str]:
    names = list(fields) if fields else [n for n, sp in specs.items() if sp.kind in ("text", "markdown", "url")]
    unknown = [n for n in names if n not in specs]
    if unknown:
        raise ValidationFailed(f"Not fields of this format: {', '.join(unknown)}.")
    return names


@requires(Permission.VIEW)
def replace_count(store: Store, ctx: Context, set_id: uuid.UUID, f: VariationFilter, find: str, *,
                  fields: Iterable[str] | None = None, match_case: bool = True) -> ReplaceCount:
    """How many of the filtered variations contain `find` in the chosen fields (all text fields by default)."""
    pattern = _pattern(find, match_case)
    with store.session_scope(ctx) as s:
        _, specs = _specs(s, set_id)
        names = _targets(specs, fields)
        matching = total = 0
        for fs in s.scalars(filtered(set_id, f).with_only_columns(Variation.fields).execution_options(yield_per=5000)):
            total += 1
            matching += any(pattern.search(_text(fs.get(n))) for n in names)
    return ReplaceCount(matching, total)


@requires(Permission.EDIT)
def replace(store: Store, ctx: Context, set_id: uuid.UUID, f: VariationFilter, find: str, replacement: str, *,
            fields: Iterable[str] | None = None, match_case: bool = True) -> ReviewOutcome:
    """Replace `find` with `replacement` in the filtered variations. A variation whose new text would break
    a limit keeps its old text and is listed in `refused`; the others are saved as edits."""
    pattern = _pattern(find, match_case)
    out = ReviewOutcome()
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        _, specs = _specs(s, set_id)
        names = _targets(specs, fields)
        for v in s.scalars(filtered(set_id, f).order_by(Variation.row_index, Variation.variation_index)
                           .with_for_update().execution_options(yield_per=2000)):
            new: dict[str, str] = {}
            for n in names:
                old = _text(v.fields.get(n))
                changed = pattern.sub(lambda _m: replacement, old)
                if changed != old:
                    new[n] = changed
            if not new:
                continue
            bad = [(specs[n], r) for n, text in new.items() if (r := check_value(specs[n], text))]
            if bad:
                out.refused.extend(_refusal(v, spec, reason) for spec, reason in bad)
                continue
            _apply_fields(v, specs, new)
            out.edited += 1
        if out.edited:
            audit.record(s, "variation.replace", object_type="campaign_set", object_id=set_id,
                         summary=f"Replaced {find!r} with {replacement!r} in {out.edited:,} variation{'' if out.edited == 1 else 's'}")
    return out


# --- conflicts ------------------------------------------------------------------------------------

@requires(Permission.EDIT)
def resolve_conflicts(store: Store, ctx: Context, set_id: uuid.UUID, ids: list[uuid.UUID], *, keep_edits: bool) -> int:
    """Settle conflicts: keep the edits (they now count as based on the new source), or drop them so the
    next Regenerate writes the generated text. Returns how many were settled."""
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        rows = s.scalars(select(Variation).where(Variation.campaign_set_id == set_id, Variation.id.in_(ids),
                                                 Variation.edited.is_(True))).all()
        n = 0
        for v in rows:
            if not v.source_hash or v.source_hash == v.content_hash:
                continue
            if keep_edits:
                v.content_hash = v.source_hash
            else:
                v.edited, v.content_hash = False, ""
            v.updated_at = utcnow()
            n += 1
        audit.record(s, "variation.conflict", object_type="campaign_set", object_id=set_id,
                     summary=f"{'Kept' if keep_edits else 'Dropped'} {n:,} conflicting edit{'' if n == 1 else 's'}")
        return n
