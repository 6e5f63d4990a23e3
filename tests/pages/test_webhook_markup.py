"""A webhook receiver's answer (a few bytes of its error page) is shown as text after Send test: a receiver
cannot put a link or a remote image on the studio's page."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _result() -> None:
    from studio import deliveries
    from studio.ui import webhooks

    answer = "HTTP 500: ![x](http://evil.example/t.png) [Fix it here](http://evil.example/login)"
    webhooks._result(deliveries.TryResult(None, 1, "pending", deliveries.Outcome(False, 500, 12, answer)))


def test_a_receivers_answer_is_shown_as_text():
    at = AppTest.from_function(_result).run()
    assert not at.exception, at.exception
    shown = "\n".join(e.value for e in at.error)
    assert "Fix it here" in shown and "![x](" not in shown and "](http" not in shown
