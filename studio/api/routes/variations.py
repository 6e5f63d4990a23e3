"""Variations of a campaign set: page, filter, edit, approve or reject, export in every format."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from studio import review, variations
from studio.api import lookups
from studio.api import models as m
from studio.api.deps import Cursor, Limit, Read, Write, decode_cursor, encode_cursor
from studio.api.problems import ApiProblem
from studio.variations import VariationFilter

router = APIRouter(tags=["variations"])

TABLE_EXPORTS = {"csv": ("text/csv; charset=utf-8", "csv"), "json": ("application/json", "json"),
                 "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx")}
Text = Annotated[str | None, Query(max_length=200)]


def _filter(status: str | None, valid: bool | None, search: str | None, tag: str | None, sort: str = "row"
            ) -> VariationFilter:
    return VariationFilter(status=status, valid=valid, search=search, tag=tag, sort=sort)


@router.get("/campaign-sets/{set_id}/variations", summary="A page of variations, filtered")
def list_variations(who: Read, set_id: uuid.UUID, cursor: Cursor = None, limit: Limit = 100,
         status: Literal["pending", "approved", "rejected"] | None = None, valid: bool | None = None,
         search: Text = None, tag: Text = None, sort: Literal["row", "title", "status"] = "row") -> m.ListOf[m.Variation]:
    lookups.campaign_set(who.store, who.ctx, set_id)
    offset = decode_cursor(cursor)
    got = variations.page(who.store, who.ctx, set_id, _filter(status, valid, search, tag, sort), offset=offset, limit=limit)
    rows = [m.Variation.model_validate(r) for r in got.rows]
    more = offset + limit < got.total
    return m.ListOf[m.Variation](items=rows, next_cursor=encode_cursor(offset + limit) if more else None)


@router.patch("/variations/{variation_id}", status_code=status.HTTP_204_NO_CONTENT,
              summary="Edit a variation's fields by hand (checked against the format's limits)")
def edit_variation(who: Write, variation_id: uuid.UUID, body: m.VariationEdit) -> Response:
    review.edit(who.store, who.ctx, variation_id, body.fields)
    return Response(status_code=204)


def _set_status(who: Write, set_id: uuid.UUID, body: m.StatusChange, to: str) -> m.Changed:
    lookups.campaign_set(who.store, who.ctx, set_id)
    f = _filter(body.status, body.valid, body.search, body.tag)
    return m.Changed(changed=review.set_status(who.store, who.ctx, set_id, to, ids=body.ids, f=f))


@router.post("/campaign-sets/{set_id}/variations/approve", summary="Approve the given variations (or all matching)")
def approve(who: Write, set_id: uuid.UUID, body: m.StatusChange) -> m.Changed:
    return _set_status(who, set_id, body, "approved")


@router.post("/campaign-sets/{set_id}/variations/reject", summary="Reject the given variations (or all matching)")
def reject(who: Write, set_id: uuid.UUID, body: m.StatusChange) -> m.Changed:
    return _set_status(who, set_id, body, "rejected")


@router.get("/campaign-sets/{set_id}/exports", summary="The export formats of this set: csv, json, xlsx and its bulk files")
def export_formats(who: Read, set_id: uuid.UUID) -> list[m.ExportFormat]:
    bulk = variations.bulk_exports(who.store, who.ctx, set_id)
    return [m.ExportFormat(name=k, label=k.upper()) for k in TABLE_EXPORTS] + \
        [m.ExportFormat(name=k, label=v) for k, v in bulk.items()]


@router.get("/campaign-sets/{set_id}/export", summary="Download the (filtered) variations in one export format",
            response_class=Response, responses={200: {"content": {"application/octet-stream": {}, "text/csv": {}}}})
def export_variations(who: Read, set_id: uuid.UUID, format: Annotated[str, Query(min_length=1, max_length=80)] = "csv",
           status: Literal["pending", "approved", "rejected"] | None = None, valid: bool | None = None,
           search: Text = None, tag: Text = None) -> Response:
    info = lookups.campaign_set(who.store, who.ctx, set_id)
    f = _filter(status, valid, search, tag)
    if format in TABLE_EXPORTS:
        media, ext = TABLE_EXPORTS[format]
        data = variations.export(who.store, who.ctx, set_id, f, format)
    else:
        bulk = variations.bulk_exports(who.store, who.ctx, set_id)
        if format not in bulk:
            raise ApiProblem(422, f"Unknown export format {format!r} for this set; use one of "
                                  f"{', '.join([*TABLE_EXPORTS, *bulk])}.")
        data = variations.export_bulk(who.store, who.ctx, set_id, format, f)
        media, ext = "application/octet-stream", "csv"
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in info.name)[:60] or "variations"
    return Response(data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{safe}.{ext}"'})
