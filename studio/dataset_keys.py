"""Row identity of a data set (issue 19): its key column, detected or chosen, and the current version's report.

The key column lives on the data set (`Dataset.key_column`); every version stores its report in
`info["keys"]` (engine.row_keys.KeyReport: empty and repeated keys, with samples). Choosing a column
here recomputes the current version's report and keeps the choice for the versions that follow.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from engine.row_keys import KEY_CANDIDATES, KeyReport, key_report
from studio import audit
from studio.context import Context, Permission
from studio.dataset_versions import _current, _get
from studio.datasets import load_table
from studio.errors import ValidationFailed
from studio.permissions import requires
from studio.store.session import Store


@dataclass(frozen=True)
class KeyStatus:
    column: str | None
    chosen: bool  # picked by a person (kept) rather than detected
    report: KeyReport | None  # the current version's, None without a key column
    columns: tuple[str, ...]  # what may be picked, likely keys first
    version: int


@requires(Permission.VIEW)
def key_status(store: Store, ctx: Context, dataset_id: uuid.UUID) -> KeyStatus:
    with store.session_scope(ctx) as s:
        s.require(Permission.VIEW)
        ds = _get(s, dataset_id)
        v = _current(s, ds)
        names = [str(c["name"]) for c in v.columns]
        stored = (v.info or {}).get("keys")
        report = KeyReport.from_dict(stored) if isinstance(stored, dict) and stored.get("column") == ds.key_column \
            else None
        likely = [n for n in KEY_CANDIDATES if n in names]
        return KeyStatus(ds.key_column, ds.key_column_chosen, report,
                         tuple(likely + [n for n in names if n not in likely]), v.version)


@requires(Permission.EDIT)
def set_key_column(store: Store, ctx: Context, dataset_id: uuid.UUID, column: str | None) -> KeyStatus:
    """Make `column` the rows' identity (None: no key; detection stays off until a column is picked again)."""
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        ds = _get(s, dataset_id)
        names = [str(c["name"]) for c in _current(s, ds).columns]
        if column is not None and column not in names:
            raise ValidationFailed(f"{ds.name!r} has no column {column!r}; pick one of: {', '.join(names[:20])}.")
    report = key_report(load_table(store, ctx, dataset_id), column).to_dict() if column else None
    with store.session_scope(ctx) as s:
        s.require(Permission.EDIT)
        ds = _get(s, dataset_id, lock=True)
        old = ds.key_column
        ds.key_column, ds.key_column_chosen = column, True
        v = _current(s, ds)
        info = {k: val for k, val in (v.info or {}).items() if k != "keys"}
        v.info = {**info, **({"keys": report} if report else {})}
        audit.record(s, "dataset.key_column", object_type="dataset", object_id=ds.id,
                     summary=f"Key column of {ds.name!r}: {old or 'none'} → {column or 'none'}")
    return key_status(store, ctx, dataset_id)
