"""Who sees set-up: members read what to ask for, owners and admins how to enable it; no setting names on a
member's screen; the first account of an embedded install is the operator, others by grant-operator."""

from __future__ import annotations

import re

from tests.pages.conftest import sign_up, texts

SETTING_NAMES = re.compile(r"REDDIT_CLIENT|STRIPE_|OPERATOR_EMAILS|_API_KEY")


def _everything(at) -> str:
    return texts(at) + "\n".join(str(e.value) for e in at.get("expandable")) + \
        "\n".join(b.label for b in at.button)


def _member(new_app, owner, role: str = "member"):
    member = new_app()
    email = sign_up(member, name="Mia Marketer")
    owner.switch_page("pages/team.py").run()
    owner.text_input(key="invite_email").input(email)
    owner.selectbox(key="invite_role").select(role)
    next(b for b in owner.button if b.label == "Send invitation").click().run()
    member.query_params["invite"] = owner.code[0].value.split("invite=")[1]
    member.run()
    next(b for b in member.button if b.label == "Accept").click().run()
    return member, email


def test_a_member_reads_what_to_ask_for_and_no_setting_names(new_app):
    owner = new_app()
    sign_up(owner, name="Olga Owner")
    member, _ = _member(new_app, owner)
    member.switch_page("pages/accounts.py").run()
    assert not member.exception, member.exception
    shown = texts(member)
    assert "An admin has not connected Reddit yet." in shown
    assert not SETTING_NAMES.search(shown), shown
    assert not [b for b in member.button if b.label == "Connect with Reddit"]
    member.switch_page("pages/billing.py").run()
    assert "Only owners and admins can see billing and usage." in texts(member)
    assert not SETTING_NAMES.search(texts(member))


def test_an_owner_reads_how_to_enable_reddit_and_billing(new_app):
    owner = new_app()
    sign_up(owner, name="Olga Owner")
    owner.switch_page("pages/accounts.py").run()
    assert not owner.exception, owner.exception
    assert "Reddit sign-in is not enabled on this studio yet." in texts(owner)
    assert not [b for b in owner.button if b.label == "Connect with Reddit"]  # it could only fail
    guide = "\n".join(m.value for m in owner.markdown)
    assert "web app" in guide and "REDDIT_CLIENT_ID" in guide  # the README section, for whoever runs the studio
    assert not SETTING_NAMES.search("\n".join(i.value for i in owner.info))  # not in the message itself
    owner.switch_page("pages/billing.py").run()
    assert "Billing is off:" in texts(owner)
    assert "STRIPE_PRICE_PRO" in "\n".join(m.value for m in owner.markdown)


def test_the_first_embedded_account_is_the_operator_and_others_by_grant(new_app):
    from studio import operators
    from studio.settings import load_settings
    from studio.store.session import Store

    first = new_app()
    sign_up(first, name="Ines Installer")
    first.switch_page("pages/admin.py").run()
    assert not first.exception, first.exception
    assert [t.label for t in first.tabs] == ["Workspaces", "Queues", "Operator log"]

    second = new_app()
    email = sign_up(second, name="Sam Second")
    second.switch_page("pages/admin.py").run()  # the address still answers, with who may open it
    assert not second.exception, second.exception
    assert "Only the studio's operators can open the admin pages." in texts(second)
    assert not second.tabs

    store = Store(load_settings())
    try:
        assert operators.main(["grant-operator", email.upper()]) == 0
        assert operators.main(["grant-operator", "nobody@example.com"]) == 1
    finally:
        store.dispose()
    second.switch_page("pages/home.py").run()
    second.switch_page("pages/admin.py").run()
    assert not second.exception, second.exception
    assert [t.label for t in second.tabs] == ["Workspaces", "Queues", "Operator log"]
