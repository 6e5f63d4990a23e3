"""Import a workspace export (studio.workspace_export) into a NEW workspace, in one transaction.

Every row gets a new id and every reference is remapped (foreign keys, and ids inside JSON settings and
texts such as publish settings' account ids); a variation's id is derived again from its new set, so a
regeneration in the new workspace updates the imported variations instead of duplicating them.

People: the importer becomes the owner. Members of the archive who are members of the workspace the
import is started from (same e-mail) join with their role; everyone else is recorded as a pending
invitation (resend it to send a link), so an import never adds someone without their consent. Authors
not found that way are kept as "unknown" (their ids are cleared). Notification choices come along for
the people who join; those of everyone else are left out and counted (`Imported.skipped`).

What the copy does not take over: Reddit account secrets (accounts arrive as "reconnect needed"), posts
not yet sent (cancelled: the original workspace still owns them; plan again here), runs in progress
(cancelled), billing, URL data sets' credentials (such a feed arrives paused, its reason saying to enter
them), webhook signing secrets (endpoints arrive disabled with a new secret nobody has seen: rotate it on
the endpoint, then enable). `Imported.todo` lists what a person has to do about it. Archives of every
format version from workspace_export.OLDEST_FORMAT_VERSION on import (studio.workspace_archive). An
archive that is not a workspace export, of a newer format version, too large once unpacked, or whose
rows refer to things it does not hold is refused with the reason, and nothing of it is stored.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import secrets
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import JSON, DateTime, LargeBinary, Uuid, insert, select
from sqlalchemy.exc import DBAPIError

from studio import audit, webhooks
from studio import workspace_archive as archive
from studio.context import Context, Permission, Role, WorkspaceId
from studio.errors import ValidationFailed
from studio.permissions import requires
from studio.publishing import crypto
from studio.settings import Settings
from studio.storage import blob_store
from studio.store.models import Invitation, User, Workspace, WorkspaceMember
from studio.store.session import Store
from studio.workspace_archive import UUID_RE, ImportRefused
from studio.workspace_export import BYTES_TAG, TABLE_FILES, table

UNSENT_REASON = "Imported from an archive: the original workspace still owns this post; plan it again here."
RECONNECT_REASON = "Imported from an archive without its secrets: reconnect this account."
FEED_CREDENTIALS_REASON = ("Imported from an archive: the credentials ({label}) were not exported. Enter them under "
                           "'Change the address, format, schedule or credentials', then resume the schedule.")


@dataclass(frozen=True)
class Preview:
    """What an archive holds, read from its manifest before importing."""

    source_name: str
    created_at: str
    counts: dict[str, int]
    left_out: dict[str, str]


@dataclass(frozen=True)
class Imported:
    workspace_id: WorkspaceId
    name: str
    counts: dict[str, int]
    members: list[str] = field(default_factory=list)  # e-mails that joined with their role
    invited: list[tuple[str, str]] = field(default_factory=list)  # (e-mail, role) recorded as pending invitations
    skipped: dict[str, int] = field(default_factory=dict)  # rows of the archive left out on purpose, by table
    todo: list[str] = field(default_factory=list)  # what a person has to do in the new workspace (secrets)


@requires(Permission.MANAGE_MEMBERS)
def preview(store: Store, ctx: Context, data: bytes) -> Preview:
    """Read an archive's manifest (refusing what is not an export) so the page can ask to confirm."""
    m = archive.manifest(archive.open_archive(data))
    source = m.get("source_workspace") or {}
    return Preview(str(source.get("name") or "workspace"), str(m.get("created_at") or ""),
                   {k: int(v) for k, v in (m.get("counts") or {}).items()}, dict(m.get("left_out") or {}))


class _Ids:
    """Old id → new id, for rows of the archive and for people who have an account here."""

    def __init__(self) -> None:
        self.rows: dict[str, uuid.UUID] = {}
        self.users: dict[str, uuid.UUID | None] = {}
        self.members: set[uuid.UUID] = set()  # people who join the new workspace with their role

    def text(self, value: str) -> str:
        def swap(m: re.Match[str]) -> str:
            key = m.group(0).lower()
            new = self.rows.get(key) or self.users.get(key)
            return str(new) if new else m.group(0)
        return UUID_RE.sub(swap, value)

    def walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.walk(v) for v in value]
        if isinstance(value, dict):  # keys too: a kept output's inputs are {data set id: version}
            return {self.text(k) if isinstance(k, str) else k: self.walk(v) for k, v in value.items()}
        return value


def _variation_id(set_id: uuid.UUID, row: int, variation: int) -> uuid.UUID:
    """As workers.generation.variation_id: the same set, row and variation always get the same id."""
    return uuid.UUID(hashlib.md5(f"{set_id}:{row}:{variation}".encode(), usedforsecurity=False).hexdigest())


def _value(column: Any, raw: Any, ids: _Ids, where: str) -> Any:
    if raw is None:
        return None
    kind = column.type
    if isinstance(kind, DateTime):
        try:
            return dt.datetime.fromisoformat(str(raw))
        except ValueError:
            raise ImportRefused(f"{where}: {column.name} is not a time ({raw!r}).") from None
    if isinstance(kind, LargeBinary):
        if not (isinstance(raw, dict) and BYTES_TAG in raw):
            raise ImportRefused(f"{where}: {column.name} is not encoded as an export writes it.")
        return base64.b64decode(raw[BYTES_TAG])
    if isinstance(kind, JSON):
        return ids.walk(raw)
    if isinstance(kind, Uuid):
        try:
            return uuid.UUID(str(raw))
        except ValueError:
            raise ImportRefused(f"{where}: {column.name} is not an id ({raw!r}).") from None
    if isinstance(raw, str):
        return ids.text(raw)
    return raw


def _parents_first(rows: list[dict[str, Any]], column: str) -> list[dict[str, Any]]:
    """Rows referring to rows of the same table (a reply chain) after the rows they refer to."""
    done: set[Any] = set()
    out: list[dict[str, Any]] = []
    pending = list(rows)
    while pending:
        ready = [r for r in pending if r.get(column) in (None, *done) or r.get(column) == r.get("id")]
        if not ready:
            raise ImportRefused(f"Rows refer to each other in a loop through {column}; the archive was changed.")
        for r in ready:
            done.add(r.get("id"))
            out.append(r)
        pending = [r for r in pending if r.get("id") not in done]
    return out


def _people(store: Store, ctx: Context, z: zipfile.ZipFile, ids: _Ids) -> dict[str, str]:
    """Old user id → e-mail; ids.users gets the ids of the people found here: the importer and the members
    of the workspace they import from (an import never adds someone they do not already work with)."""
    people = archive.read_json(z, "people.json")
    if not isinstance(people, list):
        raise ImportRefused("people.json does not list people.")
    emails = {str(p.get("id", "")).lower(): str(p.get("email", "")).strip().lower() for p in people if isinstance(p, dict)}
    with store.session_scope(ctx) as s:
        known = select(WorkspaceMember.user_id).where(WorkspaceMember.workspace_id == s.workspace_id)
        found = {e.lower(): i for e, i in s.execute(
            select(User.email, User.id).where(User.id.in_(known) | (User.id == ctx.user_id))).all()}
    for old, email in emails.items():
        ids.users[old] = found.get(email)
    return emails


def _fixed(name: str, raw: dict[str, Any]) -> dict[str, Any]:
    row = dict(raw)
    _fix(name, row)
    return row


def _fix(name: str, row: dict[str, Any]) -> None:
    """What a copy must not take over as it was (see the module's note)."""
    if name == "reddit_accounts":
        row.update(status="reconnect_needed", status_reason=RECONNECT_REASON)
    elif name == "publish_items" and row.get("state") not in ("posted", "cancelled"):
        row.update(state="cancelled", reason=UNSENT_REASON)
    elif name == "generation_runs" and row.get("status") in ("queued", "running"):
        row.update(status="cancelled", error="Imported while it was generating: generate again here.")
    elif name == "generation_chunks" and row.get("status") in ("queued", "running"):
        row["status"] = "cancelled"
    elif name == "campaign_sets" and row.get("status") == "generating":
        row.update(status="ready" if row.get("variation_count") else "draft",
                   status_reason="Imported while it was generating: generate again here.")
    elif name == "invitations":
        row["token_hash"] = hashlib.sha256(secrets.token_bytes(32)).hexdigest()  # a dead link: resend it
    elif name == "feed_sources":
        row["queued_at"] = None  # a fetch handed to the original's workers
        if (row.get("auth_kind") or "none") != "none":  # its credentials stayed behind: fetching now would fail
            label = row.get("auth_label") or row.get("auth_kind")
            row.update(paused=True, paused_reason=FEED_CREDENTIALS_REASON.format(label=label), auth_kind="none",
                       auth_label="")
    elif name == "webhook_endpoints":
        row["enabled"] = False  # its signing secret stayed behind: the receiver could not verify what it gets


def _seal_endpoint(settings: Settings, values: dict[str, Any], raw: dict[str, Any], where: str) -> None:
    """An endpoint's address sealed as webhooks.create_endpoint seals it, with a new secret nobody has seen."""
    url = raw.get("url")
    try:
        parts = urlsplit(url) if isinstance(url, str) else None
        host = parts.hostname if parts else None
    except ValueError:
        parts = host = None
    if parts is None or parts.scheme not in ("http", "https") or not host:
        raise ImportRefused(f"{where}: url is not an http(s) address ({url!r}); the archive was changed.")
    assert isinstance(url, str)
    values.update(url_enc=crypto.encrypt(settings, url), url_host=parts.netloc[:255],
                  secret_enc=crypto.encrypt(settings, webhooks.new_secret()) if values.get("format") == "signed" else None,
                  enabled=False)


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _todo(imported: Imported, rows: dict[str, list[dict[str, Any]]]) -> None:
    """What a person has to do in the new workspace because secrets were not in the archive."""
    feeds = sum(1 for r in rows["feed_sources"] if (r.get("auth_kind") or "none") != "none")
    if n := imported.counts.get("webhook_endpoints", 0):
        imported.todo.append(f"{_plural(n, 'webhook endpoint')} arrived disabled without a signing secret: on "
                             "Settings → Webhooks & Slack rotate each one's secret, give it to its receiver, then "
                             "enable it.")
    if feeds:
        imported.todo.append(f"{_plural(feeds, 'URL data set')} {'is' if feeds == 1 else 'are'} paused because the "
                             "credentials were not exported: enter them in the data set's feed settings, then resume "
                             "the schedule.")
    if n := imported.counts.get("reddit_accounts", 0):
        imported.todo.append(f"{_plural(n, 'Reddit account')} to reconnect on Reddit accounts.")
    if n := imported.skipped.get("notification_preferences", 0):
        imported.todo.append(f"{_plural(n, 'notification choice')} of people who are not members here "
                             f"{'was' if n == 1 else 'were'} left out.")


@requires(Permission.MANAGE_MEMBERS)
def import_zip(store: Store, ctx: Context, data: bytes, *, name: str | None = None) -> Imported:
    """Restore an export into a new workspace owned by the caller; all of it or (refused) none of it."""
    assert ctx.user_id is not None
    z = archive.open_archive(data)
    manifest = archive.manifest(z)
    rows = archive.load_rows(z, manifest)
    ids = _Ids()
    emails = _people(store, ctx, z, ids)
    source = rows["workspaces"][0]
    new_name = " ".join((name or f"{source.get('name') or 'Workspace'} (imported)").split())[:120]
    if not new_name:
        raise ImportRefused("Give the imported workspace a name.")
    ws = WorkspaceId(uuid.uuid4())
    for tname in TABLE_FILES:
        if tname == "workspaces" or tname == "variations":
            continue
        for i, r in enumerate(rows[tname], start=1):
            old = str(r.get("id", "")).lower()
            if not UUID_RE.fullmatch(old) or old in ids.rows:
                raise ImportRefused(f"{TABLE_FILES[tname]}.json row {i}: its id is missing or used twice.")
            ids.rows[old] = uuid.uuid4()
    ids.rows[str(source.get("id", "")).lower()] = ws
    for i, r in enumerate(rows["variations"], start=1):
        new_set = ids.rows.get(str(r.get("campaign_set_id", "")).lower())
        if new_set is None:
            raise ImportRefused(f"variations.json row {i}: campaign_set_id refers to a set that is not in the archive.")
        ids.rows[str(r.get("id", "")).lower()] = _variation_id(new_set, int(r["row_index"]), int(r["variation_index"]))

    imported = Imported(ws, new_name, {})
    job = Context(user_id=ctx.user_id, workspace_id=ws, client_address=ctx.client_address, system=True)
    blobs = blob_store(store.settings)
    try:
        with store.session_scope(job) as s:
            columns = table("workspaces").c
            settings = {k: _value(columns[k], v, ids, "workspace.json") for k, v in source.items()
                        if k in columns and k not in ("id", "name", "created_at", "created_by")}
            s.add(Workspace(id=ws, name=new_name, created_by=ctx.user_id, **settings))
            s.flush()
            for tname in TABLE_FILES:
                if tname == "workspaces":
                    continue
                out = _convert(tname, rows[tname], ids, emails, ws, ctx.user_id, imported, store.settings)
                if tname == "dataset_versions":
                    for values, raw in out:
                        path = (manifest.get("data_files") or {}).get(str(raw.get("id")))
                        try:
                            content = z.read(str(path))
                        except KeyError:
                            raise ImportRefused(f"The Parquet file of data set version {raw.get('version')} ({path}) is "
                                                "missing from the archive.") from None
                        values["storage_key"] = f"{values['dataset_id']}-v{values['version']}.parquet"
                        blobs.put(s, values["storage_key"], content)
                if out:
                    s.execute(insert(table(tname)), [values for values, _ in out])
                imported.counts[tname] = len(out)
            s.execute(insert(table("workspace_members")), [{"id": uuid.uuid4(), "workspace_id": ws, "user_id": ctx.user_id,
                                                            "role": Role.OWNER.value, "created_at": dt.datetime.now(dt.UTC)}])
            invited = {e.lower() for e in s.scalars(select(Invitation.email).where(Invitation.status == "pending"))}
            for email, role in imported.invited:
                if email.lower() not in invited:  # an invitation of the archive may already stand for them
                    s.add(Invitation(email=email, role=role, token_hash=hashlib.sha256(secrets.token_bytes(32)).hexdigest(),
                                     invited_by=ctx.user_id, status="pending", sent_count=0,
                                     expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=7)))
            _todo(imported, rows)
            audit.record(s, "workspace.import", object_type="workspace", object_id=ws,
                         summary=f"Imported {new_name!r} from an export of {source.get('name')!r}",
                         detail={"counts": imported.counts, "invited": imported.invited, "skipped": imported.skipped,
                                 "format_version": manifest["format_version"]})
    except ImportRefused:
        raise
    except (DBAPIError, ValidationFailed) as exc:  # the store refused a row: the archive was edited by hand
        cause = exc.__cause__ if isinstance(exc, ValidationFailed) and exc.__cause__ is not None else exc
        detail = str(getattr(cause, "orig", cause)).splitlines()[0][:200]
        raise ImportRefused(f"The archive's rows do not fit together ({detail}); it was changed after it was "
                            "exported. Nothing was imported.") from None
    return imported


def _convert(tname: str, raw_rows: list[dict[str, Any]], ids: _Ids, emails: dict[str, str], ws: uuid.UUID,
             importer: uuid.UUID, imported: Imported, settings: Settings) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """The archive's rows of one table as rows of the new workspace (new ids, references remapped)."""
    t = table(tname)
    fixed = [(_fixed(tname, raw), raw) for raw in raw_rows]
    keys = [c for c in t.columns if c.name != "workspace_id" and (not fixed or c.name in fixed[0][0])]
    refs: dict[str, str] = {c.name: next(iter(c.foreign_keys)).column.table.name for c in keys if c.foreign_keys}
    self_ref = next((n for n, target in refs.items() if target == tname), None)
    if self_ref:
        order = {id(r): i for i, r in enumerate(_parents_first([f for f, _ in fixed], self_ref))}
        fixed.sort(key=lambda pair: order[id(pair[0])])
    out: list[tuple[dict[str, Any], dict[str, Any]]] = []
    keep: Callable[[dict[str, Any], dict[str, Any]], bool] = _keep_rule(tname, emails, importer, imported, ids)
    for i, (row, raw) in enumerate(fixed, start=1):
        where = f"{TABLE_FILES[tname]}.json row {i}"
        values: dict[str, Any] = {"workspace_id": ws}
        for c in keys:
            value = row.get(c.name)
            target = refs.get(c.name)
            if c.name == "id" or (target and target != "users" and value is not None):
                new = ids.rows.get(str(value).lower())
                if new is None:
                    raise ImportRefused(f"{where}: {c.name} refers to {value}, which is not in the archive; "
                                        "the archive was changed.")
                values[c.name] = new
            elif target == "users":
                values[c.name] = ids.users.get(str(value).lower()) if value is not None else None
            else:
                values[c.name] = _value(c, value, ids, where)
        if tname == "webhook_endpoints":
            _seal_endpoint(settings, values, raw, where)
        if keep(values, raw):
            out.append((values, raw))
    return out


def _keep_rule(tname: str, emails: dict[str, str], importer: uuid.UUID, imported: Imported,
               ids: _Ids) -> Callable[[dict[str, Any], dict[str, Any]], bool]:
    """Which rows to keep: a member needs an account here (the others become pending invitations); a
    notification choice needs its person to be a member of the new workspace (the others are counted)."""
    if tname == "notification_preferences":
        def mine(values: dict[str, Any], raw: dict[str, Any]) -> bool:
            if values.get("user_id") == importer or values.get("user_id") in ids.members:
                return True
            imported.skipped[tname] = imported.skipped.get(tname, 0) + 1
            return False
        return mine
    if tname != "workspace_members":
        return lambda values, raw: True

    def keep(values: dict[str, Any], raw: dict[str, Any]) -> bool:
        email = emails.get(str(raw.get("user_id", "")).lower(), "")
        if values.get("user_id") == importer:
            return False  # the importer joins as the owner
        if values.get("user_id") is not None:
            imported.members.append(email)
            ids.members.add(values["user_id"])
            return True
        if email:
            imported.invited.append((email, str(raw.get("role") or Role.MEMBER.value)))
        return False

    return keep


__all__ = ["ImportRefused", "Imported", "Preview", "import_zip", "preview"]
