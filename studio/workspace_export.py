"""Export everything a workspace owns into one zip, with a manifest (studio.workspace_import reads it back).

The archive (format version FORMAT_VERSION):

    manifest.json                format, version, created_at, source workspace, counts, files, what is left out
    <table>.json                 the rows of each exported table (workspace.json, members.json, datasets.json, …)
    people.json                  id, e-mail and name of everyone the rows mention (members, authors)
    data/<data set>/v<n>.parquet every data set version's bytes
    audit.csv                    the audit trail as a spreadsheet (cells made safe for spreadsheet apps)

Format versions: 2 holds the tables up to the audit trail; 3 adds the word list, URL data sets' sources
(address, format, schedule, pause state; not their credentials) with their fetch log, signed webhook
endpoints (address, description, events; not their signing secrets) and members' notification choices
(SINCE says which table came in which version). Rule sets carry their versions (history) in their own
rows in both. An import reads every version from OLDEST_FORMAT_VERSION to FORMAT_VERSION (an older
archive simply lacks the newer tables) and refuses a newer one (studio.workspace_archive).

Left out, and said so in the manifest (LEFT_OUT): Reddit account secrets (accounts are exported without
their tokens, passwords or client secrets: reconnect them after an import), invitation tokens (only their
hashes are stored; an imported invitation needs resending), billing (plan, usage, Stripe events stay
with the workspace that pays), authoring drafts (per person, short-lived), OAuth states in flight, URL
data sets' credentials, webhook signing secrets and the Slack URL, API keys, Reddit Ads connections
with their sync ledger, and what is history of messages (inbox, outbox, deliveries) or of data changes
under review (diffs, conflicts).
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
import re
import uuid
import zipfile
from typing import Any

from sqlalchemy import Table, select

from studio import audit
from studio.context import Context, Permission
from studio.permissions import requires
from studio.publishing import crypto, endpoint_secrets
from studio.storage import blob_store
from studio.store.base import Base
from studio.store.event_models import WebhookEndpoint
from studio.store.models import AuditEvent, DatasetVersion, User
from studio.store.session import Store, TenantSession

FORMAT = "dotoro-workspace-export"
FORMAT_VERSION = 3
OLDEST_FORMAT_VERSION = 2  # the oldest an import still reads
# exported tables, by file name (a table's rows go to "<file>.json"); the order is the import's order
TABLE_FILES: dict[str, str] = {
    "workspaces": "workspace",
    "workspace_members": "members",
    "datasets": "datasets",
    "dataset_versions": "dataset_versions",
    "templates": "templates",
    "rule_sets": "rule_sets",
    "campaign_sets": "campaign_sets",
    "generation_runs": "generation_runs",
    "generation_chunks": "generation_chunks",
    "variations": "variations",
    "notebooks": "notebooks",
    "notebook_cells": "notebook_cells",
    "notebook_outputs": "notebook_outputs",
    "reddit_accounts": "reddit_accounts",
    "publish_settings": "publish_settings",
    "publish_items": "publish_items",
    "publish_events": "publish_events",
    "post_metrics": "post_metrics",
    "invitations": "invitations",
    "word_lists": "word_list",
    "feed_sources": "feed_sources",
    "feed_fetches": "feed_fetches",
    "webhook_endpoints": "webhook_endpoints",
    "notification_preferences": "notification_preferences",
    "audit_events": "audit_events",
}
# the format version a table came into the archive with (absent: it was there from OLDEST_FORMAT_VERSION on)
SINCE: dict[str, int] = {"word_lists": 3, "feed_sources": 3, "feed_fetches": 3, "webhook_endpoints": 3,
                         "notification_preferences": 3}
SECRET_COLUMNS: dict[str, tuple[str, ...]] = {
    "reddit_accounts": ("client_secret_enc", "password_enc", "refresh_token_enc"),
    "invitations": ("token_hash",),
    "feed_sources": ("credentials_enc",),
    # the address goes out in plain text as "url" (see _endpoints); a Slack URL, itself a secret, not at all
    "webhook_endpoints": ("url_enc", "secret_enc", "previous_secret_enc", "previous_secret_expires_at"),
}
LEFT_OUT = {
    "reddit_account_secrets": "Reddit accounts are exported without their tokens, passwords and client secrets; "
                              "reconnect each account after importing.",
    "invitation_tokens": "Invitation links are not exported (only their hashes are stored); resend pending "
                         "invitations after importing.",
    "billing": "The plan, usage and Stripe records stay with the workspace that pays; an imported workspace starts "
               "on the Free plan.",
    "drafts": "Authoring drafts are per person and short-lived; they are not exported.",
    "oauth_states": "Reddit connections in progress are not exported.",
    "feed_credentials": "URL data sets come with their address, format, schedule and pause state, but without the "
                        "password or header value they fetch with: a feed that used credentials arrives paused. "
                        "Enter them again in the data set's feed settings, then resume its schedule.",
    "webhook_secrets": "Webhook endpoints come with their address, description and events, but without their "
                       "signing secret: each arrives disabled with a new secret nobody has seen. On Settings → "
                       "Webhooks & Slack rotate its secret, give the new one to the receiver, then enable it.",
    "slack_url": "The Slack incoming-webhook URL is not exported: the URL itself lets anyone post to your channel. "
                 "Set it again on Settings → Webhooks & Slack after importing.",
    "notification_preferences_of_others": "Members' notification choices come along for the people who are "
                                          "members of the imported workspace; an import leaves out (and counts) "
                                          "those of everyone else, who get the defaults when they join.",
    "api_keys": "API keys are not exported: only a hash of each key is stored, so a copy could never be used. "
                "Create new keys on Settings → API keys after importing and give them to the tools that call "
                "the studio.",
    "reddit_ads": "Reddit Ads connections are not exported: each is a sign-in (OAuth) grant of Reddit to this "
                  "workspace. Connect Reddit Ads again on Reddit accounts after importing. The record of what "
                  "was sent to Reddit Ads (campaigns, ad groups, ads, their sync runs and daily metrics) stays "
                  "here too: check the ad account before syncing an imported set to it.",
    "messages": "The notification inbox, the event outbox and webhook delivery logs are history of this workspace; "
                "an imported workspace starts with them empty.",
    "data_changes_under_review": "Data changes waiting for review (diffs of new data set versions and conflicts "
                                 "with hand edits) are not exported; a following set that was behind its data "
                                 "set says so under Data changes on its page, with a button to check for changes "
                                 "again.",
}
BYTES_TAG = "$base64"


def table(name: str) -> Table:
    return Base.metadata.tables[name]


def plain(value: Any) -> Any:
    """A column value as JSON: times as ISO 8601, ids as text, bytes as {"$base64": …}."""
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {BYTES_TAG: base64.b64encode(bytes(value)).decode()}
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _order(t: Table) -> list[Any]:
    """A stable order for a table's rows: its time or position columns, then the id."""
    cols = [t.c[n] for n in ("created_at", "at", "started_at", "position", "version", "index", "row_index",
                              "variation_index", "updated_at") if n in t.c]
    return cols + [c for c in t.primary_key.columns]


def _rows(s: TenantSession, name: str) -> list[dict[str, Any]]:
    t = table(name)
    stmt = select(t).order_by(*_order(t))
    stmt = stmt.where(t.c.id == s.workspace_id) if name == "workspaces" else stmt.where(t.c.workspace_id == s.workspace_id)
    skip = set(SECRET_COLUMNS.get(name, ())) | {"workspace_id"}
    return [{k: plain(v) for k, v in row._mapping.items() if k not in skip} for row in s.execute(stmt)]


def _endpoints(s: TenantSession, store: Store, rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """Signed webhook endpoints with their address as "url" (never their secrets); the Slack URL is a secret and
    stays out. Also how many addresses cannot be decrypted with this studio's keys (left out, counted)."""
    found = {str(e.id): e for e in s.scalars(select(WebhookEndpoint))}
    out: list[dict[str, Any]] = []
    unreadable = 0
    for row in rows:
        if row.get("format") != "signed":
            continue
        try:
            url = endpoint_secrets.url(store.settings, found[str(row["id"])])
        except crypto.SecretUnreadable:
            unreadable += 1
            continue
        out.append({**row, "url": url})
    return out, unreadable


def _safe(name: str) -> str:
    cleaned = re.sub(r"[^\w\- .()]+", "_", name).strip(" .") or "data set"
    return cleaned[:100]


def _data_files(rows: dict[str, list[dict[str, Any]]]) -> dict[str, str]:
    """Version id → its Parquet's path in the archive: data/<data set name>/v<n>.parquet (names unique)."""
    names = {d["id"]: _safe(str(d["name"])) for d in rows["datasets"]}
    taken: set[str] = set()
    out: dict[str, str] = {}
    for v in rows["dataset_versions"]:
        path = f"data/{names.get(v['dataset_id'], v['dataset_id'])}/v{v['version']}.parquet"
        if path in taken:  # two names that read the same once made safe
            path = f"data/{v['dataset_id']}/v{v['version']}.parquet"
        taken.add(path)
        out[v["id"]] = path
    return out


def _people(s: TenantSession, rows: dict[str, list[dict[str, Any]]]) -> list[dict[str, str]]:
    """Everyone the rows mention as a user: members, authors, actors (id, e-mail, name)."""
    user_columns = {(name, c.name) for name in TABLE_FILES for c in table(name).columns
                    if any(fk.column.table.name == "users" for fk in c.foreign_keys)}
    ids = {uuid.UUID(str(r[col])) for name, col in user_columns for r in rows[name] if r.get(col)}
    if not ids:
        return []
    found = s.execute(select(User.id, User.email, User.name).where(User.id.in_(ids)).order_by(User.email)).all()
    return [{"id": str(i), "email": e, "name": n} for i, e, n in found]


@requires(Permission.DELETE_WORKSPACE)
def export_zip(store: Store, ctx: Context) -> bytes:
    """Owner only: everything the workspace owns, in one zip with a manifest (see the module's note)."""
    buf = io.BytesIO()
    blobs = blob_store(store.settings)
    with store.session_scope(ctx) as s, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        s.require(Permission.DELETE_WORKSPACE)
        rows = {name: _rows(s, name) for name in TABLE_FILES}
        rows["webhook_endpoints"], unreadable = _endpoints(s, store, rows["webhook_endpoints"])
        left_out = dict(LEFT_OUT)
        if unreadable:
            left_out["unreadable_webhook_addresses"] = (
                f"{unreadable} webhook endpoint(s) whose address cannot be decrypted with this studio's "
                "ENCRYPTION_KEYS were left out; add them again after importing.")
        files = _data_files(rows)
        for name, file in TABLE_FILES.items():
            z.writestr(f"{file}.json", json.dumps(rows[name], indent=1, ensure_ascii=False))
        z.writestr("people.json", json.dumps(_people(s, rows), indent=1, ensure_ascii=False))
        keys = dict(s.execute(select(DatasetVersion.id, DatasetVersion.storage_key)).all())
        for version_id, path in files.items():
            z.writestr(path, blobs.get(s, keys[uuid.UUID(version_id)]))
        out = io.StringIO()
        w = csv.writer(out)
        w.writerow(["at", "actor", "action", "summary"])
        for e in s.scalars(select(AuditEvent).order_by(AuditEvent.at, AuditEvent.id)):
            w.writerow([audit.safe_cell(str(x)) for x in (e.at.isoformat(), e.actor_id or "", e.action, e.summary)])
        z.writestr("audit.csv", out.getvalue())
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": dt.datetime.now(dt.UTC).isoformat(),
            "source_workspace": {"id": str(s.workspace_id), "name": rows["workspaces"][0]["name"]},
            "counts": {name: len(rows[name]) for name in TABLE_FILES},
            "tables": TABLE_FILES,
            "data_files": files,
            "left_out": left_out,
        }
        z.writestr("manifest.json", json.dumps(manifest, indent=1, ensure_ascii=False))
        audit.record(s, "workspace.export", object_type="workspace", object_id=s.workspace_id,
                     summary="Exported all workspace data")
    return buf.getvalue()


__all__ = ["FORMAT", "FORMAT_VERSION", "LEFT_OUT", "OLDEST_FORMAT_VERSION", "SINCE", "TABLE_FILES", "export_zip"]
