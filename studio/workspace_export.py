"""Data-protection export: everything of a workspace in one zip (data sets, audit, members, invitations)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from typing import Any

from sqlalchemy import select

from studio import audit
from studio.context import Context, Permission
from studio.permissions import requires
from studio.storage import blob_store
from studio.store.models import AuditEvent, Base, Dataset, DatasetVersion, Invitation, User, Workspace, WorkspaceMember
from studio.store.session import Store


def _rows(objs: list[Any], skip: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    out = []
    for o in objs:
        table = type(o).__table__  # type: ignore[attr-defined]
        out.append({c.name: _plain(getattr(o, c.key)) for c in table.columns if c.name not in skip})
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return None
    if hasattr(value, "hex") and not isinstance(value, (int, float, str)):
        return str(value)
    return value


@requires(Permission.DELETE_WORKSPACE)
def export_zip(store: Store, ctx: Context) -> bytes:
    """Owner only: a zip with a JSON file per table and every data set version as Parquet."""
    buf = io.BytesIO()
    blobs = blob_store(store.settings)
    with store.session_scope(ctx) as s, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        s.require(Permission.DELETE_WORKSPACE)
        ws = s.get(Workspace, s.workspace_id)
        tables: dict[str, list[Any]] = {
            "workspace": [ws],
            "members": list(s.scalars(select(WorkspaceMember))),
            "datasets": list(s.scalars(select(Dataset))),
            "dataset_versions": list(s.scalars(select(DatasetVersion))),
            "invitations": list(s.scalars(select(Invitation))),
            "audit_events": list(s.scalars(select(AuditEvent).order_by(AuditEvent.at))),
        }
        for name, objs in tables.items():
            z.writestr(f"{name}.json", json.dumps(_rows(objs, skip=("token_hash",)), indent=2, ensure_ascii=False))
        people = s.execute(select(User.id, User.email, User.name).join(WorkspaceMember, WorkspaceMember.user_id == User.id)).all()
        z.writestr("people.json", json.dumps([{"id": str(i), "email": e, "name": n} for i, e, n in people], indent=2))
        names = {d.id: d.name for d in tables["datasets"]}
        for v in tables["dataset_versions"]:
            z.writestr(f"data/{names.get(v.dataset_id, v.dataset_id)}/v{v.version}.parquet", blobs.get(s, v.storage_key))
        out = io.StringIO()
        w = csv.writer(out)
        for e in tables["audit_events"]:
            w.writerow([audit.safe_cell(str(x)) for x in (e.at.isoformat(), e.actor_id or "", e.action, e.summary)])
        z.writestr("audit.csv", out.getvalue())
        audit.record(s, "workspace.export", object_type="workspace", object_id=s.workspace_id, summary="Exported all workspace data")
    return buf.getvalue()


__all__ = ["Base", "export_zip"]
