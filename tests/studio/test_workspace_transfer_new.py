"""Workspace export / import of the newer parts (format version 3): URL data sets, webhook endpoints, notification
choices, the word list and rule-set versions — without any secret in the archive, endpoints arriving disabled and
feeds with credentials paused with their reason; older archives still import, newer ones are refused.

Against a local feed server and a local webhook receiver; on SQLite and Postgres.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from studio import (
    auth,
    dataset_keys,
    datasets,
    deliveries,
    feeds,
    invitations,
    notifications,
    rule_sets,
    set_follow,
    tenancy,
    webhooks,
    word_lists,
)
from studio import campaigns as campaign_sets
from studio import workspace_export as wx
from studio import workspace_import as wi
from studio.api import keys as api_keys
from studio.context import Context, Role
from studio.errors import PermissionDenied
from studio.publishing import crypto
from studio.store.ads_models import AdsConnection
from studio.store.event_models import NotificationPreference, WebhookEndpoint
from studio.store.feed_models import FeedFetch, FeedSource
from studio.store.session import Store
from studio.store.wordlist_models import WordListRow
from tests.feed_server import FeedServer, Route
from tests.http_receiver import receiver
from tests.studio.test_workspace_export import _rewrite

CSV = b"id,title,price\nA1,Trail Shoe,129\nB2,City Boot,89\n"
FEED_USER, FEED_PASSWORD = "feeduser", "S3cret-feed-pass"
BASIC = "Basic " + base64.b64encode(f"{FEED_USER}:{FEED_PASSWORD}".encode()).decode()
SLACK_URL = "https://93.184.216.34/services/T0AAA/B0BBB/slack-token-Zq81"
HOOK_URL = "https://93.184.216.34/hooks/dotoro?team=7"
ADS_TOKEN = "ads-refresh-token-Pk22"
CONFIG = {"platform": "reddit", "format": "thread",
          "templates": {"subreddit": "deals", "title": "{{ title }} for ${{ price }}", "body": "Now {{ price }}."}}
NO_SALE = {"id": "r1", "name": "No sale", "conditions": {"logic": "and", "items": [
    {"field": "sale_price", "operator": "is_empty"}]}, "actions": [{"type": "skip", "params": {}}]}
CHEAP = {"id": "r2", "name": "Cheap", "conditions": {"logic": "and", "items": [
    {"field": "price", "operator": "less_than", "value": 100}]}, "actions": [{"type": "skip", "params": {}}]}
NEW_TABLES = ("word_lists", "feed_sources", "feed_fetches", "webhook_endpoints", "notification_preferences")


@pytest.fixture()
def server() -> Iterator[FeedServer]:
    s = FeedServer().start()
    yield s
    s.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def tstore(request: pytest.FixtureRequest) -> Iterator[Store]:
    """The store, allowed to reach 127.0.0.1 (the feed server and the webhook receiver)."""
    base = request.getfixturevalue("sqlite_settings" if request.param == "sqlite" else "pg_settings")
    extra = {**base.extra, "FEED_ALLOWED_NETWORKS": "127.0.0.1", "FEED_READ_TIMEOUT_SECONDS": "2",
             "WEBHOOK_ALLOW_PRIVATE": "on", "WEBHOOK_TIMEOUT_SECONDS": "5"}
    store = Store(dataclasses.replace(base, extra=extra), **({"pool_size": 2} if request.param == "postgres" else {}))
    yield store
    store.dispose()


@dataclasses.dataclass
class Source:
    ctx: Context
    mia: Context  # a member who set her own notification choices
    mia_email: str
    secrets: list[str]  # every secret value the workspace holds, plain and sealed
    hook_secret: str
    hook_id: uuid.UUID
    feeds: dict[str, uuid.UUID]  # data set name → id


def _person(store: Store, name: str) -> tuple[Any, Any]:
    return auth.sign_up(store, f"{name.lower()}{uuid.uuid4().hex[:6]}@example.com", name, "correct horse")


def _member(store: Store, owner: Context, name: str, role: Role = Role.MEMBER) -> tuple[Context, str]:
    account, _ = _person(store, name)
    token = invitations.invite(store, owner, account.email, role).url.split("invite=")[1]
    invitations.accept(store, token, account)
    return Context(user_id=account.id, workspace_id=owner.workspace_id), account.email


def _newer_workspace(store: Store, server: FeedServer, hook_url: str = HOOK_URL) -> Source:
    """A workspace using every newer part through the studio's own services."""
    account, ws = _person(store, "Olga")
    ctx = Context(user_id=account.id, workspace_id=ws)
    mia, mia_email = _member(store, ctx, "Mia")
    server.routes["/locked.csv"] = Route(CSV, etag=False, require={"Authorization": BASIC})
    server.routes["/open.csv"] = Route(CSV)
    server.routes["/flaky.csv"] = Route(CSV)
    locked = feeds.create_from_url(store, ctx, server.url("/locked.csv"), name="Locked feed", auth_kind="basic",
                                   username=FEED_USER, secret=FEED_PASSWORD, interval_minutes=60)
    opened = feeds.create_from_url(store, ctx, server.url("/open.csv"), name="Open feed", interval_minutes=1440)
    flaky = feeds.create_from_url(store, ctx, server.url("/flaky.csv"), name="Flaky feed", fmt="csv", interval_minutes=15)
    server.routes["/flaky.csv"] = Route(status=500)
    for _ in range(feeds.PAUSE_AFTER):
        feeds.refresh(store, ctx, flaky.dataset_id)
    dataset_keys.set_key_column(store, ctx, locked.dataset_id, "id")
    set_id = campaign_sets.create(store, ctx, "Follows the locked feed", locked.dataset_id, CONFIG, follow_mode="auto")
    assert set_follow.follow_status(store, ctx, set_id).key_column == "id"

    hook_id, first_secret = webhooks.create_endpoint(store, ctx, hook_url, ["generation.completed", "diff.ready"],
                                                     description="n8n: results to the CRM")
    hook_secret = webhooks.rotate_secret(store, ctx, hook_id)  # the first one still signs for a day
    quiet, quiet_secret = webhooks.create_endpoint(store, ctx, "https://93.184.216.34/quiet", ["post.failed"])
    webhooks.update_endpoint(store, ctx, quiet, enabled=False)
    webhooks.set_slack(store, ctx, SLACK_URL, ["generation.failed"])

    notifications.set_preference(store, ctx, "generation.failed", in_app=False, email=True)
    notifications.set_preference(store, mia, "diff.ready", in_app=True, email=True)
    word_lists.save_word_list(store, ctx, banned=["knockoff", "cheap"], banned_mode="replace",
                              replacement="affordable", brands=["iPhone", "PlayStation"])
    r = rule_sets.create_rule_set(store, ctx, "Launch rules", [NO_SALE])
    rule_sets.save_rule_set(store, mia, r.id, [NO_SALE, CHEAP], note="skip cheap ones too")

    api_key = api_keys.create_key(store, ctx, "n8n production", ["read"], Role.MEMBER).secret
    sealed_ads = crypto.encrypt(store.settings, ADS_TOKEN)
    with store.session_scope(ctx) as s:
        s.add(AdsConnection(username="olga_ads", refresh_token_enc=sealed_ads, ad_account_id="a2_x",
                            connected_by=account.id))
        sealed = [src.credentials_enc for src in s.scalars(select(FeedSource))]
        for e in s.scalars(select(WebhookEndpoint)):
            sealed += [e.url_enc, e.secret_enc, e.previous_secret_enc]
    plain = [FEED_PASSWORD, BASIC.split()[1], first_secret, hook_secret, quiet_secret, SLACK_URL,
             "slack-token-Zq81", api_key, ADS_TOKEN]
    return Source(ctx, mia, mia_email, plain + [x for x in [*sealed, sealed_ads] if x], hook_secret, hook_id,
                  {"Locked feed": locked.dataset_id, "Open feed": opened.dataset_id, "Flaky feed": flaky.dataset_id})


def _by_name(store: Store, ctx: Context) -> dict[str, uuid.UUID]:
    return {d.name: d.id for d in datasets.list_datasets(store, ctx)}


def _counts(store: Store, ws: Any) -> dict[str, int]:
    models = {"word_lists": WordListRow, "feed_sources": FeedSource, "feed_fetches": FeedFetch,
              "webhook_endpoints": WebhookEndpoint, "notification_preferences": NotificationPreference}
    with store.session_scope(Context.job(ws)) as s:
        return {t: s.scalar(select(func.count()).select_from(m)) or 0 for t, m in models.items()}


def test_the_newer_parts_come_over_with_what_a_user_would_check(tstore, server):
    src = _newer_workspace(tstore, server)
    archive = wx.export_zip(tstore, src.ctx)
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(archive)).read("manifest.json"))
    assert manifest["format_version"] == 3
    assert {k: manifest["counts"][k] for k in NEW_TABLES} == {
        "word_lists": 1, "feed_sources": 3, "feed_fetches": 6, "webhook_endpoints": 2, "notification_preferences": 2}
    assert "word_list" not in manifest["left_out"] and "feed_sources" not in manifest["left_out"]
    for part in ("feed_credentials", "webhook_secrets", "slack_url", "api_keys", "reddit_ads"):
        assert manifest["left_out"][part], part

    done = wi.import_zip(tstore, src.ctx, archive)
    new = Context(user_id=src.ctx.user_id, workspace_id=done.workspace_id)
    assert done.counts["webhook_endpoints"] == 2 and done.counts["feed_sources"] == 3 and done.skipped == {}
    assert any("2 webhook endpoints arrived disabled" in t for t in done.todo)
    assert any("1 URL data set is paused because the credentials were not exported" in t for t in done.todo)

    # the word list and the rule set's versions, with who saved them
    assert word_lists.get_word_list(tstore, new) == word_lists.WordListSettings(
        ["knockoff", "cheap"], "replace", "affordable", ["iPhone", "PlayStation"])
    (rs,) = rule_sets.list_rule_sets(tstore, new)
    assert (rs.name, rs.version, [r["id"] for r in rs.rules]) == ("Launch rules", 2, ["r1", "r2"])
    assert [(v.version, [r["id"] for r in v.rules], v.saved_by, v.note)
            for v in rule_sets.versions(tstore, new, rs.id)] == [
        (2, ["r1", "r2"], "Mia", "skip cheap ones too"), (1, ["r1"], "Olga", "")]

    # URL data sets: address, format, schedule, key column, pause state; credentials left behind and said so
    names = _by_name(tstore, new)
    locked = feeds.feed_status(tstore, new, names["Locked feed"])
    opened = feeds.feed_status(tstore, new, names["Open feed"])
    flaky = feeds.feed_status(tstore, new, names["Flaky feed"])
    before = {n: feeds.feed_status(tstore, src.ctx, i) for n, i in src.feeds.items()}
    assert (locked.url, locked.interval_minutes, locked.paused, locked.auth_label) == (
        server.url("/locked.csv"), 60, True, "")
    assert locked.paused_reason == wi.FEED_CREDENTIALS_REASON.format(label=f"basic auth as {FEED_USER}")
    assert (opened.url, opened.interval_minutes, opened.paused, opened.next_fetch_at) == (
        server.url("/open.csv"), 1440, False, before["Open feed"].next_fetch_at)
    assert (flaky.format, flaky.interval_minutes, flaky.paused, flaky.consecutive_failures) == ("csv", 15, True, 3)
    assert flaky.paused_reason == before["Flaky feed"].paused_reason and "3 failed fetches" in flaky.paused_reason
    assert [(f.outcome, f.http_status) for f in flaky.fetches] == [(f.outcome, f.http_status)
                                                                   for f in before["Flaky feed"].fetches]
    key = dataset_keys.key_status(tstore, new, names["Locked feed"])
    assert (key.column, key.chosen) == ("id", True)
    (set_id,) = [c.id for c in campaign_sets.list_sets(tstore, new)]
    follow = set_follow.follow_status(tstore, new, set_id)
    assert (follow.mode, follow.key_column, follow.dataset_name) == ("auto", "id", "Locked feed")

    # webhook endpoints: address, description, events; disabled; the Slack URL did not come
    hooks = {e.description: e for e in webhooks.list_endpoints(tstore, new)}
    assert set(hooks) == {"n8n: results to the CRM", ""}
    crm = hooks["n8n: results to the CRM"]
    assert (crm.host, crm.kinds, crm.enabled, crm.rotating_until) == (
        "93.184.216.34", ("generation.completed", "diff.ready"), False, None)
    assert hooks[""].kinds == ("post.failed",) and not hooks[""].enabled
    assert webhooks.slack(tstore, new) is None

    # each member's own choices, for the people who joined
    mia_new = Context(user_id=src.mia.user_id, workspace_id=done.workspace_id)
    mine = {p.kind: (p.in_app, p.email, p.default) for p in notifications.preferences(tstore, new)}
    hers = {p.kind: (p.in_app, p.email, p.default) for p in notifications.preferences(tstore, mia_new)}
    assert mine["generation.failed"] == (False, True, False) and mine["diff.ready"][2] is True
    assert hers["diff.ready"] == (True, True, False) and hers["generation.failed"][2] is True

    # the original is as it was
    assert [e.enabled for e in webhooks.list_endpoints(tstore, src.ctx)] == [True, False]
    assert feeds.feed_status(tstore, src.ctx, src.feeds["Locked feed"]).paused is False


def test_no_secret_is_anywhere_in_the_archive(tstore, server):
    src = _newer_workspace(tstore, server)
    archive = wx.export_zip(tstore, src.ctx)
    z = zipfile.ZipFile(io.BytesIO(archive))
    unpacked = {n: z.read(n) for n in z.namelist()}
    assert len(src.secrets) >= 12
    for secret in src.secrets:
        assert secret.encode() not in archive
        assert [n for n, data in unpacked.items() if secret.encode() in data] == [], secret
    names = " ".join(unpacked)
    assert "api_key" not in names and "ads" not in names
    hooks = json.loads(unpacked["webhook_endpoints.json"])
    assert [h["url"] for h in hooks] == [HOOK_URL, "https://93.184.216.34/quiet"]
    assert all(not set(h) & {"url_enc", "secret_enc", "previous_secret_enc"} for h in hooks)
    assert all("credentials_enc" not in f for f in json.loads(unpacked["feed_sources.json"]))


def test_an_imported_feed_and_endpoint_work_once_their_secrets_are_given_again(tstore, server):
    with receiver() as rec:
        src = _newer_workspace(tstore, server, hook_url=rec.url)
        done = wi.import_zip(tstore, src.ctx, wx.export_zip(tstore, src.ctx))
        new = Context(user_id=src.ctx.user_id, workspace_id=done.workspace_id)
        locked = _by_name(tstore, new)["Locked feed"]
        assert "401" in (feeds.refresh(tstore, new, locked).error or ""), "no credentials came along"
        feeds.update_source(tstore, new, locked, auth_kind="basic", username=FEED_USER, secret=FEED_PASSWORD)
        assert feeds.resume(tstore, new, locked).paused is False
        assert feeds.refresh(tstore, new, locked).outcome == "unchanged"

        (hook,) = [e for e in webhooks.list_endpoints(tstore, new) if e.description]
        secret = webhooks.rotate_secret(tstore, new, hook.id)
        webhooks.update_endpoint(tstore, new, hook.id, enabled=True)
        assert webhooks.test_send(tstore, new, hook.id).outcome.ok
    got = rec.requests[-1]
    header = got.headers["dotoro-signature"]
    assert deliveries.verify(secret, header, got.body)
    assert not deliveries.verify(src.hook_secret, header, got.body), "the original's secret does not sign the copy"


def test_an_endpoint_whose_address_cannot_be_decrypted_is_left_out_and_said_so(tstore):
    from cryptography.fernet import Fernet

    def keyed(key: bytes) -> Store:
        extra = {**tstore.settings.extra, "ENCRYPTION_KEYS": key.decode()}
        return Store(dataclasses.replace(tstore.settings, extra=extra), url=tstore.url)

    account, ws = _person(tstore, "Kai")
    ctx = Context(user_id=account.id, workspace_id=ws)
    old, new = keyed(Fernet.generate_key()), keyed(Fernet.generate_key())
    webhooks.create_endpoint(old, ctx, "https://93.184.216.34/lost", ["diff.ready"], description="sealed with a lost key")
    webhooks.create_endpoint(new, ctx, "https://93.184.216.34/kept", ["diff.ready"], description="readable")
    archive = wx.export_zip(new, ctx)  # the first endpoint's key is no longer configured
    z = zipfile.ZipFile(io.BytesIO(archive))
    assert [h["description"] for h in json.loads(z.read("webhook_endpoints.json"))] == ["readable"]
    manifest = json.loads(z.read("manifest.json"))
    assert manifest["left_out"]["unreadable_webhook_addresses"].startswith("1 webhook endpoint(s) whose address cannot")
    assert manifest["counts"]["webhook_endpoints"] == 1
    assert wi.import_zip(new, ctx, archive).counts["webhook_endpoints"] == 1
    old.dispose()
    new.dispose()


def _as_version_2(archive: bytes) -> bytes:
    """The archive as a studio before format version 3 wrote it: without the newer tables."""
    src = zipfile.ZipFile(io.BytesIO(archive))
    files = {f"{wx.TABLE_FILES[t]}.json" for t in NEW_TABLES}
    manifest = json.loads(src.read("manifest.json"))
    manifest["format_version"] = 2
    for key in ("counts", "tables"):
        manifest[key] = {k: v for k, v in manifest[key].items() if k not in NEW_TABLES}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for n in src.namelist():
            if n == "manifest.json":
                out.writestr(n, json.dumps(manifest))
            elif n not in files:
                out.writestr(n, src.read(n))
    return buf.getvalue()


def test_an_archive_of_format_version_2_still_imports(tstore, server):
    src = _newer_workspace(tstore, server)
    old = _as_version_2(wx.export_zip(tstore, src.ctx))
    assert wi.preview(tstore, src.ctx, old).counts["datasets"] == 3
    done = wi.import_zip(tstore, src.ctx, old, name="From an old studio")
    new = Context(user_id=src.ctx.user_id, workspace_id=done.workspace_id)
    assert sorted(_by_name(tstore, new)) == ["Flaky feed", "Locked feed", "Open feed"]
    assert _counts(tstore, done.workspace_id) == dict.fromkeys(NEW_TABLES, 0)
    assert [v.version for v in rule_sets.versions(tstore, new, rule_sets.list_rule_sets(tstore, new)[0].id)] == [2, 1]
    assert done.todo == [] and done.skipped == {}


V2_ARCHIVE = Path(__file__).parent / "data" / "workspace_export_v2.zip"


def test_an_archive_the_studio_wrote_before_format_version_3_imports(tstore):
    """data/workspace_export_v2.zip was written by the exporter as it was before format version 3 (commit b79e6b6^):
    a data set with two versions and a chosen key column, a template, a rule set saved twice, a set following the
    data set automatically, a pending invitation."""
    account, ws = _person(tstore, "Ines")
    ctx = Context(user_id=account.id, workspace_id=ws)
    old = V2_ARCHIVE.read_bytes()
    assert json.loads(zipfile.ZipFile(io.BytesIO(old)).read("manifest.json"))["format_version"] == 2
    done = wi.import_zip(tstore, ctx, old)
    new = Context(user_id=account.id, workspace_id=done.workspace_id)
    (shop,) = datasets.list_datasets(tstore, new)
    assert (shop.name, datasets.load_table(tstore, new, shop.id).height) == ("Shop items", 3)
    assert (dataset_keys.key_status(tstore, new, shop.id).column, dataset_keys.key_status(tstore, new, shop.id).chosen) \
        == ("id", True)
    (rs,) = rule_sets.list_rule_sets(tstore, new)
    assert [(v.version, len(v.rules), v.note) for v in rule_sets.versions(tstore, new, rs.id)] == [
        (2, 2, "skip cheap ones too"), (1, 1, "")]
    (cs,) = campaign_sets.list_sets(tstore, new)
    assert (set_follow.follow_status(tstore, new, cs.id).mode, cs.key_column) == ("auto", "id")
    assert sorted(e for e, _ in done.invited) == ["olga.v2@example.com"]
    assert _counts(tstore, done.workspace_id) == dict.fromkeys(NEW_TABLES, 0) and done.todo == []


@pytest.mark.parametrize(("make", "message"), [
    (lambda a: _rewrite(a, "manifest.json", lambda t: t.replace('"format_version": 3', '"format_version": 4')),
     "format version 4, made by a newer studio; this studio imports versions 2 to 3. Update this studio"),
    (lambda a: _rewrite(a, "manifest.json", lambda t: t.replace('"format_version": 3', '"format_version": 1')),
     "format version 1; this studio imports versions 2 to 3. Export it again"),
    (lambda a: _rewrite(a, "feed_sources.json", lambda t: ""), "feed_sources.json is missing from the archive"),
    (lambda a: _rewrite(a, "webhook_endpoints.json", lambda t: t.replace(HOOK_URL, "ftp://93.184.216.34/x")),
     r"webhook_endpoints.json row 1: url is not an http\(s\) address \('ftp://93.184.216.34/x'\)"),
])
def test_newer_or_damaged_archives_are_refused_and_nothing_is_imported(tstore, server, make, message):
    src = _newer_workspace(tstore, server)
    archive = make(wx.export_zip(tstore, src.ctx))
    before = tenancy.memberships(tstore, src.ctx.user_id)
    data_dir = tstore.settings.home / "data"
    files = sorted(p for p in data_dir.rglob("*") if p.is_file()) if data_dir.exists() else []
    with pytest.raises(wi.ImportRefused, match=message):
        wi.import_zip(tstore, src.ctx, archive)
    assert tenancy.memberships(tstore, src.ctx.user_id) == before, "no workspace was created"
    assert (sorted(p for p in data_dir.rglob("*") if p.is_file()) if data_dir.exists() else []) == files, \
        "no data set version's file was left (the endpoints come after them)"


def test_the_import_lands_in_the_new_workspace_only_and_keeps_choices_of_members_only(tstore, server):
    src = _newer_workspace(tstore, server)
    archive = wx.export_zip(tstore, src.ctx)
    bystander, other_ws = _person(tstore, "Bea")
    source_before = _counts(tstore, src.ctx.workspace_id)
    # imported from a workspace where Mia is not a member: she gets an invitation, her choice stays out
    landing = tenancy.create_workspace(tstore, src.ctx.user_id, "Landing")
    done = wi.import_zip(tstore, Context(user_id=src.ctx.user_id, workspace_id=landing), archive)
    assert done.skipped == {"notification_preferences": 1} and done.invited == [(src.mia_email, "member")]
    assert any("1 notification choice of people who are not members here was left out" in t for t in done.todo)
    assert source_before["webhook_endpoints"] == 3, "two signed endpoints and the Slack URL"
    assert _counts(tstore, done.workspace_id) == {**source_before, "notification_preferences": 1, "webhook_endpoints": 2}
    assert _counts(tstore, src.ctx.workspace_id) == source_before
    assert _counts(tstore, landing) == dict.fromkeys(NEW_TABLES, 0)
    assert _counts(tstore, other_ws) == dict.fromkeys(NEW_TABLES, 0)
    outsider = Context(user_id=bystander.id, workspace_id=other_ws)
    assert webhooks.list_endpoints(tstore, outsider) == [] and word_lists.get_word_list(tstore, outsider).empty
    with pytest.raises(PermissionDenied):  # not a member of the copy
        webhooks.list_endpoints(tstore, Context(user_id=bystander.id, workspace_id=done.workspace_id))


def test_members_and_admins_are_refused_what_owners_may_do(tstore, server):
    src = _newer_workspace(tstore, server)
    archive = wx.export_zip(tstore, src.ctx)
    admin, _ = _member(tstore, src.ctx, "Ada", Role.ADMIN)
    with pytest.raises(PermissionDenied):
        wx.export_zip(tstore, admin)  # the webhook addresses and everything else: owners only
    for who in (src.mia, _member(tstore, src.ctx, "Vic", Role.VIEWER)[0]):
        with pytest.raises(PermissionDenied):
            wi.import_zip(tstore, who, archive)
        with pytest.raises(PermissionDenied):
            wi.preview(tstore, who, archive)
    done = wi.import_zip(tstore, admin, archive)  # an admin imports into a workspace of their own
    assert done.counts["webhook_endpoints"] == 2
