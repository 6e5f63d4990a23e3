"""Structured logs: one handler, JSON or console, job events with ids and durations, and no secret in any line."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet

from studio import logging_setup
from studio.settings import Settings, load_settings

log = logging.getLogger("tests.logging")
FERNET_KEY = Fernet.generate_key().decode()
SETTINGS_SECRET = "plain-words-nobody-would-guess-7"


def _settings(**env: str) -> Settings:
    base = {"SECRET_KEY": SETTINGS_SECRET, "ENCRYPTION_KEYS": FERNET_KEY,
            "STRIPE_WEBHOOK_SECRET": "whsec_configuredvalue123",
            "SMTP_URL": "smtp+starttls://mailer:mail-Pa55word@smtp.example.com:587"}
    return load_settings({**base, **env}, dotenv=None)


@pytest.fixture()
def output() -> Iterator[io.StringIO]:
    """The studio's handler writing JSON into a buffer; removed afterwards."""
    buffer = io.StringIO()
    handler = logging_setup.configure(_settings(LOG_FORMAT="json", LOG_LEVEL="DEBUG"), stream=buffer)
    yield buffer
    logging.getLogger().removeHandler(handler)


def _lines(buffer: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.startswith("{")]


SECRETS = [
    ("bearer token", "Authorization: Bearer abcDEF123456ghiJKL789", "abcDEF123456ghiJKL789"),
    ("stripe live key", "stripe said no for sk_live_51HxYzAbCdEfGhIjKl", "sk_live_51HxYzAbCdEfGhIjKl"),
    ("stripe test key", "key sk_test_4eC39HqLyjWDarjtT1zdp7dc", "sk_test_4eC39HqLyjWDarjtT1zdp7dc"),
    ("stripe restricted key", "rk_live_00000000000000abcdef", "rk_live_00000000000000abcdef"),
    ("webhook secret", "signature check with whsec_Zm9vYmFyYmF6cXV4", "whsec_Zm9vYmFyYmF6cXV4"),
    ("fernet key", f"ENCRYPTION_KEYS={FERNET_KEY[:10]}… no: {Fernet.generate_key().decode()}", None),
    ("fernet token", "stored gAAAAABl1234567890abcdefghijklmnopqrstuvwxyz_-ABCDEFG==",
     "gAAAAABl1234567890abcdefghijklmnopqrstuvwxyz_-ABCDEFG"),
    ("reddit refresh token", "refresh failed for 71234567890-Xy_zAbCdEfGhIjKlMnOpQrStUv", "Xy_zAbCdEfGhIjKlMnOpQrStUv"),
    ("refresh_token json", '{"refresh_token": "opaque-thing-1"}', "opaque-thing-1"),
    ("password field", "login password=hunter2hunter2 refused", "hunter2hunter2"),
    ("password in a url", "cannot reach postgresql+psycopg://app:db-Secret99@db:5432/studio", "db-Secret99"),
    ("jwt", "cookie eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N", "dozjgNryP4J3jVmNHl0w5N"),
    ("secret setting value", f"the key is {SETTINGS_SECRET}", SETTINGS_SECRET),
    ("encryption key setting", f"keys: {FERNET_KEY}", FERNET_KEY),
    ("smtp password setting", "AUTH failed with mail-Pa55word", "mail-Pa55word"),
]


@pytest.mark.parametrize(("case", "text", "secret"), SECRETS, ids=[c[0] for c in SECRETS])
def test_a_secret_inside_an_exception_never_reaches_the_log(output, case, text, secret):
    secret = secret or text.rsplit(" ", 1)[1]
    try:
        raise RuntimeError(f"Reddit said: {text}")
    except RuntimeError:
        log.exception("publish failed: %s", text)
    written = output.getvalue()
    assert "publish failed" in written and "RuntimeError" in written  # the record and its traceback are there
    assert secret not in written
    assert logging_setup.MASK in written


def test_secret_fields_and_nested_values_are_masked(output):
    logging_setup.event(log, "account.connected", username="alice", refresh_token="opaque", password="pw-123",
                        detail={"client_secret": "shh", "scopes": ["read"]}, attempts=3)
    (line,) = _lines(output)
    assert line["event"] == "account.connected" and line["username"] == "alice" and line["attempts"] == 3
    assert line["refresh_token"] == line["password"] == line["detail"]["client_secret"] == logging_setup.MASK
    assert line["detail"]["scopes"] == ["read"]


def test_ids_and_ordinary_words_stay_readable(output):
    ws = uuid.UUID("12345678-1234-4234-8234-123456789abc")
    logging_setup.event(log, "run.finished", workspace_id=ws, message_text="tokens left: 3, password changed")
    (line,) = _lines(output)
    assert line["workspace_id"] == str(ws) and line["message_text"] == "tokens left: 3, password changed"


def test_json_lines_carry_the_bound_context_and_level(output):
    with logging_setup.bound(workspace_id="ws-1", page="publish"):
        log.warning("slow page %s", "publish")
    log.debug("outside")
    first, second = _lines(output)
    assert first["level"] == "warning" and first["event"] == "slow page publish" and first["logger"] == "tests.logging"
    assert first["workspace_id"] == "ws-1" and first["page"] == "publish" and first["ts"].endswith("Z")
    assert "workspace_id" not in second


def test_configure_twice_keeps_one_handler_and_obeys_the_level():
    first = io.StringIO()
    second = io.StringIO()
    logging_setup.configure(_settings(LOG_FORMAT="json"), stream=first)
    handler = logging_setup.configure(_settings(LOG_FORMAT="console", LOG_LEVEL="WARNING"), stream=second)
    try:
        log.info("not shown")
        log.warning("shown %s", "sk_test_4eC39HqLyjWDarjtT1zdp7dc")
        assert [h.get_name() for h in logging.getLogger().handlers].count("dotoro") == 1
    finally:
        logging.getLogger().removeHandler(handler)
    assert first.getvalue() == ""
    assert "shown [redacted]" in second.getvalue() and "not shown" not in second.getvalue()


@logging_setup.logged_job("test.job")
def _job(workspace_id: str, item_id: str, fail: bool = False) -> dict:
    if fail:
        raise ValueError("token=abc123abc123 went wrong")
    return {"posted": 1}


def test_a_job_logs_start_finish_and_failure_with_ids_and_duration(output):
    assert _job("ws-9", "item-1") == {"posted": 1}
    with pytest.raises(ValueError):
        _job("ws-9", "item-2", fail=True)
    started, finished, started2, failed = _lines(output)
    assert [started["event"], finished["event"], started2["event"], failed["event"]] == [
        "job.started", "job.finished", "job.started", "job.failed"]
    assert finished["workspace_id"] == "ws-9" and finished["item_id"] == "item-1" and finished["job"] == "test.job"
    assert finished["result"] == {"posted": 1} and finished["duration_ms"] >= 0
    assert failed["level"] == "error" and failed["error"] == "ValueError" and "duration_ms" in failed
    assert "abc123abc123" not in output.getvalue() and "ValueError" in failed["exc"]
