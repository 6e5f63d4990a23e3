"""Logging for the studio, the workers and the HTTP endpoints: configured once, JSON or console, secrets redacted.

- ``configure(settings)`` installs one handler on the root logger (``LOG_FORMAT`` = console | json,
  ``LOG_LEVEL``); calling it again replaces that handler, never adds a second one.
- ``event(log, "publish.posted", item_id=…)`` logs a named event with fields; ``bound(workspace_id=…)`` adds
  fields to every record logged inside it (a job, a page run).
- ``Redactor`` runs on the handler, after the message and any traceback are rendered, so a token inside an
  exception message is masked like one in a log call: bearer tokens, Stripe keys, Fernet keys and tokens,
  Reddit refresh tokens, ``password=``-style fields, passwords in URLs, and the values of secret settings.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import functools
import inspect
import json
import logging
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, TypeVar
from urllib.parse import urlparse

from studio.settings import Settings

MASK = "[redacted]"
FORMATS = ("console", "json")
_CONTEXT: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("dotoro_log_context", default={})  # noqa: B039 - never mutated
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}
_SECRET_KEY_NAME = re.compile(r"(?i)(password|passwd|secret|token|api_key|apikey|authorization|cookie|credential)")

PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization headers and anything shaped like them
    (re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9\-._~+/]{6,}=*"), r"\1\2" + MASK),
    # Stripe secret and restricted keys, webhook signing secrets
    (re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{6,}"), MASK),
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=]{6,}"), MASK),
    # Fernet tokens (encrypted values) and Fernet keys (32 bytes, url-safe base64: 43 characters and '=')
    (re.compile(r"\bgAAAAA[A-Za-z0-9_\-]{20,}={0,2}"), MASK),
    (re.compile(r"(?<![A-Za-z0-9_\-])[A-Za-z0-9_\-]{43}=(?![A-Za-z0-9_\-=])"), MASK),
    # Reddit refresh tokens: digits, a dash, then a long url-safe tail
    (re.compile(r"\b(?![0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-)\d{5,}-[A-Za-z0-9_\-]{20,}"), MASK),
    # JSON Web Tokens (sign-in cookies, reset links)
    (re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"), MASK),
    # the password in scheme://user:password@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^:/\s@]*:)[^@\s/]+@"), r"\1" + MASK + "@"),
    # password=…, "refresh_token": "…", client_secret: …
    (re.compile(r"(?i)\b((?:password|passwd|pwd|secret|client_secret|api_key|apikey|access_token|refresh_token|"
                r"id_token|token|authorization|cookie)[\"']?\s*[:=]\s*[\"']?)(?![\"'\s])(?!\[redacted\])"
                r"[^\s\"'&,;}\]]+"), r"\1" + MASK),
    # ('refresh_token', '…') pairs, as prawcore's debug log prints a token request's form
    (re.compile(r"(?i)([\"'](?:password|passwd|secret|client_secret|access_token|refresh_token|id_token|token|code)"
                r"[\"']\s*,\s*[\"'])(?!\[redacted\])[^\"']+"), r"\1" + MASK),
)

F = TypeVar("F", bound=Callable[..., Any])


def secret_values(settings: Settings) -> list[str]:
    """The values of the settings that are secrets (and the passwords inside the URLs), to mask wherever they appear."""
    extra = settings.extra
    values = [settings.secret_key, extra.get("STRIPE_API_KEY", ""), extra.get("STRIPE_WEBHOOK_SECRET", ""),
              extra.get("REDDIT_CLIENT_SECRET", ""), *extra.get("ENCRYPTION_KEYS", "").split(",")]
    for url in (settings.database_url, settings.migration_database_url, settings.redis_url, extra.get("SMTP_URL", "")):
        with contextlib.suppress(ValueError):
            if password := urlparse(url or "").password:
                values.append(password)
    return [v.strip() for v in values if v and len(v.strip()) >= 6]


class Redactor(logging.Filter):
    """Masks secrets in the rendered message, the traceback, the stack and every extra field of a record."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        for pattern, replacement in PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    def _value(self, key: str, value: Any) -> Any:
        if _SECRET_KEY_NAME.search(key) and not isinstance(value, bool | int | float) and value not in (None, ""):
            return MASK
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, dict):
            return {k: self._value(str(k), v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._value(key, v) for v in value]
        return value

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken %-format must not lose the record
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
            # the traceback is kept only as the redacted text: no handler may render the raw exception again
            record.exc_info = None
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        for key in [k for k in vars(record) if k not in _STANDARD]:
            setattr(record, key, self._value(key, getattr(record, key)))
        return True


class _Context(logging.Filter):
    """Copies the fields bound for this job or page run onto the record (a field set in the call wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _CONTEXT.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


def _timestamp(record: logging.LogRecord) -> str:
    return dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ts, level, logger, event, message, the fields, and exc when there was one."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        out: dict[str, Any] = {"ts": _timestamp(record), "level": record.levelname.lower(), "logger": record.name}
        fields = fields_of(record)
        out["event"] = fields.pop("event", None) or message
        if message != out["event"]:
            out["message"] = message
        out.update(fields)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            out["exc"] = record.exc_text
        if record.stack_info:
            out["stack"] = record.stack_info
        return json.dumps(out, default=str, ensure_ascii=False)


class ConsoleFormatter(logging.Formatter):
    """For a terminal: time, level, logger, message, then the fields as key=value."""

    def format(self, record: logging.LogRecord) -> str:
        fields = fields_of(record)
        fields.pop("event", None)
        line = f"{_timestamp(record)} {record.levelname:<7} {record.name}: {record.getMessage()}"
        if fields:
            line += "  " + " ".join(f"{k}={v}" for k, v in fields.items())
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line += "\n" + record.exc_text
        if record.stack_info:
            line += "\n" + record.stack_info
        return line


def _choice(settings: Settings | None, name: str, default: str) -> str:
    value = settings.extra.get(name) if settings is not None else None
    return (value or os.environ.get(name) or default).strip()


def configure(settings: Settings | None = None, *, stream: IO[str] | None = None) -> logging.Handler:
    """Install (or replace) the studio's handler on the root logger; returns it."""
    fmt = _choice(settings, "LOG_FORMAT", "console").lower()
    if fmt not in FORMATS:
        fmt = "console"
    level_name = _choice(settings, "LOG_LEVEL", "INFO").upper()
    level = logging.getLevelName(level_name)
    if not isinstance(level, int):
        level = logging.INFO
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name("dotoro")
    handler.addFilter(_Context())
    handler.addFilter(Redactor(secret_values(settings) if settings is not None else ()))
    handler.setFormatter(JsonFormatter() if fmt == "json" else ConsoleFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "dotoro"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # httpx logs every request's full URL at INFO; feed addresses and Slack/webhook URLs may carry tokens
    logging.getLogger("httpx").setLevel(max(level, logging.WARNING))
    _guard_other_handlers(handler.filters[-1])  # type: ignore[arg-type]
    return handler


def _guard_other_handlers(redactor: Redactor) -> None:
    """Loggers that keep their own handlers (Streamlit's "Uncaught app execution" traceback, uvicorn) mask too."""
    for logger in list(logging.root.manager.loggerDict.values()):
        if not isinstance(logger, logging.Logger) or logger.propagate:
            continue
        for h in logger.handlers:
            for old in [f for f in h.filters if isinstance(f, Redactor)]:
                h.removeFilter(old)
            h.addFilter(redactor)


def event(log: logging.Logger, name: str, *, level: int = logging.INFO, exc_info: Any = None, **fields: Any) -> None:
    """Log the event `name` with fields (a field named like a LogRecord attribute gets a trailing underscore)."""
    extra = {(f"{k}_" if k in _STANDARD else k): v for k, v in fields.items()}
    extra["event"] = name
    log.log(level, name, extra=extra, exc_info=exc_info, stacklevel=2)


@contextlib.contextmanager
def bound(**fields: Any) -> Iterator[None]:
    """Every record logged inside carries these fields (workspace_id, job_id, page …)."""
    token = _CONTEXT.set({**_CONTEXT.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def bind(**fields: Any) -> None:
    """Set the fields for the rest of this thread's current run (a Streamlit script run starts afresh each time)."""
    _CONTEXT.set({k: v for k, v in fields.items() if v is not None})


def logged_job(name: str) -> Callable[[F], F]:
    """Log a job's start, finish (with its result) or failure, with job id, workspace id, arguments and duration."""

    def wrap(fn: F) -> F:
        signature = inspect.signature(fn)
        log = logging.getLogger(fn.__module__)

        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                from rq import get_current_job

                current = get_current_job()
            except Exception:  # noqa: BLE001 - outside a worker (embedded mode, tests) there is no RQ job
                current = None
            bound_args = signature.bind_partial(*args, **kwargs).arguments
            ids = {(f"{k}_" if k in _STANDARD else k): str(v) for k, v in bound_args.items()
                   if isinstance(v, str | int | float) or hasattr(v, "hex")}
            with bound(job=name, job_id=current.id if current is not None else None, **ids):
                event(log, "job.started")
                began = time.perf_counter()
                try:
                    result = fn(*args, **kwargs)
                except BaseException as exc:
                    event(log, "job.failed", level=logging.ERROR, exc_info=exc,
                          duration_ms=round((time.perf_counter() - began) * 1000, 1), error=type(exc).__name__)
                    raise
                event(log, "job.finished", duration_ms=round((time.perf_counter() - began) * 1000, 1),
                      result=result if isinstance(result, dict | str | int | float | None) else str(result))
                return result

        return run  # type: ignore[return-value]

    return wrap
