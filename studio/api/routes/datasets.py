"""Data sets: upload (a new one or a new version), list, detail, versions, columns."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile, status

from studio import datasets
from studio.api import models as m
from studio.api.deps import Cursor, Limit, Read, Write, page_of

router = APIRouter(prefix="/datasets", tags=["data sets"])


def _dataset(d: datasets.DatasetSummary) -> m.Dataset:
    return m.Dataset(id=d.id, name=d.name, version=d.version, filename=d.filename, row_count=d.row_count,
                     column_count=d.column_count, size_bytes=d.size_bytes, updated_at=d.updated_at)


@router.post("", status_code=status.HTTP_201_CREATED, summary="Upload a data set (CSV, TSV, Excel, JSON, Parquet)")
def upload_dataset(who: Write, file: Annotated[UploadFile, File(description="the file; its name tells the format")],
           name: Annotated[str | None, Form(max_length=120)] = None,
           sheet: Annotated[str | None, Form(max_length=120)] = None) -> m.Dataset:
    data = file.file.read()
    return _dataset(datasets.upload(who.store, who.ctx, file.filename or "upload.csv", data, name=name, sheet=sheet))


@router.get("", summary="List data sets")
def list_datasets(who: Read, cursor: Cursor = None, limit: Limit = 100) -> m.ListOf[m.Dataset]:
    items, after = page_of(datasets.list_datasets(who.store, who.ctx), cursor, limit)
    return m.ListOf[m.Dataset](items=[_dataset(d) for d in items], next_cursor=after)


@router.get("/{dataset_id}", summary="One data set")
def get_dataset(who: Read, dataset_id: uuid.UUID) -> m.Dataset:
    return _dataset(datasets.get_dataset(who.store, who.ctx, dataset_id).summary)


@router.get("/{dataset_id}/versions", summary="Versions of a data set, newest first")
def dataset_versions(who: Read, dataset_id: uuid.UUID, cursor: Cursor = None, limit: Limit = 100) -> m.ListOf[m.DatasetVersion]:
    detail = datasets.get_dataset(who.store, who.ctx, dataset_id)
    items, after = page_of(sorted(detail.versions, key=lambda v: -v.version), cursor, limit)
    return m.ListOf[m.DatasetVersion](items=[m.DatasetVersion(version=v.version, filename=v.filename, row_count=v.row_count,
                                                              size_bytes=v.size_bytes, created_at=v.created_at)
                                             for v in items], next_cursor=after)


@router.post("/{dataset_id}/versions", status_code=status.HTTP_201_CREATED, summary="Upload a new version")
def upload_version(who: Write, dataset_id: uuid.UUID, file: Annotated[UploadFile, File()],
                sheet: Annotated[str | None, Form(max_length=120)] = None) -> m.Dataset:
    data = file.file.read()
    return _dataset(datasets.replace(who.store, who.ctx, dataset_id, file.filename or "upload.csv", data, sheet=sheet))


@router.get("/{dataset_id}/columns", summary="Columns of the current version: name, kind, nulls, examples")
def dataset_columns(who: Read, dataset_id: uuid.UUID) -> list[m.Column]:
    detail = datasets.get_dataset(who.store, who.ctx, dataset_id)
    return [m.Column(name=c.name, original_name=c.original_name, kind=c.kind, null_count=c.null_count,
                     examples=[_plain(x) for x in c.examples], format=c.format) for c in detail.columns]


def _plain(value: object) -> object:
    return value if value is None or isinstance(value, (str, int, float, bool)) else str(value)
