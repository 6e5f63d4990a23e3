"""Billing, usage and admin pages under AppTest: owners and admins only; operators only for admin.

Each page runs on its own with a signed-in session (app.py registers the pages; its own test renders
every registered page), on a fresh embedded store, with Stripe aimed at the local double.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest

from studio import auth, invitations
from studio.billing import Metric, record_usage
from studio.context import Context, Role
from studio.settings import load_settings
from studio.store import migrate
from studio.store.session import Store
from tests.pages.conftest import ROOT, texts
from tests.stripe_double import StripeDouble

OPERATOR = "ops@dotoro.test"


@pytest.fixture(scope="module")
def double() -> Iterator[StripeDouble]:
    d = StripeDouble()
    yield d
    d.close()


@pytest.fixture()
def billing_env(studio_env, monkeypatch, double) -> Store:
    """Billing on (the double), an operator address; yields the store the pages will use."""
    for key, value in {"STRIPE_API_KEY": double.api_key, "STRIPE_API_BASE": double.base_url,
                       "STRIPE_WEBHOOK_SECRET": double.webhook_secret, "STRIPE_PRICE_STARTER": "price_starter",
                       "STRIPE_PRICE_PRO": "price_pro", "OPERATOR_EMAILS": OPERATOR}.items():
        monkeypatch.setenv(key, value)
    return _store()


@pytest.fixture()
def plain_env(studio_env) -> Store:
    return _store()


def _store() -> Store:
    settings = load_settings()
    migrate.upgrade(settings)
    return Store(settings)


def person(store: Store, email: str | None = None, name: str = "Olga Owner") -> tuple[auth.Account, Context]:
    account, ws = auth.sign_up(store, email or f"p{uuid.uuid4().hex[:8]}@example.com", name, "correct horse")
    return account, Context(user_id=account.id, workspace_id=ws)


def join(store: Store, octx: Context, role: Role) -> tuple[auth.Account, Context]:
    from studio.billing.accounts import set_override

    with store.session_scope(Context.job(octx.workspace_id)) as s:
        set_override(s, "pro", "room for a team in tests", None)  # Free has one seat
    account, _ = person(store, name=f"{role.value.title()} Person")
    invitations.accept(store, invitations.invite(store, octx, account.email, role).url.split("invite=")[1], account)
    with store.session_scope(Context.job(octx.workspace_id)) as s:
        set_override(s, None, "", None)
    return account, Context(user_id=account.id, workspace_id=octx.workspace_id)


def open_page(page: str, account: auth.Account, ctx: Context, **query: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=60)
    at.session_state["dotoro_account"] = (str(account.id), account.email, account.name)
    at.session_state["dotoro_workspace_id"] = str(ctx.workspace_id)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def link_buttons(at: AppTest) -> list[str]:
    return [b.proto.url for b in at.get("link_button")]


def test_owner_upgrades_through_checkout_and_admin_sees_the_plan(billing_env, double):
    account, ctx = person(billing_env)
    at = open_page("billing.py", account, ctx)
    assert "Free" in texts(at) or any(m.value == "Free" for m in at.metric)
    next(b for b in at.button if b.label == "Upgrade to Starter").click()
    at.run()
    assert not at.exception, at.exception
    (url,) = link_buttons(at)
    session_id = url.rsplit("/", 1)[1]
    double.pay(session_id)
    back = open_page("billing.py", account, ctx, checkout=session_id)  # Stripe sends the user back here
    assert "This workspace is now on the **Starter** plan." in texts(back)
    assert [m.value for m in back.metric][:2] == ["Starter", "active"]
    assert not [b for b in back.button if b.label.startswith("Upgrade")]
    admin_account, admin_ctx = join(billing_env, ctx, Role.ADMIN)
    seen = open_page("billing.py", admin_account, admin_ctx)
    assert next(m.value for m in seen.metric) == "Starter"
    next(b for b in seen.button if b.label == "Open the billing portal").click()
    seen.run()
    assert any("/portal/" in u for u in link_buttons(seen))


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER], ids=lambda r: r.value)
@pytest.mark.parametrize("page", ["billing.py", "usage.py"])
def test_members_and_viewers_cannot_open_billing_or_usage(billing_env, role, page):
    _, octx = person(billing_env)
    account, ctx = join(billing_env, octx, role)
    at = open_page(page, account, ctx)
    assert "Only owners and admins can see billing and usage." in texts(at)
    assert not at.button and not at.metric and not at.get("link_button")


def test_usage_page_shows_limits_and_warns_at_80_percent(billing_env):
    account, ctx = person(billing_env)
    with billing_env.session_scope(ctx) as s:
        record_usage(s, Metric.VARIATIONS, 85, "run-1")
        record_usage(s, Metric.API_CALLS, 120, "calls")
    at = open_page("usage.py", account, ctx)
    shown = texts(at)
    assert "**Variations generated**: 85 of 100 (85%)" in shown
    assert "85% of this month's variations generated are used." in shown
    assert "**Preview / API calls**: 120 of 1,000 (12%)" in shown
    assert len(at.get("vega_lite_chart")) == 2


def test_billing_off_says_so(plain_env):
    account, ctx = person(plain_env)
    assert "Billing is off:" in texts(open_page("billing.py", account, ctx))
    assert "no limit" in texts(open_page("usage.py", account, ctx))


def test_admin_page_only_for_operators(billing_env):
    account, ctx = person(billing_env)
    at = open_page("admin.py", account, ctx)
    assert "Only the studio's operators can open the admin pages." in texts(at)
    assert not at.tabs
    op, op_ctx = person(billing_env, OPERATOR, "Otto Operator")
    at = open_page("admin.py", op, op_ctx)
    assert [t.label for t in at.tabs] == ["Workspaces", "Queues", "Operator log"]
    table = at.dataframe[0].value
    assert {"Olga's workspace", "Otto's workspace"} <= set(table["Workspace"])
    at.selectbox(key="override_ws").select(str(ctx.workspace_id))
    at.selectbox(key="override_plan").select("pro")
    at.text_input(key="override_reason").input("Pilot for the agency")
    next(b for b in at.button if b.label == "Apply override").click()
    at.run()
    assert not at.exception, at.exception
    assert "Olga's workspace is now on Pro." in texts(at)
    assert "in-process" in texts(at)  # embedded mode: no queues to show
