"""Aggregates over the whole data set for the Templates page: one row's values and the columns' kinds."""

from __future__ import annotations

import uuid
from typing import Any

from engine.errors import EngineError
from engine.generation.aggregates import add_aggregates, aggregate_kinds, parse_aggregates
from engine.ingest import ColumnProfile
from studio import datasets
from studio.context import Context, Permission
from studio.permissions import requires
from studio.store.session import Store


@requires(Permission.VIEW)
def for_row(store: Store, ctx: Context, dataset_id: uuid.UUID, index: int,
            aggregates: Any) -> tuple[list[ColumnProfile], dict[str, Any]]:
    """The aggregates as columns of a data set (profiles a template editor checks against) and their values in
    row `index` (0-based), computed over every row; nothing when there are none or they do not fit the data."""
    try:
        parsed = parse_aggregates(aggregates)
        if not parsed:
            return [], {}
        detail = datasets.get_dataset(store, ctx, dataset_id)
        columns = {c.name: c.kind for c in detail.columns}
        kinds = aggregate_kinds(parsed, columns)
    except EngineError:
        return [], {}  # the Preview page says what is wrong with them
    frame, _ = add_aggregates(datasets.load_table(store, ctx, dataset_id), columns, parsed)
    values = frame.select(list(kinds)).row(index, named=True) if 0 <= index < frame.height else {}
    profiles = [ColumnProfile(name, name, kind, int(frame[name].null_count()), ()) for name, kind in kinds.items()]
    return profiles, values
