"""Settings → Webhooks & Slack: an owner adds an endpoint, sees its secret once, sends a test and sees it logged."""

from __future__ import annotations

from tests.http_receiver import receiver
from tests.pages.conftest import sign_up, texts


def test_an_owner_adds_an_endpoint_sends_a_test_and_sees_the_delivery(new_app, monkeypatch):
    monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE", "on")
    at = new_app()
    sign_up(at, name="Olga Owner")
    at.switch_page("pages/webhooks.py").run()
    assert not at.exception, at.exception
    assert "No webhook endpoints yet" in texts(at)
    with receiver() as rec:
        next(t for t in at.text_input if t.label == "Endpoint URL").input(rec.url)
        next(b for b in at.button if b.label == "Add endpoint").click().run()
        assert not at.exception, at.exception
        secrets = [c.value for c in at.code if c.value.startswith("whsec_")]
        assert len(secrets) == 1 and "copy it now" in texts(at)
        next(b for b in at.button if b.label == "I have copied it").click().run()
        assert not [c.value for c in at.code if c.value.startswith("whsec_")]
        next(b for b in at.button if b.label == "Send a test").click().run()
        assert not at.exception, at.exception
        assert any(s.value.startswith("Delivered (HTTP 200)") for s in at.success)
    assert len(rec.requests) == 1
    at.run()
    assert "delivered" in str(at.dataframe[0].value)


def test_a_private_address_is_refused_with_a_message(new_app):
    at = new_app()
    sign_up(at)
    at.switch_page("pages/webhooks.py").run()
    next(t for t in at.text_input if t.label == "Endpoint URL").input("http://10.0.0.5/hook")
    next(b for b in at.button if b.label == "Add endpoint").click().run()
    assert any("private or local address" in e.value for e in at.error)


def test_an_endpoints_events_can_be_changed(new_app, monkeypatch):
    monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE", "on")
    at = new_app()
    sign_up(at, name="Olga Owner")
    at.switch_page("pages/webhooks.py").run()
    next(t for t in at.text_input if t.label == "Endpoint URL").input("http://127.0.0.1:9/hook")
    next(b for b in at.button if b.label == "Add endpoint").click().run()
    kinds = next(m for m in at.multiselect if m.key and m.key.startswith("wh_kinds_"))
    kinds.set_value(["diff.ready"]).run()
    next(b for b in at.button if b.label == "Save events").click().run()
    assert not at.exception, at.exception
    assert next(m for m in at.multiselect if m.key and m.key.startswith("wh_kinds_")).value == ["diff.ready"]
    assert not [b for b in at.button if b.label == "Save events"]
