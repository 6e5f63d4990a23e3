"""Permission by construction (issue #15): every public service declares what its caller needs, and the
declaration holds for viewers, members and non-members on SQLite and Postgres."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

import studio
from studio import audit, auth, invitations, permissions
from studio.context import GRANTS, Context, Role
from studio.errors import PermissionDenied, ValidationFailed
from studio.publishing import accounts
from studio.store.models import AuditEvent
from studio.store.session import Store

ROOT = Path(__file__).resolve().parents[2]


def _service_modules() -> list[Any]:
    mods = []
    for info in pkgutil.walk_packages(studio.__path__, "studio."):
        if info.name.startswith(("studio.ui", "studio.store.migrations")) or info.name == "studio.permissions":
            continue
        mods.append(importlib.import_module(info.name))
    return mods


def _services() -> dict[str, Callable[..., Any]]:
    """Every public function of the studio package that takes `ctx` or starts with `store`."""
    found: dict[str, Callable[..., Any]] = {}
    for mod in _service_modules():
        for name, fn in vars(mod).items():
            if name.startswith("_") or not inspect.isfunction(fn):
                continue
            original = inspect.unwrap(fn)
            if original.__module__ != mod.__name__:
                continue  # imported from elsewhere; counted where it is defined
            params = list(inspect.signature(fn).parameters)
            if "ctx" in params or params[:1] == ["store"]:
                found[f"{mod.__name__}.{name}"] = fn
    return found


SERVICES = _services()


def test_the_walk_finds_the_services():
    # a walk that silently found nothing would pass the next test
    assert len(SERVICES) >= 100
    for known in ("studio.audit.apply_retention", "studio.publishing.accounts.client", "studio.datasets.upload",
                  "studio.auth.authenticate", "studio.workspaces.delete_workspace"):
        assert known in SERVICES


def test_every_service_declares_what_it_needs():
    missing = sorted(name for name, fn in SERVICES.items() if permissions.declaration(fn) is None)
    assert not missing, ("Declare what these need with @requires(Permission.X), @system_only(why), "
                         "@operator_only, @public(why) or @internal(why) from studio.permissions: " + ", ".join(missing))


def test_public_and_system_declarations_say_why():
    for name, fn in SERVICES.items():
        decl = permissions.declaration(fn)
        assert decl is not None
        if decl.kind in ("public", "system", "internal"):
            assert len(decl.reason) > 10, name


def _account(store: Store) -> tuple[auth.Account, Context]:
    account, ws = auth.sign_up(store, f"p{uuid.uuid4().hex[:10]}@example.com", "Perm Tester", "correct horse")
    return account, Context(user_id=account.id, workspace_id=ws)


@pytest.fixture()
def team(store: Store) -> dict[str, Context]:
    """A workspace with an owner, a viewer and a member, and an outsider (member of another workspace)."""
    _, owner = _account(store)
    people = {"owner": owner}
    for label, role in (("viewer", Role.VIEWER), ("member", Role.MEMBER)):
        acc, _ = _account(store)
        link = invitations.invite(store, owner, acc.email, role)
        invitations.accept(store, link.url.split("invite=")[1], acc)
        people[label] = Context(user_id=acc.id, workspace_id=owner.workspace_id)
    outsider, _ = _account(store)
    people["non-member"] = Context(user_id=outsider.id, workspace_id=owner.workspace_id)
    return people


class Placeholder:
    """Stands for every other argument: the gate must decide before the body would touch it."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the body ran and read .{name} of a placeholder argument")


def _call(fn: Callable[..., Any], store: Store, ctx: Context) -> Any:
    args: dict[str, Any] = {}
    for name, p in inspect.signature(fn).parameters.items():
        if name == "store":
            args[name] = store
        elif name == "ctx":
            args[name] = ctx
        elif name == "user_id":
            args[name] = ctx.user_id
        elif p.default is inspect.Parameter.empty:
            args[name] = Placeholder()
    with permissions.gates_only():
        return fn(**args)


def _allowed(decl: permissions.Declaration, who: str) -> bool:
    if decl.kind != "permission" or who == "non-member":
        return False
    assert decl.permission is not None
    return {"viewer": Role.VIEWER, "member": Role.MEMBER}[who] in GRANTS[decl.permission]


CHECKED = sorted(name for name, fn in SERVICES.items()
                 if (d := permissions.declaration(fn)) is not None and d.kind not in ("public", "internal")
                 and (d.kind != "system" or "ctx" in inspect.signature(fn).parameters))


def test_every_checked_service_refuses_as_declared(store, team):
    """Each service with a gate, called as a viewer, a member and a non-member: refused exactly as declared."""
    wrong: list[str] = []
    for name in CHECKED:
        fn = SERVICES[name]
        decl = permissions.declaration(fn)
        assert decl is not None
        for who in ("viewer", "member", "non-member"):
            try:
                outcome = "allowed" if _call(fn, store, team[who]) is permissions.GATE_PASSED else "ran?"
            except PermissionDenied:
                outcome = "refused"
            expected = "allowed" if _allowed(decl, who) else "refused"
            if outcome != expected:
                wrong.append(f"{name} as {who}: {outcome}, declared {expected}")
    assert not wrong, "\n".join(wrong)
    assert len(CHECKED) >= 80


def test_jobs_pass_every_workspace_gate(store, team):
    job = Context.job(team["owner"].workspace_id)
    for name in CHECKED:
        fn = SERVICES[name]
        decl = permissions.declaration(fn)
        if decl is not None and decl.kind in ("permission", "system"):
            assert _call(fn, store, job) is permissions.GATE_PASSED, name


def test_a_viewer_cannot_wipe_the_audit_trail(store, team):
    def events() -> int:
        with store.session_scope(Context.job(team["owner"].workspace_id)) as s:
            return s.scalar(select(func.count()).select_from(AuditEvent)) or 0

    before = events()
    assert before > 0
    for who in ("viewer", "member", "owner"):
        with pytest.raises(PermissionDenied):
            audit.apply_retention(store, team[who], 0)
    with pytest.raises(ValidationFailed, match="at least 1 day"):
        audit.apply_retention(store, Context.job(team["owner"].workspace_id), 0)
    assert events() == before


def test_a_viewer_or_member_gets_no_reddit_client(store, team):
    """The client carries the decrypted secret and password: only jobs and integration managers get one."""
    for who in ("viewer", "member", "non-member"):
        with pytest.raises(PermissionDenied):
            accounts.client(store, team[who], uuid.uuid4())


DECRYPTING = re.compile(r"crypto\.decrypt|_credentials\(|accounts\.client\(|\bdecrypt\(")


def test_secrets_are_decrypted_only_inside_publishing():
    """Outside studio/publishing no code decrypts a secret or builds an account's client."""
    offenders = []
    for path in [ROOT / "app.py", *(ROOT / "studio").rglob("*.py"), *(ROOT / "pages").rglob("*.py"),
                 *(ROOT / "workers").rglob("*.py")]:
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("studio/publishing/") or rel in ("studio/feed_secrets.py",  # URL data sets' credentials
                                                            "studio/reddit_ads/connections.py"):  # ads grants
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if DECRYPTING.search(line):
                offenders.append(f"{rel}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)
    assert not hasattr(accounts, "credentials")  # the decrypting function is private


def test_internal_building_blocks_stay_behind_the_services():
    """Modules of @internal functions are imported by services only, never by pages, the UI or workers."""
    internal_modules = {name.rsplit(".", 1)[0] for name, fn in SERVICES.items()
                        if (d := permissions.declaration(fn)) is not None and d.kind == "internal"}
    assert "studio.credentials" in internal_modules
    offenders = []
    for path in [ROOT / "app.py", *(ROOT / "pages").rglob("*.py"), *(ROOT / "studio" / "ui").rglob("*.py"),
                 *(ROOT / "workers").rglob("*.py")]:
        source = path.read_text()
        for module in internal_modules:
            package, _, leaf = module.rpartition(".")
            if f"import {module}" in source or f"from {module} import" in source or \
                    re.search(rf"from {re.escape(package)} import [^\n]*\b{leaf}\b", source):
                offenders.append(f"{path.relative_to(ROOT)} imports {module}")
    assert not offenders, "\n".join(offenders)


RANK = {"public": 0, "internal": 0, "VIEW": 1, "EDIT": 2, "MANAGE_MEMBERS": 3, "MANAGE_INTEGRATIONS": 3,
        "MANAGE_BILLING": 3, "DELETE_WORKSPACE": 4, "operator": 5, "system": 5}


def _need(decl: permissions.Declaration) -> str:
    return decl.permission.name if decl.kind == "permission" and decl.permission else decl.kind


def test_no_declaration_is_weaker_than_the_reviewed_table():
    """The meta-test above checks that gates keep their declarations; this one that declarations keep their rank."""
    from tests.studio.permission_table import DECLARED

    changed = []
    for name, recorded in DECLARED.items():
        fn = SERVICES.get(name)
        decl = permissions.declaration(fn) if fn else None
        if decl is None:
            continue  # renamed or removed; the walk above still demands a declaration of what exists
        now = _need(decl)
        if now != recorded and RANK[now] <= RANK[recorded]:
            changed.append(f"{name}: declared {now}, reviewed as {recorded}")
    assert not changed, "Weaker or sideways declarations (update tests/studio/permission_table.py if meant):\n" + \
        "\n".join(changed)
    assert DECLARED["studio.audit.apply_retention"] == "system"
    assert DECLARED["studio.publishing.accounts.client"] == "MANAGE_INTEGRATIONS"
