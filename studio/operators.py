"""Who operates the studio (the Admin pages across workspaces), besides the OPERATOR_EMAILS setting.

- In the embedded mode (`make run`, SQLite), when OPERATOR_EMAILS is empty, the first account created is
  the operator: whoever installed the studio signs up first.
- Anywhere, `python -m studio.admin grant-operator EMAIL` (or `revoke-operator`) marks an account as an
  operator in the store; run it on the server, with the studio's settings.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select

from studio.errors import NotFound
from studio.permissions import internal
from studio.store.models import User
from studio.store.operator_models import OperatorGrant
from studio.store.session import Store


@internal("the operator check of studio.admin (is_operator, require_operator)")
def granted(store: Store, user_id: uuid.UUID | None, *, configured: bool) -> bool:
    """Whether the account is an operator by grant, or as the embedded install's first account
    (`configured`: OPERATOR_EMAILS names operators, so no first-account rule applies)."""
    if user_id is None:
        return False
    with store.account_scope(user_id) as s:
        if s.get(OperatorGrant, user_id) is not None:
            return True
        if store.is_postgres or configured:
            return False
        first = s.scalar(select(User.id).order_by(User.created_at, User.id).limit(1))
        return first == user_id


@internal("require_operator's answer for an account it has just found to be an operator")
def email_of(store: Store, user_id: uuid.UUID) -> str:
    with store.account_scope(user_id) as s:
        email = s.scalar(select(User.email).where(User.id == user_id))
    if email is None:
        raise NotFound("This account does not exist (any more).")
    return email


@internal("the grant-operator command run on the server with the schema owner's URL; no page calls it")
def set_operator(store: Store, email: str, on: bool = True) -> str:
    """Grant (or revoke) operator rights to the account with `email`; returns the email as stored."""
    wanted = email.strip().lower()
    with store.account_scope() as s:
        user = s.execute(select(User.id, User.email).where(User.email == wanted)).first()
        if user is None:
            raise NotFound(f"No account uses {wanted!r}: sign up with it first, then run this again.")
        grant = s.get(OperatorGrant, user.id)
        if on and grant is None:
            s.add(OperatorGrant(user_id=user.id, note="granted with python -m studio.admin grant-operator"))
        elif not on and grant is not None:
            s.delete(grant)
        return user.email


def main(argv: list[str]) -> int:
    """`grant-operator EMAIL` / `revoke-operator EMAIL`, with the studio's settings (environment or .env)."""
    from studio.settings import load_settings

    if len(argv) != 2 or argv[0] not in ("grant-operator", "revoke-operator"):
        print("usage: python -m studio.admin grant-operator EMAIL | revoke-operator EMAIL")
        return 2
    settings = load_settings()
    store = Store(settings, url=settings.migration_database_url)  # the schema owner: it finds any account by email
    try:
        email = set_operator(store, argv[1], on=argv[0] == "grant-operator")
    except NotFound as exc:
        print(exc)
        return 1
    finally:
        store.dispose()
    print(f"{email} is {'now' if argv[0] == 'grant-operator' else 'no longer'} an operator of this studio "
          "(the Admin page appears after their next page load).")
    return 0
