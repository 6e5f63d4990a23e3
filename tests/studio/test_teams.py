"""Teams: the role table enforced in services, owners protected, invitations, removal at once, deletion."""

from __future__ import annotations

import datetime as dt
import random
import threading
import uuid

import pytest
from sqlalchemy import func, select, text, update

from studio import audit, auth, datasets, invitations, tenancy, workspaces
from studio.context import Context, Role
from studio.errors import NotFound, PermissionDenied, ValidationFailed
from studio.store.models import AuditEvent, Dataset, Invitation, Workspace
from studio.store.session import Store

CSV = b"name,price\nShoe,10\n"


def _account(store: Store):
    account, ws = auth.sign_up(store, f"u{uuid.uuid4().hex[:8]}@example.com", "Team Mate", "correct horse")
    return account, Context(user_id=account.id, workspace_id=ws)


def _team(store: Store):
    """An owner's workspace with one member of every role; returns (owner ctx, {role: (account, ctx)})."""
    owner, octx = _account(store)
    people = {Role.OWNER: (owner, octx)}
    for role in (Role.ADMIN, Role.MEMBER, Role.VIEWER):
        acc, _ = _account(store)
        link = invitations.invite(store, octx, acc.email, role)
        invitations.accept(store, link.url.split("invite=")[1], acc)
        people[role] = (acc, Context(user_id=acc.id, workspace_id=octx.workspace_id))
    extra, _ = _account(store)
    invitations.accept(store, invitations.invite(store, octx, extra.email, Role.MEMBER).url.split("invite=")[1], extra)
    people["bystander"] = (extra, Context(user_id=extra.id, workspace_id=octx.workspace_id))
    return octx, people


ACTIONS = {
    "view data sets": (lambda st, c, p: datasets.list_datasets(st, c), set(Role)),
    "upload a data set": (lambda st, c, p: datasets.upload(st, c, "x.csv", CSV), {Role.OWNER, Role.ADMIN, Role.MEMBER}),
    "rename the workspace": (lambda st, c, p: workspaces.rename(st, c, "Renamed"), {Role.OWNER, Role.ADMIN}),
    "invite someone": (lambda st, c, p: invitations.invite(st, c, f"n{uuid.uuid4().hex[:6]}@example.com", Role.MEMBER), {Role.OWNER, Role.ADMIN}),
    "change a member's role": (lambda st, c, p: workspaces.change_role(st, c, p[Role.VIEWER][0].id, Role.MEMBER), {Role.OWNER, Role.ADMIN}),
    "remove a member": (lambda st, c, p: workspaces.remove_member(st, c, p["bystander"][0].id), {Role.OWNER, Role.ADMIN}),
    "read the audit trail": (lambda st, c, p: audit.search(st, c, audit.AuditFilter()), {Role.OWNER, Role.ADMIN}),
    "delete the workspace": (lambda st, c, p: workspaces.delete_workspace(st, c, "Team's workspace"), {Role.OWNER}),
}


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
@pytest.mark.parametrize("action", list(ACTIONS))
def test_permission_table(sqlite_store, action, role):
    _, people = _team(sqlite_store)
    fn, allowed = ACTIONS[action]
    ctx = people[role][1]
    if role in allowed:
        fn(sqlite_store, ctx, people)
    else:
        with pytest.raises(PermissionDenied):
            fn(sqlite_store, ctx, people)


def test_last_owner_cannot_leave_or_be_demoted(store):
    octx, people = _team(store)
    owner = people[Role.OWNER][0]
    with pytest.raises(ValidationFailed, match="last owner"):
        workspaces.leave(store, octx)
    with pytest.raises(ValidationFailed, match="last owner"):
        workspaces.change_role(store, octx, owner.id, Role.ADMIN)
    with pytest.raises(PermissionDenied, match="Only an owner"):
        workspaces.change_role(store, people[Role.ADMIN][1], owner.id, Role.MEMBER)
    workspaces.change_role(store, octx, people[Role.ADMIN][0].id, Role.OWNER)
    workspaces.leave(store, octx)  # now there is another owner
    assert octx.workspace_id not in {m.workspace_id for m in tenancy.memberships(store, owner.id)}


def test_removed_member_loses_access_at_once(store):
    octx, people = _team(store)
    mctx = people[Role.MEMBER][1]
    assert datasets.list_datasets(store, mctx) == []
    workspaces.remove_member(store, octx, people[Role.MEMBER][0].id)
    with pytest.raises(PermissionDenied, match="not a member"):
        datasets.list_datasets(store, mctx)


def test_invitation_is_single_use_and_for_its_address(store):
    _, octx = _account(store)
    guest, _ = _account(store)
    other, _ = _account(store)
    link = invitations.invite(store, octx, guest.email.upper(), Role.VIEWER)
    assert not link.emailed and "?invite=" in link.url
    token = link.url.split("invite=")[1]
    assert invitations.preview(store, token).role == Role.VIEWER
    with pytest.raises(PermissionDenied, match="is for"):
        invitations.accept(store, token, other)
    invitations.accept(store, token, guest)
    assert (octx.workspace_id, Role.VIEWER) in {(m.workspace_id, m.role) for m in tenancy.memberships(store, guest.id)}
    with pytest.raises(ValidationFailed, match="already accepted"):
        invitations.accept(store, token, guest)


def test_resend_replaces_the_link_revoke_and_expiry(store):
    _, octx = _account(store)
    guest, _ = _account(store)
    first = invitations.invite(store, octx, guest.email, Role.MEMBER)
    second = invitations.resend(store, octx, first.invitation_id)
    with pytest.raises(NotFound):
        invitations.accept(store, first.url.split("invite=")[1], guest)
    invitations.revoke(store, octx, first.invitation_id)
    with pytest.raises(ValidationFailed, match="revoked"):
        invitations.accept(store, second.url.split("invite=")[1], guest)
    late = invitations.invite(store, octx, guest.email, Role.MEMBER)
    with store.session_scope(octx) as s:
        s.execute(update(Invitation).where(Invitation.id == late.invitation_id)
                  .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)))
    assert [i.status for i in invitations.list_invitations(store, octx)][0] == "expired"
    with pytest.raises(ValidationFailed, match="expired"):
        invitations.accept(store, late.url.split("invite=")[1], guest)


def test_declined_invitation_adds_nothing(store):
    _, octx = _account(store)
    guest, _ = _account(store)
    link = invitations.invite(store, octx, guest.email, Role.MEMBER)
    invitations.decline(store, link.url.split("invite=")[1], guest)
    assert octx.workspace_id not in {m.workspace_id for m in tenancy.memberships(store, guest.id)}


def test_deleting_a_workspace_removes_everything_of_it(store):
    _, octx = _account(store)
    _, keep = _account(store)
    datasets.upload(store, octx, "a.csv", CSV)
    datasets.upload(store, keep, "b.csv", CSV)
    with pytest.raises(ValidationFailed, match="Type the workspace name"):
        workspaces.delete_workspace(store, octx, "wrong")
    workspaces.delete_workspace(store, octx, "Team's workspace")
    with store.account_scope() as s:
        assert s.scalar(select(func.count()).select_from(Workspace).where(Workspace.id == octx.workspace_id)) == 0
    with store.session_scope(Context.job(octx.workspace_id)) as s:
        assert s.scalar(select(func.count()).select_from(Dataset)) == 0
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == 0
    assert len(datasets.list_datasets(store, keep)) == 1


def test_audit_trail_records_filters_and_exports_safely(store):
    _, octx = _account(store)
    datasets.upload(store, octx, "=cmd|' /C calc'!A0.csv", CSV)
    rows = audit.search(store, octx, audit.AuditFilter(action_prefix="dataset."))
    assert [r.action for r in rows] == ["dataset.upload"]
    assert rows[0].actor.startswith("u")
    today = dt.datetime.now(dt.UTC).date()
    assert audit.search(store, octx, audit.AuditFilter(start=today + dt.timedelta(days=1))) == []
    exported = audit.to_csv(audit.search(store, octx, audit.AuditFilter())).decode("utf-8-sig")
    assert "workspace.create" in exported and "dataset.upload" in exported
    assert ",=" not in exported and "\n=" not in exported


def test_no_row_of_another_workspace_under_concurrent_load(pg_store):
    """50 threads × 200 transactions with random workspaces on a pool of 5: never a foreign row."""
    ctxs = [_account(pg_store)[1] for _ in range(6)]
    store = Store(pg_store.settings, pool_size=5, max_overflow=0, pool_timeout=60)
    seen_foreign: list[tuple[uuid.UUID, uuid.UUID]] = []
    errors: list[BaseException] = []

    def work(seed: int) -> None:
        rnd = random.Random(seed)
        try:
            for _ in range(200):
                ws = rnd.choice(ctxs).workspace_id
                with store.session_scope(Context.job(ws)) as s:
                    for other in s.execute(text("select workspace_id from audit_events union all select id from workspaces")).scalars():
                        if other != ws:
                            seen_foreign.append((ws, other))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store.dispose()
    assert not errors, errors[:3]
    assert seen_foreign == []


def test_owner_exports_everything_of_the_workspace(store):
    import io
    import json
    import zipfile

    from studio import workspace_export

    octx, people = _team(store)
    datasets.upload(store, octx, "products.csv", CSV)
    data = workspace_export.export_zip(store, octx)
    z = zipfile.ZipFile(io.BytesIO(data))
    names = set(z.namelist())
    assert {"workspace.json", "members.json", "datasets.json", "audit_events.json", "audit.csv", "people.json"} <= names
    assert "data/products/v1.parquet" in names
    assert len(json.loads(z.read("members.json"))) == 5
    assert "token_hash" not in z.read("invitations.json").decode()
    with pytest.raises(PermissionDenied):
        workspace_export.export_zip(store, people[Role.ADMIN][1])


@pytest.mark.parametrize(("action", "message"), [
    (lambda st, c, u: invitations.invite(st, c, "guest\x00@example.com", Role.MEMBER), "control character \\(NUL\\)"),
    (lambda st, c, u: workspaces.rename(st, c, "Team\x00"), "control character"),
    (lambda st, c, u: tenancy.create_workspace(st, u, "Client\x00 A"), "control character"),
])
def test_nul_bytes_in_names_and_invites_are_refused_with_a_message(store, action, message):
    account, octx = _account(store)
    with pytest.raises(ValidationFailed, match=message):
        action(store, octx, account.id)


def test_a_duplicate_name_written_past_the_check_reads_as_a_message(store):
    """Two clicks can both pass a service's name check; the unique constraint's refusal becomes a message."""
    from studio.store.campaign_models import Template

    _, octx = _account(store)
    for attempt in range(2):
        try:
            with store.session_scope(octx) as s:
                s.add(Template(name="Promo", platform="reddit", format="post", fields={}))
        except ValidationFailed as exc:
            assert attempt == 1
            assert str(exc) == "A template named 'Promo' already exists in this workspace; pick another name."
        else:
            assert attempt == 0


def test_concurrent_accepts_of_one_invitation_make_one_member(store):
    _, octx = _account(store)
    guest, _ = _account(store)
    token = invitations.invite(store, octx, guest.email, Role.MEMBER).url.split("invite=")[1]
    outcomes: list[str] = []

    def click() -> None:
        try:
            invitations.accept(store, token, guest)
            outcomes.append("joined")
        except (ValidationFailed, PermissionDenied, NotFound) as exc:
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=click) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outcomes) == 6 and outcomes.count("joined") >= 1  # every click answered; none a raw DB error
    assert [m.workspace_id for m in tenancy.memberships(store, guest.id)].count(octx.workspace_id) == 1


def test_a_racing_duplicate_is_still_an_integrity_error_for_code_that_retries(store):
    from sqlalchemy.exc import IntegrityError

    from studio.store.campaign_models import Template

    _, octx = _account(store)
    with store.session_scope(octx) as s:
        s.add(Template(name="Promo", platform="reddit", format="post", fields={}))
    with pytest.raises(IntegrityError) as caught, store.session_scope(octx) as s:
        s.add(Template(name="Promo", platform="reddit", format="post", fields={}))
    assert isinstance(caught.value, ValidationFailed) and "named 'Promo' already exists" in str(caught.value)


def test_concurrent_invites_of_one_address_make_one_invitation(store):
    _, octx = _account(store)
    outcomes: list[str] = []

    def click() -> None:
        try:
            invitations.invite(store, octx, "twice@example.com", Role.MEMBER)
            outcomes.append("invited")
        except ValidationFailed as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=click) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["invited"] + ["twice@example.com already has a pending invitation; resend it instead."] * 5
    assert [i.email for i in invitations.list_invitations(store, octx)] == ["twice@example.com"]
