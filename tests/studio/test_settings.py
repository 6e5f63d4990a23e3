"""Settings: `.env` read by python-dotenv's rules, bad values named at start, every setting listed and documented."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from studio.settings import OPTIONS, SettingsError, StudioEnv, describe_markdown, load_settings

ROOT = Path(__file__).resolve().parents[2]


def _load(tmp_path: Path, dotenv_text: str, **env: str):
    (tmp_path / ".env").write_text(dotenv_text, encoding="utf-8")
    return load_settings({"DOTORO_HOME": str(tmp_path / "home"), **env}, dotenv=tmp_path / ".env")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("SECRET_KEY=abc", "abc"),
        ("export SECRET_KEY=abc", "abc"),  # shell-style files that are also `source`d
        ("SECRET_KEY=abc # rotated in May", "abc"),
        ('SECRET_KEY="abc # not a comment"', "abc # not a comment"),
        ("SECRET_KEY='a b c'", "a b c"),
        ('SECRET_KEY="a=b"', "a=b"),
        ("  SECRET_KEY = abc  ", "abc"),
        ('SECRET_KEY="line1\\nline2"', "line1\nline2"),
    ],
)
def test_dotenv_lines_read_like_python_dotenv(tmp_path, line, expected):
    assert _load(tmp_path, f"# studio\n\n{line}\n").secret_key == expected


def test_dotenv_feeds_typed_settings_and_extras(tmp_path):
    s = _load(tmp_path, "export LOCKOUT_MINUTES=20 # longer\nBACKGROUND_JOBS=off\nSMTP_FROM='Studio <s@example.com>'\n"
                        "REDDIT_TIMEOUT=30\nUNRELATED=1\n")
    assert (s.lockout_minutes, s.background_jobs) == (20, False)
    assert s.extra["SMTP_FROM"] == "Studio <s@example.com>"
    assert s.extra["REDDIT_TIMEOUT"] == "30"
    assert s.extra["SMTP_URL"] == ""  # declared defaults reach the code too
    assert "UNRELATED" not in s.extra


def test_environment_wins_over_dotenv(tmp_path):
    s = _load(tmp_path, "SECRET_KEY=from-file\nLOCKOUT_ATTEMPTS=9\n", SECRET_KEY="from-env")
    assert (s.secret_key, s.lockout_attempts) == ("from-env", 9)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"LOCKOUT_ATTEMPTS": "five"}, r"LOCKOUT_ATTEMPTS: input should be a valid integer.*got 'five'"),
        ({"MAX_UPLOAD_MB": "0"}, r"MAX_UPLOAD_MB: input should be greater than 0"),
        ({"COOKIE_EXPIRY_DAYS": "two weeks"}, r"COOKIE_EXPIRY_DAYS: input should be a valid number"),
        ({"BCRYPT_ROUNDS": "40"}, r"BCRYPT_ROUNDS: input should be less than or equal to 31"),
        ({"BACKGROUND_JOBS": "sometimes"}, r"BACKGROUND_JOBS must be 'on' or 'off', got 'sometimes'"),
        ({"STORAGE": "s3"}, r"STORAGE must be 'file' or 'database', got 's3'"),
        ({"DATABASE_URL": "mysql://u:hunter2@db/studio"}, r"DATABASE_URL must be empty .*\(got mysql://\)\."),
        ({"REDIS_URL": "localhost:6379"}, r"REDIS_URL must be empty .*redis://"),
        ({"SMTP_URL": "smtp+ssl://u:hunter2@mail:465"}, r"SMTP_URL must start with smtp\+starttls://, smtps:// or smtp://"),
        ({"PUBLIC_URL": "studio.example.com"}, r"PUBLIC_URL must be an address like https://host"),
        ({"REDDIT_TIMEOUT": "-1"}, r"REDDIT_TIMEOUT: input should be greater than 0"),
        ({"DATABASE_URL": "postgresql+psycopg://app@db/studio"}, r"SECRET_KEY is required in team mode"),
    ],
)
def test_a_bad_value_is_refused_at_start_naming_the_variable(tmp_path, env, message):
    with pytest.raises(SettingsError, match=message) as caught:
        load_settings({"DOTORO_HOME": str(tmp_path), **env}, dotenv=None)
    assert "hunter2" not in str(caught.value)  # a password in a URL is never repeated


def test_every_bad_variable_is_named_at_once(tmp_path):
    (tmp_path / ".env").write_text("LOCKOUT_MINUTES=soon\n", encoding="utf-8")
    with pytest.raises(SettingsError) as caught:
        load_settings({"DOTORO_HOME": str(tmp_path), "MAX_UPLOAD_MB": "big"}, dotenv=tmp_path / ".env")
    assert "LOCKOUT_MINUTES" in str(caught.value) and "MAX_UPLOAD_MB" in str(caught.value)


def test_the_command_lists_every_setting_with_default_and_help():
    done = subprocess.run([sys.executable, "-m", "studio.settings"], cwd=ROOT, capture_output=True, text=True, check=True)
    listed = {line.split(" ", 1)[0]: line for line in done.stdout.splitlines()}
    assert set(listed) == set(StudioEnv.model_fields)
    assert listed["SMTP_URL"].startswith("SMTP_URL (default ''): Mail server")
    assert listed["BACKGROUND_JOBS"].startswith("BACKGROUND_JOBS (default 'on'):")
    assert all(o.help for o in OPTIONS), [o.name for o in OPTIONS if not o.help]


def _names_read_by_the_code() -> set[str]:
    """Setting names the code looks up in Settings.extra (the way SMTP_URL once went undocumented)."""
    pattern = re.compile(r"""extra(?:\.get\(|\[)\s*["']([A-Z][A-Z0-9_]+)["']""")
    names: set[str] = set()
    for folder in ("studio", "workers", "pages"):
        for path in (ROOT / folder).rglob("*.py"):
            names.update(pattern.findall(path.read_text(encoding="utf-8")))
    names.update(pattern.findall((ROOT / "app.py").read_text(encoding="utf-8")))
    return names


def test_every_setting_the_code_reads_is_declared():
    read = _names_read_by_the_code()
    assert {"SMTP_URL", "SMTP_FROM", "REDDIT_TIMEOUT"} <= read  # the scan finds them
    assert read - set(StudioEnv.model_fields) == set(), "declare these in studio/settings.py (StudioEnv)"


def test_readme_settings_table_matches_the_settings():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start, end = "<!-- settings:start -->", "<!-- settings:end -->"
    assert start in readme and end in readme, "README.md needs the settings table between the settings markers"
    table = readme.split(start, 1)[1].split(end, 1)[0].strip()
    assert table == describe_markdown(), "regenerate it: .venv/bin/python -m studio.settings --markdown"
    for name in StudioEnv.model_fields:
        assert f"| `{name}` |" in table


def test_make_run_stops_on_a_bad_value_with_the_message_alone(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "DOTORO_HOME": str(tmp_path), "BACKGROUND_JOBS": "maybe"}
    done = subprocess.run([sys.executable, "-m", "studio.store.migrate", "upgrade"], cwd=tmp_path, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr.strip().startswith("Cannot start: BACKGROUND_JOBS must be 'on' or 'off', got 'maybe'.")
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "studio.db").exists()
