"""Settings → API keys: an owner creates a key and sees its secret once, sees it listed, revokes it."""

from __future__ import annotations

from tests.pages.conftest import sign_up, texts


def test_an_owner_creates_sees_once_and_revokes_a_key(new_app):
    at = new_app()
    sign_up(at, name="Olga Owner")
    at.switch_page("pages/api_keys.py").run()
    assert not at.exception, at.exception
    assert "No API keys yet" in texts(at)
    name = next(t for t in at.text_input if t.label == "Name")
    name.input("n8n production")
    scopes = next(m for m in at.multiselect if m.label == "Scopes")
    scopes.set_value(["read", "write"])
    next(b for b in at.button if b.label == "Create key").click().run()
    assert not at.exception, at.exception
    secrets = [c.value for c in at.code if c.value.startswith("dotoro_sk_") and not c.value.endswith("…")]
    assert len(secrets) == 1 and "Copy the key now" in texts(at)
    assert f"`{secrets[0][:16]}…`" in texts(at), "the list shows the prefix"
    assert "read, write" in texts(at)

    at.run()  # any rerun: the secret is gone for good
    assert not [c.value for c in at.code if c.value.startswith("dotoro_sk_") and not c.value.endswith("…")]
    next(b for b in at.button if b.label == "Revoke").click().run()
    assert not at.exception, at.exception
    assert "revoked" in texts(at) and not [b for b in at.button if b.label == "Revoke"]


def test_an_empty_name_is_refused_with_a_message(new_app):
    at = new_app()
    sign_up(at)
    at.switch_page("pages/api_keys.py").run()
    next(b for b in at.button if b.label == "Create key").click().run()
    assert [e.value for e in at.error] == ["Give the key a name that says where it is used (e.g. 'n8n production')."]
