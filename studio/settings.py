"""Settings from environment variables (and `.env`): one place, each with a default and a help line."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path


class SettingsError(RuntimeError):
    """The studio cannot start with these settings; the message says what to set."""


@dataclass(frozen=True)
class Option:
    name: str
    default: str
    help: str


OPTIONS: tuple[Option, ...] = (
    Option("DOTORO_HOME", ".dotoro", "Folder for the embedded store, uploaded data and the generated secret key."),
    Option("DATABASE_URL", "", "Store URL. Empty: SQLite under DOTORO_HOME (embedded). postgresql+psycopg://… : team mode (app role, RLS)."),
    Option("MIGRATION_DATABASE_URL", "", "Postgres URL of the role that owns the schema and runs migrations (team mode; defaults to DATABASE_URL)."),
    Option("DB_APP_ROLE", "dotoro_app", "Postgres role the studio and workers connect as; migrations grant it table access."),
    Option("REDIS_URL", "", "Redis URL for the RQ worker pool. Empty: background jobs run in-process (embedded)."),
    Option("BACKGROUND_JOBS", "on", "Embedded mode: the studio server itself sends due posts, runs the periodic jobs and generates campaign sets on a background thread (off: due posts go out only while the Publish page is open, and a run generates inside the click)."),
    Option("SECRET_KEY", "", "Signs sign-in cookies and encrypts secrets. Required in team mode; generated once in embedded mode."),
    Option("MAX_UPLOAD_MB", "200", "Largest data file accepted, in megabytes (keep in line with .streamlit/config.toml)."),
    Option("STORAGE", "", "Where uploaded data lives: 'file' (DOTORO_HOME, embedded default) or 'database' (team default; every worker can read it)."),
    Option("COOKIE_EXPIRY_DAYS", "14", "Days a sign-in cookie stays valid."),
    Option("LOCKOUT_ATTEMPTS", "5", "Failed sign-ins in a row that lock an account."),
    Option("LOCKOUT_MINUTES", "15", "Minutes an account stays locked after too many failed sign-ins."),
    Option("BCRYPT_ROUNDS", "12", "Cost of password hashing (tests lower it; keep 12 or more in production)."),
    Option("HOST", "127.0.0.1", "Address `make run` binds the studio to (--server.address). 127.0.0.1: this machine only; team mode behind a proxy on another host: 0.0.0.0 or the server's LAN address."),
    Option("PUBLIC_URL", "http://localhost:8501", "Address of the studio, used in links (invitations, OAuth callbacks)."),
    Option("STRIPE_API_KEY", "", "Stripe secret key. Empty: billing is off and no plan limits apply (self-hosted)."),
    Option("STRIPE_WEBHOOK_SECRET", "", "Signing secret of the Stripe webhook endpoint (whsec_…), checked by `make webhooks`."),
    Option("STRIPE_API_BASE", "https://api.stripe.com", "Stripe API address (tests point it at a local double)."),
    Option("STRIPE_PRICE_STARTER", "", "Stripe Price id of the Starter plan (monthly subscription)."),
    Option("STRIPE_PRICE_PRO", "", "Stripe Price id of the Pro plan (monthly subscription)."),
    Option("STRIPE_MAX_NETWORK_RETRIES", "2", "Retries of a failed Stripe call (same idempotency key each time)."),
    Option("OPERATOR_EMAILS", "", "Comma-separated emails of the studio's operators (admin pages across workspaces)."),
    Option("REDDIT_CLIENT_ID", "", "Client id of the studio's Reddit web app (OAuth connect); script accounts bring their own."),
    Option("REDDIT_CLIENT_SECRET", "", "Client secret of the studio's Reddit web app."),
    Option("REDDIT_REDIRECT_URI", "", "OAuth callback registered with the Reddit app. Empty: PUBLIC_URL + '/accounts'."),
    Option("REDDIT_OAUTH_URL", "https://oauth.reddit.com", "Reddit API address (tests point it at a local double)."),
    Option("REDDIT_URL", "https://www.reddit.com", "Reddit address for authorization and tokens (tests point it at a local double)."),
    Option("REDDIT_USER_AGENT", "python:dotoro-studio:1.0 (self-hosted)", "User-Agent sent to Reddit (Reddit asks for a descriptive one)."),
    Option("REDDIT_TIMEOUT", "16", "Seconds to wait for Reddit before a request counts as failed (a submit then becomes 'unknown')."),
    Option("REDDIT_SUBMIT_LEASE_SECONDS", "120", "Seconds a worker owns an item it is submitting; after that the sweeper reconciles it."),
    Option("REDDIT_RECONCILE_SETTLE_SECONDS", "60", "Seconds to keep looking for an ambiguous post in the account's history before submitting again."),
    Option("ENCRYPTION_KEYS", "", "Comma-separated Fernet keys, newest first (tokens at rest). Empty: derived from SECRET_KEY."),
)
EXTRA_PREFIXES = ("STRIPE_", "REDDIT_", "SMTP_", "OPERATOR_", "ENCRYPTION_")


def _read_dotenv(path: Path) -> dict[str, str]:
    """Parse KEY=VALUE lines; comments and blanks ignored; the environment wins over the file."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip('"').strip("'")
    return values


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


def load_settings(env: dict[str, str] | None = None, *, dotenv: Path | None = Path(".env")) -> Settings:
    """Build Settings from the environment; raises SettingsError when team mode lacks a secret."""
    values = {o.name: o.default for o in OPTIONS}
    if dotenv is not None:
        values.update(_read_dotenv(dotenv))
    source = os.environ if env is None else env
    values.update({k: v for k, v in source.items() if k in values or k.startswith(EXTRA_PREFIXES)})
    home = Path(values["DOTORO_HOME"]).expanduser().resolve()
    database_url = values["DATABASE_URL"] or f"sqlite:///{home / 'studio.db'}"
    team = database_url.startswith("postgresql")
    secret = values["SECRET_KEY"]
    if not secret:
        if team:
            raise SettingsError(
                "SECRET_KEY is required in team mode (DATABASE_URL is Postgres). "
                "Set it to a long random value, e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`."
            )
        secret = _embedded_secret(home)
    for name in ("MAX_UPLOAD_MB", "COOKIE_EXPIRY_DAYS", "LOCKOUT_ATTEMPTS", "LOCKOUT_MINUTES"):
        try:
            float(values[name])
        except ValueError as exc:
            raise SettingsError(f"{name} must be a number, got {values[name]!r}.") from exc
    background = values["BACKGROUND_JOBS"].strip().lower()
    if background not in ("on", "off", "1", "0", "true", "false", "yes", "no"):
        raise SettingsError(f"BACKGROUND_JOBS must be 'on' or 'off', got {values['BACKGROUND_JOBS']!r}.")
    storage = values["STORAGE"] or ("database" if team else "file")
    if storage not in ("file", "database"):
        raise SettingsError(f"STORAGE must be 'file' or 'database', got {storage!r}.")
    extra = {k: v for k, v in values.items() if k.startswith(EXTRA_PREFIXES)}
    return Settings(
        home=home,
        database_url=database_url,
        migration_database_url=values["MIGRATION_DATABASE_URL"] or database_url,
        db_app_role=values["DB_APP_ROLE"],
        redis_url=values["REDIS_URL"],
        secret_key=secret,
        max_upload_mb=int(float(values["MAX_UPLOAD_MB"])),
        storage=storage,
        cookie_expiry_days=float(values["COOKIE_EXPIRY_DAYS"]),
        lockout_attempts=int(float(values["LOCKOUT_ATTEMPTS"])),
        lockout_minutes=int(float(values["LOCKOUT_MINUTES"])),
        public_url=values["PUBLIC_URL"],
        bcrypt_rounds=max(4, int(values["BCRYPT_ROUNDS"])),
        background_jobs=background in ("on", "1", "true", "yes"),
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


if __name__ == "__main__":
    print(describe())
