"""Sync one set to Reddit Ads, idempotently: campaign → ad group → post → ad, each create-or-update.

For every entity the plan wants (studio.reddit_ads.plan):
- it has a Reddit id in the ledger → compare Reddit's current values with what we last sent: a difference is an
  edit made on Reddit (a **conflict**, reported, never overwritten); else what we want now differs from what we
  sent → **update** (only the changed fields); else nothing is written;
- it has none → **look it up** under its parent by name (a post by its content) and adopt it; only when it is
  not there is it **created**, and Reddit's id is committed to the ledger in its own step right after the
  answer. A worker killed between Reddit's answer and that commit leaves an entity the next run finds by
  name, so no twin is ever created (tests/workers/test_ads_sync_crash.py kills a real worker at each step).
Ads of variations that are no longer approved (or whose rows were removed) are paused, not deleted.
Reddit's current state is read once per sync with paged list calls (a few calls per 100 entities), so a second
sync of an unchanged set makes no writes at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from studio.context import Context, WorkspaceId
from studio.permissions import system_only
from studio.reddit_ads import client as ac
from studio.reddit_ads.plan import KINDS, Entity, Plan, post_key
from studio.store.ads_models import AdsConnection, AdsEntity
from studio.store.base import utcnow
from studio.store.session import Store

CHECKPOINTS: list[Callable[[str], None]] = []
"""Observers of the steps of a create ("sending", "answered", "recorded"); the crash tests stop a worker there."""


def checkpoint(step: str) -> None:
    for observer in CHECKPOINTS:
        observer(step)


@dataclass
class Counts:
    created: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    updated: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    adopted: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    unchanged: int = 0
    paused: int = 0
    conflicts: list[dict[str, str]] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    skipped: int = 0

    def writes(self) -> int:
        return sum(self.created.values()) + sum(self.updated.values()) + self.paused

    def as_dict(self) -> dict[str, Any]:
        return {"created": self.created, "updated": self.updated, "adopted": self.adopted, "unchanged": self.unchanged,
                "paused": self.paused, "conflicts": self.conflicts[:50], "conflict_count": len(self.conflicts),
                "failed": self.failed[:50], "failed_count": len(self.failed), "skipped": self.skipped,
                "writes": self.writes()}


PATHS = {"campaign": "campaigns", "ad_group": "ad_groups", "ad": "ads"}
MONEY = frozenset({"goal_value", "bid_value", "spend_cap"})
"""Fields that spend money: on a live entity only a sync asked by an approver changes them."""
PARENT_FIELD = {"ad_group": "campaign_id", "ad": "ad_group_id"}


class Remote:
    """Reddit's entities under the ad account (and the profile's posts), listed once and kept current."""

    def __init__(self, api: ac.AdsClient, account: str, profile: str):
        self.api, self.account, self.profile = api, account, profile
        self.by_id: dict[str, dict[str, Any]] = {}
        self.by_name: dict[tuple[str, str, str], str] = {}
        self.loaded: set[str] = set()

    def load(self, kind: str) -> None:
        if kind in self.loaded:
            return
        path = f"/profiles/{self.profile}/posts" if kind == "post" else f"/ad_accounts/{self.account}/{PATHS[kind]}"
        for item in self.api.pages(path):
            self.remember(kind, item)
        self.loaded.add(kind)

    def remember(self, kind: str, item: dict[str, Any]) -> None:
        self.by_id[item["id"]] = item
        self.by_name[(kind, self._parent(kind, item), self._name(kind, item))] = item["id"]

    def _parent(self, kind: str, item: dict[str, Any]) -> str:
        return str(item.get(PARENT_FIELD.get(kind, ""), "")) if kind in PARENT_FIELD else ""

    def _name(self, kind: str, item: dict[str, Any]) -> str:
        if kind == "post":
            return post_key({k: item[k] for k in ("type", "headline", "content", "body") if k in item})
        return str(item.get("name", ""))

    def find(self, kind: str, parent_id: str, entity: Entity) -> dict[str, Any] | None:
        self.load(kind)
        name = entity.key if kind == "post" else entity.name
        found = self.by_name.get((kind, parent_id, name))
        return self.by_id.get(found) if found else None

    def reload(self, kind: str) -> None:
        self.loaded.discard(kind)
        self.load(kind)


def _differs(sent: dict[str, Any], remote: dict[str, Any]) -> list[str]:
    return sorted(k for k, v in sent.items() if remote.get(k) != v)


class Syncer:
    """One sync run's work; every ledger write is its own short transaction."""

    def __init__(self, store: Store, ctx: Context, set_id: uuid.UUID, connection: AdsConnection, api: ac.AdsClient,
                 *, go_live: bool, may_spend: bool = True):
        self.store, self.ctx, self.set_id, self.api, self.go_live = store, ctx, set_id, api, go_live
        self.may_spend = may_spend  # the sync was asked by a member who may approve: money of live entities may change
        self.connection_id = connection.id
        self.remote = Remote(api, connection.ad_account_id, connection.profile_id)
        self.account = connection.ad_account_id
        self.counts = Counts()
        self.ids: dict[str, str] = {}
        with store.session_scope(ctx) as s:
            rows = s.scalars(select(AdsEntity).where(AdsEntity.campaign_set_id == set_id,
                                                     AdsEntity.connection_id == connection.id)).all()
            self.ledger: dict[tuple[str, str], dict[str, Any]] = {
                (r.kind, r.key): {"id": r.id, "platform_id": r.platform_id, "sent": dict(r.sent or {}), "state": r.state,
                                  "paused": r.paused} for r in rows}

    # ledger ---------------------------------------------------------------------------------------------
    def _save(self, e: Entity, **values: Any) -> None:
        known = self.ledger.get((e.kind, e.key))
        with self.store.session_scope(self.ctx) as s:
            row = s.get(AdsEntity, known["id"]) if known is not None else None  # one sync per set at a time
            if row is None:
                row = AdsEntity(campaign_set_id=self.set_id, connection_id=self.connection_id, kind=e.kind, key=e.key,
                                parent_key=e.parent, name=e.name[:2000],
                                variation_id=uuid.UUID(e.variation_id) if e.variation_id else None)
                s.add(row)
            for k, v in values.items():
                setattr(row, k, v)
            row.name = e.name[:2000]
            s.flush()
            self.ledger[(e.kind, e.key)] = {"id": row.id, "platform_id": row.platform_id, "sent": dict(row.sent or {}),
                                            "state": row.state, "paused": row.paused}

    # one entity -----------------------------------------------------------------------------------------
    def _body(self, e: Entity, paused: bool) -> dict[str, Any]:
        body = dict(e.data)
        if e.kind == "ad_group":
            body["campaign_id"] = self.ids[e.parent]
        if e.kind == "ad":
            body["ad_group_id"], body["post_id"] = self.ids[e.parent], self.ids[e.post]
        if e.kind != "post":
            body["configured_status"] = "PAUSED" if paused else "ACTIVE"
        return body

    def ensure(self, e: Entity) -> None:
        if any(p and p not in self.ids for p in (e.parent, e.post)):
            self.counts.failed.append({"key": e.key, "name": e.name, "message": "its parent could not be synced"})
            return
        row = self.ledger.get((e.kind, e.key))
        paused = row["paused"] if row is not None and row["platform_id"] else not self.go_live
        if row is not None and row["state"] == "detached":  # the user kept Reddit's version: hands off
            self.ids[e.key] = row["platform_id"]
            self.counts.unchanged += 1
            return
        body = self._body(e, paused)
        if row is not None and row["platform_id"]:
            self._existing(e, row, body)
            return
        parent_id = body.get(PARENT_FIELD.get(e.kind, ""), "") if e.kind in PARENT_FIELD else ""
        found = self.remote.find(e.kind, parent_id, e)
        if found is not None:
            self._adopt(e, found, body, paused)
            return
        self._create(e, body, paused, parent_id)

    def _existing(self, e: Entity, row: dict[str, Any], body: dict[str, Any]) -> None:
        self.remote.load(e.kind)
        pid = row["platform_id"]
        self.ids[e.key] = pid
        remote = self.remote.by_id.get(pid)
        if remote is None:
            self._conflict(e, "was deleted on Reddit since the last sync")
            return
        edited = _differs(row["sent"], remote)
        if edited:
            self._conflict(e, "was edited on Reddit since the last sync (" + ", ".join(edited) + ")")
            return
        change = {k: v for k, v in body.items() if row["sent"].get(k) != v}
        money = sorted(MONEY & change.keys())
        if money and not self.may_spend and remote.get("configured_status") == "ACTIVE":
            self._conflict(e, "is live, and its " + ", ".join(m.replace("_", " ") for m in money) + " would change: "
                           "a member who may approve has to sync this set (or pause it first)", state="needs_approval")
            return
        if not change:
            if row["state"] != "synced":
                self._save(e, state="synced", message="")
            self.counts.unchanged += 1
            return
        if e.kind == "post":  # posts cannot change: new content is a new post (another key)
            self.counts.unchanged += 1
            return
        updated = self.api.update(f"/{PATHS[e.kind]}/{pid}", change)
        self.remote.remember(e.kind, {**remote, **change, **updated})
        self._save(e, sent=body, state="synced", message="", synced_at=utcnow(),
                   paused=body.get("configured_status") == "PAUSED")
        self.counts.updated[e.kind] += 1

    def _adopt(self, e: Entity, found: dict[str, Any], body: dict[str, Any], paused: bool) -> None:
        pid = found["id"]
        self.ids[e.key] = pid
        sent = {k: found.get(k) for k in body}
        self._save(e, platform_id=pid, sent=sent, state="synced", synced_at=utcnow(), paused=paused, message="")
        self.counts.adopted[e.kind] += 1
        change = {k: v for k, v in body.items() if found.get(k) != v}
        if change and e.kind != "post":
            updated = self.api.update(f"/{PATHS[e.kind]}/{pid}", change)
            self.remote.remember(e.kind, {**found, **change, **updated})
            self._save(e, sent=body, synced_at=utcnow())
            self.counts.updated[e.kind] += 1

    def _create(self, e: Entity, body: dict[str, Any], paused: bool, parent_id: str) -> None:
        path = f"/profiles/{self.remote.profile}/posts" if e.kind == "post" else f"/ad_accounts/{self.account}/{PATHS[e.kind]}"
        checkpoint("sending")
        try:
            created = self.api.create(path, body)
        except ac.Ambiguous:
            self.remote.reload(e.kind)  # did Reddit make it before failing? look before sending again
            found = self.remote.find(e.kind, parent_id, e)
            if found is not None:
                self._adopt(e, found, body, paused)
                return
            created = self.api.create(path, body)
        checkpoint("answered")
        self._save(e, platform_id=created["id"], sent=body, state="synced", synced_at=utcnow(), paused=paused,
                   message="")
        checkpoint("recorded")
        self.ids[e.key] = created["id"]
        self.remote.remember(e.kind, {**body, **created})
        self.counts.created[e.kind] += 1

    def _conflict(self, e: Entity, why: str, state: str = "conflict") -> None:
        message = f"{e.kind.replace('_', ' ').capitalize()} '{e.name}' {why}; the studio did not overwrite it."
        self._save(e, state=state, message=message)
        self.counts.conflicts.append({"key": e.key, "kind": e.kind, "name": e.name, "message": message})

    # the run --------------------------------------------------------------------------------------------
    def run(self, plan: Plan) -> Counts:
        self.counts.skipped = len(plan.skipped)
        for kind in KINDS:
            for e in plan.of(kind):
                try:
                    self.ensure(e)
                except ac.AdsRefused as exc:
                    self._save(e, state="failed", message=exc.message)
                    self.counts.failed.append({"key": e.key, "kind": kind, "name": e.name, "message": exc.message})
        self._pause_removed({e.key for e in plan.of("ad")})
        return self.counts

    def _pause_removed(self, wanted: set[str]) -> None:
        gone = [(key, row) for (kind, key), row in self.ledger.items()
                if kind == "ad" and key not in wanted and row["platform_id"] and row["state"] not in ("removed", "detached")]
        if not gone:
            return
        self.remote.load("ad")
        for key, row in gone:
            e = Entity("ad", key, self.remote.by_id.get(row["platform_id"], {}).get("name", key), {})
            remote = self.remote.by_id.get(row["platform_id"])
            if remote is not None and remote.get("configured_status") != "PAUSED":
                self.api.update(f"/ads/{row['platform_id']}", {"configured_status": "PAUSED"})
                self.counts.paused += 1
            self._save(e, state="removed", paused=True, message="Its variation is no longer approved; paused on Reddit.",
                       sent={**row["sent"], "configured_status": "PAUSED"}, synced_at=utcnow())


@system_only("the ads sync job syncs one set into its connection")
def sync(store: Store, ws: WorkspaceId, set_id: uuid.UUID, connection_id: uuid.UUID, plan: Plan, *,
         go_live: bool, may_spend: bool = True) -> Counts:
    """Run one sync of `plan` (already built from the set) with the connection's client."""
    from studio.reddit_ads.connections import api_client

    ctx = Context.job(ws)
    with store.session_scope(ctx) as s:
        connection = s.get(AdsConnection, connection_id)
        if connection is None:
            raise ac.AdsRefused("The Reddit Ads connection was removed from the workspace.")
        s.expunge(connection)
    api = api_client(store, ctx, connection_id)
    try:
        return Syncer(store, ctx, set_id, connection, api, go_live=go_live, may_spend=may_spend).run(plan)
    finally:
        api.close()
