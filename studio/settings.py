"""Settings from environment variables (and `.env`): one place, each typed, with a default and a help line.

`StudioEnv` declares every setting (pydantic-settings: `.env` read by python-dotenv's rules, values validated
when the studio, a worker or a command starts); `load_settings` turns it into the `Settings` the code uses.
`python -m studio.settings` lists them; `python -m studio.settings --markdown` prints the README's table.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlparse

from pydantic import BeforeValidator, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict


class SettingsError(RuntimeError):
    """The studio cannot start with these settings; the message says what to set."""


@dataclass(frozen=True)
class Option:
    name: str
    default: str
    help: str


def _on_off(value: Any) -> Any:
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ("on", "1", "true", "yes"):
            return True
        if word in ("off", "0", "false", "no"):
            return False
        raise ValueError("must be 'on' or 'off'")
    return value


OnOff = Annotated[bool, BeforeValidator(_on_off)]

# Defaults are shown as an operator writes them in `.env` (on/off, 16 rather than 16.0): see _as_text.


class StudioEnv(BaseSettings):
    """Every setting the studio reads; the field name is the environment variable."""

    model_config = SettingsConfigDict(case_sensitive=True, extra="allow", validate_default=True,
                                      env_file_encoding="utf-8", frozen=True)

    DOTORO_HOME: str = Field(".dotoro", description="Folder for the embedded store, uploaded data and the generated secret key.")
    DATABASE_URL: str = Field("", description="Store URL. Empty: SQLite under DOTORO_HOME (embedded). postgresql+psycopg://… : team mode (app role, RLS).")
    MIGRATION_DATABASE_URL: str = Field("", description="Postgres URL of the role that owns the schema and runs migrations (team mode; defaults to DATABASE_URL).")
    DB_APP_ROLE: str = Field("dotoro_app", description="Postgres role the studio and workers connect as; migrations grant it table access.")
    REDIS_URL: str = Field("", description="Redis URL for the RQ worker pool. Empty: background jobs run in-process (embedded).")
    BACKGROUND_JOBS: OnOff = Field(True, description="Embedded mode: the studio server itself sends due posts, runs the periodic jobs and generates campaign sets on a background thread (off: due posts go out only while the Publish page is open, and a run generates inside the click).")
    SECRET_KEY: str = Field("", description="Signs sign-in cookies and encrypts secrets. Required in team mode; generated once in embedded mode.")
    MAX_UPLOAD_MB: int = Field(200, gt=0, description="Largest data file accepted, in megabytes (keep in line with .streamlit/config.toml).")
    STORAGE: str = Field("", description="Where uploaded data lives: 'file' (DOTORO_HOME, embedded default) or 'database' (team default; every worker can read it).")
    COOKIE_EXPIRY_DAYS: float = Field(14, gt=0, description="Days a sign-in cookie stays valid.")
    LOCKOUT_ATTEMPTS: int = Field(5, gt=0, description="Failed sign-ins in a row that lock an account.")
    LOCKOUT_MINUTES: int = Field(15, ge=0, description="Minutes an account stays locked after too many failed sign-ins.")
    BCRYPT_ROUNDS: int = Field(12, ge=4, le=31, description="Cost of password hashing, 4 to 31 (tests lower it; keep 12 or more in production).")
    HOST: str = Field("127.0.0.1", description="Address `make run` binds the studio to (--server.address). 127.0.0.1: this machine only; team mode behind a proxy on another host: 0.0.0.0 or the server's LAN address.")
    PUBLIC_URL: str = Field("http://localhost:8501", description="Address of the studio, used in links (invitations, OAuth callbacks).")
    STRIPE_API_KEY: str = Field("", description="Stripe secret key. Empty: billing is off and no plan limits apply (self-hosted).")
    STRIPE_WEBHOOK_SECRET: str = Field("", description="Signing secret of the Stripe webhook endpoint PUBLIC_URL/stripe/webhook (whsec_…), served on the studio's own port.")
    STRIPE_API_BASE: str = Field("https://api.stripe.com", description="Stripe API address (tests point it at a local double).")
    STRIPE_PRICE_STARTER: str = Field("", description="Stripe Price id of the Starter plan (monthly subscription).")
    STRIPE_PRICE_PRO: str = Field("", description="Stripe Price id of the Pro plan (monthly subscription).")
    STRIPE_MAX_NETWORK_RETRIES: int = Field(2, ge=0, description="Retries of a failed Stripe call (same idempotency key each time).")
    OPERATOR_EMAILS: str = Field("", description="Comma-separated emails of the studio's operators (admin pages across workspaces).")
    REDDIT_CLIENT_ID: str = Field("", description="Client id of the studio's Reddit web app (OAuth connect); script accounts bring their own.")
    REDDIT_CLIENT_SECRET: str = Field("", description="Client secret of the studio's Reddit web app.")
    REDDIT_REDIRECT_URI: str = Field("", description="OAuth callback registered with the Reddit app. Empty: PUBLIC_URL + '/accounts'.")
    REDDIT_OAUTH_URL: str = Field("https://oauth.reddit.com", description="Reddit API address (tests point it at a local double).")
    REDDIT_URL: str = Field("https://www.reddit.com", description="Reddit address for authorization and tokens (tests point it at a local double).")
    REDDIT_USER_AGENT: str = Field("python:dotoro-studio:1.0 (self-hosted)", description="User-Agent sent to Reddit (Reddit asks for a descriptive one).")
    REDDIT_TIMEOUT: float = Field(16, gt=0, description="Seconds to wait for Reddit before a request counts as failed (a submit then becomes 'unknown').")
    REDDIT_SUBMIT_LEASE_SECONDS: float = Field(120, gt=0, description="Seconds a worker owns an item it is submitting; after that the sweeper reconciles it.")
    REDDIT_RECONCILE_SETTLE_SECONDS: float = Field(60, ge=0, description="Seconds to keep looking for an ambiguous post in the account's history before submitting again.")
    REDDIT_RECONCILE_LOOKS: int = Field(2, gt=0, description="Times the sweeper looks through the account's history for an ambiguous post before it submits again.")
    REDDIT_ADS_API_URL: str = Field("https://ads-api.reddit.com/api/v3", description="Reddit Ads API v3 address (tests point it at a local double).")
    REDDIT_ADS_TIMEOUT: float = Field(30, gt=0, description="Seconds to wait for the Reddit Ads API before a call counts as failed (a create is then looked up by name before it is sent again).")
    REDDIT_ADS_RETRIES: int = Field(4, ge=0, description="Retries of a Reddit Ads call refused with 429 (after its Retry-After) or failed with 5xx (reads and updates; a create is looked up first).")
    REDDIT_ADS_BACKOFF_SECONDS: float = Field(1, gt=0, description="First wait between Reddit Ads retries; doubles each time, at most 30 s, plus jitter.")
    REDDIT_ADS_SYNC_LEASE_SECONDS: float = Field(600, ge=0, description="Seconds a worker owns a running Reddit Ads sync; after that (a worker that died) another one resumes it.")
    REDDIT_ADS_MAX_WAIT_SECONDS: float = Field(120, gt=0, description="Longest Retry-After or rate-limit reset a sync waits for inside one job; longer waits end the job and it resumes later.")
    API_RATE_LIMIT: int = Field(120, gt=0, description="Calls a minute one API key may make (/api/v1); over it the API answers 429 with Retry-After.")
    ENCRYPTION_KEYS: str = Field("", description="Comma-separated Fernet keys, newest first (tokens at rest). Empty: derived from SECRET_KEY.")
    SMTP_URL: str = Field("", description="Mail server for invitations and password resets: smtp+starttls://user:pass@host:587 (STARTTLS), smtps://user:pass@host:465 (implicit TLS) or smtp://host:25 (unencrypted, a local relay only). Empty: no e-mail; links are copied by hand.")
    SMTP_FROM: str = Field("studio@localhost", description="Sender address of the studio's e-mails, e.g. 'Dotoro Studio <studio@example.com>'.")
    SMTP_CA_FILE: str = Field("", description="PEM file of the CA that signed the mail server's certificate, when it is private or self-signed. Empty: the system's trusted CAs.")
    FEED_ALLOWED_NETWORKS: str = Field("", description="URL data sets: comma-separated addresses or networks (127.0.0.1, 10.0.0.0/8) feeds may reach although private, loopback or link-local; every other non-public address is refused. Empty: public addresses only.")
    FEED_CONNECT_TIMEOUT_SECONDS: float = Field(10, gt=0, description="URL data sets: seconds to wait for the server to accept a connection.")
    FEED_READ_TIMEOUT_SECONDS: float = Field(30, gt=0, description="URL data sets: seconds the server may stay silent while sending.")
    FEED_TIMEOUT_SECONDS: float = Field(120, gt=0, description="URL data sets: the longest a whole fetch may take (the size cap is MAX_UPLOAD_MB).")
    LOG_FORMAT: str = Field("console", description="Log lines on stderr: 'console' (readable) or 'json' (one object a line, for a log collector). Secrets and tokens are masked either way.")
    LOG_LEVEL: str = Field("INFO", description="Least severe log level written: DEBUG, INFO, WARNING or ERROR.")
    WEBHOOK_ALLOW_PRIVATE: OnOff = Field(False, description="Outgoing webhooks and Slack posts may go to private, loopback and link-local addresses (an operator's choice for a receiver inside the network). Off: such endpoints are refused when saved and when sent.")
    WEBHOOK_TIMEOUT_SECONDS: float = Field(10, gt=0, description="Seconds an outgoing webhook, Slack post or notification e-mail may take before the try counts as failed (redirects are never followed).")
    WEBHOOK_RETRY_BASE_SECONDS: float = Field(30, ge=0, description="First wait before a failed delivery is tried again; doubles with each try (at most an hour, jittered) until WEBHOOK_RETRY_HOURS have passed.")
    WEBHOOK_RETRY_HOURS: float = Field(24, gt=0, description="Hours a failed webhook, Slack post or notification e-mail keeps being retried before it is given up (it can still be replayed by hand).")

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource) -> tuple[PydanticBaseSettingsSource, ...]:
        # load_settings hands the environment over explicitly (os.environ, or a test's dict), so it wins over
        # `.env` and a test never sees the machine's variables.
        return (init_settings, dotenv_settings)

    @field_validator("STORAGE")
    @classmethod
    def _storage(cls, value: str) -> str:
        if value not in ("", "file", "database"):
            raise ValueError("must be 'file' or 'database'")
        return value

    @field_validator("DATABASE_URL", "MIGRATION_DATABASE_URL")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if value and not value.startswith(("sqlite:", "postgresql")):
            raise ValueError(f"must be empty (embedded SQLite), sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB "
                             f"(got {_scheme(value)})")
        return value

    @field_validator("REDIS_URL")
    @classmethod
    def _redis_url(cls, value: str) -> str:
        if value and _scheme(value) not in ("redis://", "rediss://", "unix://"):
            raise ValueError(f"must be empty (jobs in-process) or redis://HOST:PORT/DB (got {_scheme(value)})")
        return value

    @field_validator("SMTP_URL")
    @classmethod
    def _smtp_url(cls, value: str) -> str:
        if value and _scheme(value) not in ("smtp+starttls://", "smtps://", "smtp://"):
            raise ValueError(f"must start with smtp+starttls://, smtps:// or smtp:// (got {_scheme(value)})")
        return value

    @field_validator("FEED_ALLOWED_NETWORKS")
    @classmethod
    def _networks(cls, value: str) -> str:
        for part in (p.strip() for p in value.split(",")):
            if part:
                try:
                    ipaddress.ip_network(part, strict=False)
                except ValueError:
                    raise ValueError(f"must list addresses or networks like 127.0.0.1 or 10.0.0.0/8 (got {part!r})") from None
        return value

    @field_validator("LOG_FORMAT")
    @classmethod
    def _log_format(cls, value: str) -> str:
        if value.strip().lower() not in ("console", "json"):
            raise ValueError(f"must be 'console' or 'json' (got {value!r})")
        return value.strip().lower()

    @field_validator("LOG_LEVEL")
    @classmethod
    def _log_level(cls, value: str) -> str:
        if value.strip().upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError(f"must be DEBUG, INFO, WARNING, ERROR or CRITICAL (got {value!r})")
        return value.strip().upper()

    @field_validator("PUBLIC_URL", "STRIPE_API_BASE", "REDDIT_OAUTH_URL", "REDDIT_URL", "REDDIT_ADS_API_URL")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if _scheme(value) not in ("http://", "https://") or not urlparse(value).netloc:
            raise ValueError(f"must be an address like https://host (got {value!r})")
        return value


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _scheme(url: str) -> str:
    return f"{urlparse(url).scheme or 'nothing'}://"


OPTIONS: tuple[Option, ...] = tuple(
    Option(name, _as_text(info.default), info.description or "") for name, info in StudioEnv.model_fields.items()
)
# Settings under these prefixes reach the code through Settings.extra (as the strings they were given),
# undeclared ones too (a test double's knob); the declared ones are validated first.
EXTRA_PREFIXES = ("STRIPE_", "REDDIT_", "SMTP_", "OPERATOR_", "ENCRYPTION_", "LOG_", "API_", "WEBHOOK_", "FEED_")
# Values never repeated in an error message (they may hold a password or a key).
_SECRET_WORDS = ("SECRET", "KEY", "PASSWORD", "TOKEN", "_URL")


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    migration_database_url: str
    db_app_role: str
    redis_url: str
    secret_key: str
    max_upload_mb: int
    storage: str
    cookie_expiry_days: float
    lockout_attempts: int
    lockout_minutes: int
    public_url: str
    bcrypt_rounds: int = 12
    background_jobs: bool = True
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def team_mode(self) -> bool:
        return self.database_url.startswith("postgresql")

    @property
    def is_postgres(self) -> bool:
        return self.team_mode

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024


def read_env(env: Mapping[str, str] | None = None, *, dotenv: Path | None = Path(".env")) -> StudioEnv:
    """Validate the settings: defaults, then `.env` (python-dotenv's rules), then the environment."""
    source = os.environ if env is None else env
    given = {k: v for k, v in source.items() if k in StudioEnv.model_fields or k.startswith(EXTRA_PREFIXES)}
    try:
        env_file = dotenv if dotenv is not None and dotenv.is_file() else None
        return StudioEnv(_env_file=env_file, **given)  # type: ignore[call-arg, arg-type]
    except ValidationError as exc:
        raise SettingsError(explain(exc)) from None


def explain(exc: ValidationError) -> str:
    """One sentence per bad variable, naming it and what it accepts."""
    lines = []
    for err in exc.errors():
        name = str(err["loc"][0]) if err["loc"] else "settings"
        ctx = err.get("ctx") or {}
        if err["type"] == "value_error" and "error" in ctx:
            what = f"{name} {ctx['error']}"
        else:
            what = f"{name}: {err['msg'][:1].lower()}{err['msg'][1:]}"
        if not any(word in name for word in _SECRET_WORDS):
            what += f", got {err.get('input')!r}"
        lines.append(what + ".")
    return " ".join(lines) + " Fix it in the environment or in .env (`python -m studio.settings` lists every setting)."


def load_settings(env: Mapping[str, str] | None = None, *, dotenv: Path | None = Path(".env")) -> Settings:
    """Build Settings from the environment (and `.env`); raises SettingsError naming a bad or missing variable."""
    values = read_env(env, dotenv=dotenv)
    home = Path(values.DOTORO_HOME).expanduser().resolve()
    database_url = values.DATABASE_URL or f"sqlite:///{home / 'studio.db'}"
    team = database_url.startswith("postgresql")
    secret = values.SECRET_KEY
    if not secret:
        if team:
            raise SettingsError(
                "SECRET_KEY is required in team mode (DATABASE_URL is Postgres). "
                "Set it to a long random value, e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`."
            )
        secret = _embedded_secret(home)
    extra = {k: _as_text(v) for k, v in {**values.model_dump(exclude_none=True), **(values.model_extra or {})}.items()
             if k.startswith(EXTRA_PREFIXES)}
    return Settings(
        home=home,
        database_url=database_url,
        migration_database_url=values.MIGRATION_DATABASE_URL or database_url,
        db_app_role=values.DB_APP_ROLE,
        redis_url=values.REDIS_URL,
        secret_key=secret,
        max_upload_mb=values.MAX_UPLOAD_MB,
        storage=values.STORAGE or ("database" if team else "file"),
        cookie_expiry_days=values.COOKIE_EXPIRY_DAYS,
        lockout_attempts=values.LOCKOUT_ATTEMPTS,
        lockout_minutes=values.LOCKOUT_MINUTES,
        public_url=values.PUBLIC_URL,
        bcrypt_rounds=values.BCRYPT_ROUNDS,
        background_jobs=values.BACKGROUND_JOBS,
        extra=extra,
    )


def _embedded_secret(home: Path) -> str:
    """Generate the embedded secret once, readable only by its owner."""
    path = home / "secret_key"
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    home.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(key)
    return key


def describe() -> str:
    """Every setting with its default and help, for `python -m studio.settings`."""
    return "\n".join(f"{o.name} (default {o.default!r}): {o.help}" for o in OPTIONS)


def describe_markdown() -> str:
    """The README's settings table (`python -m studio.settings --markdown`)."""
    rows = [f"| `{o.name}` | {f'`{o.default}`' if o.default else '(empty)'} | {o.help.replace('|', '/')} |" for o in OPTIONS]
    return "\n".join(["| setting | default | what it does |", "|---|---|---|", *rows])


if __name__ == "__main__":
    print(describe_markdown() if "--markdown" in sys.argv[1:] else describe())
