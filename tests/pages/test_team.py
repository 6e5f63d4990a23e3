"""Teams through the studio: invite → accept in a second session → role visible; removal applies at once."""

from __future__ import annotations

from tests.pages.conftest import sign_up, texts


def _invite(at, email: str, role: str) -> str:
    at.switch_page("pages/team.py").run()
    at.text_input(key="invite_email").input(email)
    at.selectbox(key="invite_role").select(role)
    next(b for b in at.button if b.label == "Send invitation").click()
    at.run()
    assert not at.exception, at.exception
    assert "copy this link" in texts(at)
    return at.code[0].value


def test_invite_accept_role_and_removal_in_an_open_session(new_app):
    owner = new_app()
    sign_up(owner, name="Olga Owner")
    guest = new_app()
    guest_email = sign_up(guest, name="Gus Guest")
    url = _invite(owner, guest_email, "viewer")
    token = url.split("invite=")[1]

    guest.query_params["invite"] = token
    guest.run()
    assert "You are invited to Olga's workspace" in texts(guest)
    next(b for b in guest.button if b.label == "Accept").click()
    guest.run()
    assert not guest.exception, guest.exception
    picker = guest.sidebar.selectbox(key="workspace_picker")
    assert picker.options == ["Gus's workspace · owner", "Olga's workspace · viewer"]
    assert picker.format_func(picker.value) == "Olga's workspace · viewer"  # switched to it

    guest.switch_page("pages/team.py").run()
    assert "Only owners and admins can invite people" in texts(guest)
    assert not [t for t in guest.text_input if t.key == "invite_email"]

    owner.switch_page("pages/team.py").run()
    remove = next(b for b in owner.button if b.label == "Remove")
    remove.click()
    owner.run()
    next(b for b in owner.button if b.label == "Yes, remove").click()
    owner.run()
    assert "Gus Guest" not in texts(owner)

    guest.switch_page("pages/data_sources.py").run()  # the guest's session is still open
    assert not guest.exception
    picker = guest.sidebar.selectbox(key="workspace_picker")
    assert picker.options == ["Gus's workspace · owner"]


def test_invitation_link_for_someone_signed_out_shows_the_invite(new_app):
    owner = new_app()
    sign_up(owner, name="Olga Owner")
    url = _invite(owner, "newbie@example.com", "member")
    visitor = new_app()
    visitor.query_params["invite"] = url.split("invite=")[1]
    visitor.run()
    assert "You are invited to **Olga's workspace** as member" in texts(visitor)
    sign_up(visitor, email="newbie@example.com", name="Nina Newbie")
    assert "You are invited to Olga's workspace" in texts(visitor)


def test_audit_page_lists_events_and_exports(new_app):
    at = new_app()
    sign_up(at)
    at.switch_page("pages/audit.py").run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert "workspace.create" in list(table["Action"])
    assert "auth.sign_in" in list(table["Action"])
