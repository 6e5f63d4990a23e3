"""Bulk output: stream a plan's Arrow batches to Parquet or to a platform's bulk-import CSV."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from engine.errors import EngineError
from engine.generation.plan import Plan
from engine.generation.schema import quote
from engine.platforms import ExportColumn, ExportSpec, get_export
from engine.platforms.bulk_files import build_bulk_file, safe_cell

__all__ = ["generate_to_parquet", "write_export"]


def generate_to_parquet(plan: Plan, path: str | os.PathLike[str], *, batch_size: int = 50_000,
                        compression: str = "snappy") -> int:
    """Write every kept variation to a Parquet file, batch by batch; returns the row count."""
    writer: pq.ParquetWriter | None = None
    rows = 0
    try:
        for batch in plan.batches(batch_size):
            if writer is None:
                writer = pq.ParquetWriter(path, batch.schema, compression=compression)
            writer.write_batch(batch)
            rows += batch.num_rows
        if writer is None:
            empty = plan.query(f"{plan.compiled.bulk_sql()}\nLIMIT 0")
            pq.write_table(empty, path, compression=compression)
    finally:
        if writer is not None:
            writer.close()
    return rows


def _cells(columns: Iterable[ExportColumn], headers: list[str], record: dict[str, Any]) -> list[str]:
    by_header = {}
    for col in columns:
        value = col.value if col.column is None else record.get(col.column)
        by_header[col.header] = "" if value is None else str(value)
    return [safe_cell(by_header.get(h, "")) for h in headers]  # no cell may start a spreadsheet formula


def write_export(plan: Plan, path: str | os.PathLike[str], export: str | ExportSpec, *,
                 batch_size: int = 50_000) -> int:
    """Write a platform bulk-import file (ad rows, then keyword rows); returns the data row count."""
    spec = get_export(export) if isinstance(export, str) else export
    if (spec.platform, spec.format) != (plan.format.platform, plan.format.name):
        raise EngineError(f"export {spec.label!r} is for {spec.platform}/{spec.format}, "
                          f"but the plan makes {plan.format.key}")
    if plan.config.structure is not None:  # campaign, ad group, keyword and negative rows, checked (bulk_files)
        return _write_structured(plan, path, spec, batch_size)
    headers = spec.headers()
    rows = 0
    with open(path, "w", encoding=spec.encoding, newline="") as fh:
        out = csv.writer(fh, delimiter=spec.delimiter, lineterminator="\r\n")
        out.writerow([safe_cell(h) for h in headers])
        for batch in plan.batches(batch_size):
            for record in pa.Table.from_batches([batch]).to_pylist():
                out.writerow(_cells(spec.columns, headers, record))
                rows += 1
        if spec.keyword_columns and plan.compiled.keyword_sql is not None:
            for record in plan.keywords().to_pylist():
                out.writerow(_cells(spec.keyword_columns, headers, record))
                rows += 1
    return rows


def _write_structured(plan: Plan, path: str | os.PathLike[str], spec: ExportSpec, batch_size: int) -> int:
    """The studio's bulk file for a plan with a campaign structure; refused (BulkFileRefused) like a download."""
    from engine.generation.structure import structure_input
    from engine.platforms.ad_tree import duplicate_skeleton, skeleton_records

    records = [{k: v for k, v in r.items() if not k.startswith("__")}
               for batch in plan.batches(batch_size) for r in pa.Table.from_batches([batch]).to_pylist()]
    removed = []  # ads dedup removed: their ad groups stay (empty) with their keywords
    if plan.config.dedup_fields:
        cols = [c for c in ("campaign_name", "ad_group_name", "keywords") if c in plan.output_columns]
        sql = (f"SELECT {', '.join(quote(c) for c in cols)} FROM ({plan.compiled.ledger_sql()}) AS v "
               f"WHERE NOT {quote('__dropped')} AND {quote('__duplicate')}")
        removed = skeleton_records(duplicate_skeleton(plan.query(sql).to_pylist()))
    bulk = build_bulk_file(spec.name, spec.label, records, structure_input(plan.format.platform, plan.config.structure),
                           duplicates=removed, encoding=spec.encoding, delimiter=spec.delimiter)
    bulk.check(plan.format.platform)
    with open(path, "wb") as fh:
        fh.write(bulk.to_bytes())
    return len(bulk.rows)
