"""Variations of a campaign set: page through millions, filter, export (editing and approval: studio/review.py)."""

from __future__ import annotations

import csv
import io
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, Text, cast, func, or_, select

from studio.audit import safe_cell
from studio.context import Context, Permission
from studio.errors import NotFound, ValidationFailed
from studio.permissions import requires
from studio.store.campaign_models import CampaignSet, Variation
from studio.store.session import Store

SORTS = {"row": (Variation.row_index, Variation.variation_index, Variation.id),
         "title": (Variation.title, Variation.row_index, Variation.variation_index, Variation.id),
         "status": (Variation.status, Variation.row_index, Variation.variation_index, Variation.id)}
"""Each a total order (ties broken down to the id), so a page is the same read from either end."""


@dataclass(frozen=True)
class VariationFilter:
    status: str | None = None          # pending / approved / rejected
    valid: bool | None = None
    subreddit: str | None = None
    search: str | None = None
    tag: str | None = None             # a tag or group their rules gave them
    sort: str = "row"
    flair: str | None = None           # Reddit threads
    campaign: str | None = None        # paid formats with a campaign structure (fields campaign_name / ad_group_name)
    ad_group: str | None = None
    edits: str | None = None           # "edited" (by hand) or "conflict" (edited, and the source changed since)


@dataclass
class Page:
    rows: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0


def filtered(set_id: uuid.UUID, f: VariationFilter) -> Select[Any]:
    """The set's variations that pass the filter (a SELECT to page, count, update or export)."""
    stmt = select(Variation).where(Variation.campaign_set_id == set_id)
    for name, value in (("flair", f.flair), ("campaign_name", f.campaign), ("ad_group_name", f.ad_group)):
        if value:
            stmt = stmt.where(Variation.fields[name].as_string() == value)
    if f.edits == "edited":
        stmt = stmt.where(Variation.edited.is_(True))
    elif f.edits == "conflict":
        stmt = stmt.where(Variation.edited.is_(True), Variation.source_hash != "",
                          Variation.source_hash != Variation.content_hash)
    if f.status:
        stmt = stmt.where(Variation.status == f.status)
    if f.valid is not None:
        stmt = stmt.where(Variation.valid.is_(f.valid))
    if f.subreddit:
        stmt = stmt.where(Variation.subreddit == f.subreddit)
    if f.search:
        stmt = stmt.where(Variation.title.ilike(f"%{f.search.replace('%', '').replace('_', '')}%"))
    if f.tag:  # the JSON text holds the label as a JSON string: match it quoted, with LIKE's wildcards escaped
        quoted = json.dumps(f.tag, ensure_ascii=False).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(or_(cast(Variation.tags, Text).like(f"%{quoted}%", escape="\\"),
                              cast(Variation.groups, Text).like(f"%{quoted}%", escape="\\")))
    return stmt


_filtered = filtered


@dataclass(frozen=True)
class FilterOptions:
    """Values the set's variations hold for the filters that fit its format (empty: hide that filter)."""

    subreddits: list[str] = field(default_factory=list)
    flairs: list[str] = field(default_factory=list)
    campaigns: list[str] = field(default_factory=list)
    ad_groups: list[str] = field(default_factory=list)


@requires(Permission.VIEW)
def filter_options(store: Store, ctx: Context, set_id: uuid.UUID, *, limit: int = 500) -> FilterOptions:
    """Distinct subreddits, flairs, campaigns and ad groups of a set (at most `limit` of each), sorted."""
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        base = Variation.campaign_set_id == set_id

        def distinct(col: Any) -> list[str]:
            values = s.scalars(select(col).where(base, col.is_not(None), col != "").distinct().limit(limit))
            return sorted(str(v) for v in values)
        return FilterOptions(distinct(Variation.subreddit), distinct(Variation.fields["flair"].as_string()),
                             distinct(Variation.fields["campaign_name"].as_string()),
                             distinct(Variation.fields["ad_group_name"].as_string()))


@requires(Permission.VIEW)
def labels(store: Store, ctx: Context, set_id: uuid.UUID) -> list[str]:
    """Every tag and group the set's variations carry, sorted (for the filter)."""
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        combos = s.execute(select(cast(Variation.tags, Text), cast(Variation.groups, Text))
                           .where(Variation.campaign_set_id == set_id).distinct()).all()
    return sorted({label for row in combos for text in row for label in json.loads(text or "[]")})


@requires(Permission.VIEW)
def page(store: Store, ctx: Context, set_id: uuid.UUID, f: VariationFilter, *, offset: int = 0, limit: int = 100) -> Page:
    """One page of the filtered view plus its total (counted in the database, never loaded)."""
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        stmt = _filtered(set_id, f)
        total = s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        order = SORTS.get(f.sort, SORTS["row"])
        offset, end = max(0, offset), min(total, max(0, offset) + min(limit, 1000))
        if offset > total // 2 and end > offset:
            # the back half read from the end: the last page skips nothing instead of scanning the whole set
            # (each sort is a total order, so the reversed rows are exactly the page)
            back = stmt.order_by(*(c.desc() for c in order)).offset(total - end).limit(end - offset)
            rows = list(reversed(s.scalars(back).all()))
        else:
            rows = list(s.scalars(stmt.order_by(*order).offset(offset).limit(min(limit, 1000))).all())
        return Page([_plain(v) for v in rows], total)


def is_conflict(v: Variation) -> bool:
    """An edit whose source row generated different text since the edit was made."""
    return bool(v.edited and v.source_hash and v.source_hash != v.content_hash)


def _plain(v: Variation) -> dict[str, Any]:
    return {"id": v.id, "row": v.row_index + 1, "variation": v.variation_index + 1, "status": v.status,
            "valid": v.valid, "problems": v.problems, "edited": v.edited, "conflict": is_conflict(v), "subreddit": v.subreddit,
            "tags": list(v.tags or []), "groups": list(v.groups or []), **v.fields}


@requires(Permission.VIEW)
def export(store: Store, ctx: Context, set_id: uuid.UUID, f: VariationFilter, kind: str) -> bytes:
    """CSV / JSON / Excel of the filtered view; spreadsheet cells never start a formula."""
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        rows = [_plain(v) for v in s.scalars(_filtered(set_id, f).order_by(*SORTS["row"]).execution_options(yield_per=5000))]
    for r in rows:
        r["id"] = str(r["id"])
    if kind == "json":
        return json.dumps(rows, ensure_ascii=False, indent=1).encode()
    headers = list(dict.fromkeys(k for r in rows for k in r)) or ["row"]
    if kind == "csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow([safe_cell(h) for h in headers])  # a header can carry a formula too (a hand-edited field name)
        for r in rows:
            w.writerow([safe_cell(_cell(r.get(h, ""))) for h in headers])
        return buf.getvalue().encode("utf-8-sig")
    if kind == "xlsx":
        import polars as pl

        out = io.BytesIO()
        pl.DataFrame([{safe_cell(h): safe_cell(_cell(r.get(h, ""))) for h in headers} for r in rows]).write_excel(out)
        return out.getvalue()
    raise ValidationFailed(f"Unknown export format {kind!r}; use csv, json or xlsx.")


def _cell(value: Any) -> str:
    return "; ".join(str(v) for v in value) if isinstance(value, list) else str(value)


@requires(Permission.VIEW)
def bulk_exports(store: Store, ctx: Context, set_id: uuid.UUID) -> dict[str, str]:
    """Bulk-import files the set's platform tools accept: name → label."""
    from engine.platforms import list_exports

    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        cs = s.scalar(select(CampaignSet).where(CampaignSet.id == set_id))
        if cs is None:
            raise NotFound("This campaign set does not exist (any more).")
        return {e.name: e.label for e in list_exports(cs.platform, cs.format)}


def _removed_by_dedup(s: Any, set_id: uuid.UUID, f: VariationFilter) -> list[dict[str, Any]]:
    """The rows of the ads the latest finished run's dedup removed (their ad groups stay, empty), for a view
    of the whole set or of one campaign / ad group; none for views filtered otherwise."""
    from engine.platforms.ad_tree import DEDUP_FIGURE, skeleton_records
    from studio.store.campaign_models import GenerationRun

    if any(getattr(f, name) is not None for name in ("status", "valid", "subreddit", "search", "tag", "flair", "edits")):
        return []
    figures = s.scalar(select(GenerationRun.figures).where(GenerationRun.campaign_set_id == set_id,
                                                           GenerationRun.status == "done")
                       .order_by(GenerationRun.started_at.desc()).limit(1)) or {}
    return [r for r in skeleton_records(figures.get(DEDUP_FIGURE))
            if (f.campaign is None or r["campaign_name"] == f.campaign) and (f.ad_group is None or r["ad_group_name"] == f.ad_group)]


@requires(Permission.VIEW)
def set_structure(store: Store, ctx: Context, set_id: uuid.UUID) -> Any:
    """The campaign → ad group → ad tree of a generated paid set (engine Structure; None without a structure):
    its stored variations plus the ad groups its run's dedup emptied — what its preview showed."""
    from engine.generation.preview import AD_LABELS
    from engine.generation.structure import CampaignStructure, build_structure

    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        cs = s.scalar(select(CampaignSet).where(CampaignSet.id == set_id))
        if cs is None:
            raise NotFound("This campaign set does not exist (any more).")
        structure = (cs.config or {}).get("structure")
        if structure is None:
            return None
        records = [dict(v.fields) for v in s.scalars(select(Variation).where(Variation.campaign_set_id == set_id)
                                                     .order_by(*SORTS["row"]))]
        removed = _removed_by_dedup(s, set_id, VariationFilter())
    label = next((n for n in AD_LABELS if records and n in records[0]), None)
    return build_structure(records, CampaignStructure.from_dict(structure), ad_label=label, duplicates=removed)


@requires(Permission.VIEW)
def export_bulk(store: Store, ctx: Context, set_id: uuid.UUID, export_name: str, f: VariationFilter) -> bytes:
    """A platform bulk file (Google Ads Editor, Meta) of the filtered view with its campaign structure
    (see `export_bulk_noted`, which also says what the file leaves out)."""
    return export_bulk_noted(store, ctx, set_id, export_name, f)[0]


@requires(Permission.VIEW)
def export_bulk_noted(store: Store, ctx: Context, set_id: uuid.UUID, export_name: str,
                      f: VariationFilter) -> tuple[bytes, list[str]]:
    """A platform bulk file of the filtered view and notes on what it leaves out and why (e.g. Meta ad sets
    that dedup left without an ad).

    Checked before download: every value against the format's limits, then every row against the
    columns its row type requires (AD_BULK_FORMATS.md); a file that would be rejected is refused with
    the reason and the rows concerned. No cell, header included, can start a formula.
    """
    from engine.errors import EngineError
    from engine.generation import check_value
    from engine.generation.structure import structure_input
    from engine.platforms import get_export, get_format
    from engine.platforms.bulk_files import build_bulk_file

    spec = get_export(export_name)
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        cs = s.scalar(select(CampaignSet).where(CampaignSet.id == set_id))
        if cs is None:
            raise NotFound("This campaign set does not exist (any more).")
        if (spec.platform, spec.format) != (cs.platform, cs.format):
            raise ValidationFailed(f"{spec.label} is for {spec.platform}/{spec.format}; this set makes {cs.platform}/{cs.format}.")
        rows = [(v.row_index, dict(v.fields)) for v in s.scalars(_filtered(set_id, f).order_by(*SORTS["row"]))]
        structure = (cs.config or {}).get("structure")
        removed = _removed_by_dedup(s, set_id, f) if structure is not None else []
    if not rows:
        raise ValidationFailed("No variation in this view: there is nothing to export. Clear the filters or generate the set.")
    fmt = get_format(cs.platform, cs.format)
    problems: list[str] = []
    for row, fields in rows:
        for spec_field in fmt.fields:
            reason = check_value(spec_field, str(fields.get(spec_field.name, "") or ""))
            if reason:
                problems.append(f"row {row + 1}, {spec_field.label}: {reason}")
    if problems:
        more = f" (and {len(problems) - 10:,} more)" if len(problems) > 10 else ""
        raise ValidationFailed(f"{len(problems):,} {'value breaks' if len(problems) == 1 else 'values break'} {fmt.label} limits, so the file would be rejected: "
                               + "; ".join(problems[:10]) + more + ". Fix or reject those variations first.")
    try:
        bulk = build_bulk_file(spec.name, spec.label, [fields for _, fields in rows], structure_input(cs.platform, structure),
                               duplicates=removed, encoding=spec.encoding, delimiter=spec.delimiter)
        bulk.check(cs.platform)
    except EngineError as exc:
        raise ValidationFailed(str(exc)) from exc
    return bulk.to_bytes(), list(bulk.notes)
