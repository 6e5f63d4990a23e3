"""Operators besides OPERATOR_EMAILS: the embedded install's first account, and grant-operator (team mode too)."""

from __future__ import annotations

import uuid

import pytest

from studio import admin, auth, operators
from studio.errors import NotFound
from studio.settings import Settings
from studio.store.session import Store
from tests.conftest import make_settings


def _account(store: Store) -> tuple[uuid.UUID, str]:
    email = f"o{uuid.uuid4().hex[:8]}@example.com"
    account, _ = auth.sign_up(store, email, "Oli Operator", "correct horse")
    return account.id, email


def test_the_first_embedded_account_is_the_operator_unless_operators_are_configured(sqlite_store, tmp_path):
    first, _ = _account(sqlite_store)
    second, _ = _account(sqlite_store)
    assert admin.is_operator(sqlite_store, first) and admin.require_operator(sqlite_store, first)
    assert not admin.is_operator(sqlite_store, second)
    configured = Store(make_settings(sqlite_store.settings.home, OPERATOR_EMAILS="boss@example.com"))
    try:
        assert not admin.is_operator(configured, first)  # the installer named the operators
    finally:
        configured.dispose()


def test_grant_and_revoke_on_the_embedded_store(sqlite_store):
    _account(sqlite_store)
    second, email = _account(sqlite_store)
    assert operators.set_operator(sqlite_store, email.upper()) == email
    assert admin.is_operator(sqlite_store, second)
    operators.set_operator(sqlite_store, email, on=False)
    assert not admin.is_operator(sqlite_store, second)
    with pytest.raises(NotFound, match="sign up with it first"):
        operators.set_operator(sqlite_store, "nobody@example.com")


def test_team_mode_has_no_first_account_rule_and_grants_through_the_owner_role(pg_store, pg_settings: Settings):
    user, email = _account(pg_store)
    assert not admin.is_operator(pg_store, user)
    owner = Store(pg_settings, url=pg_settings.migration_database_url)
    try:
        operators.set_operator(owner, email)
    finally:
        owner.dispose()
    assert admin.is_operator(pg_store, user)  # read by the app role
    assert admin.require_operator(pg_store, user) == email
