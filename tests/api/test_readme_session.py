"""The README's curl session (upload → preview → generate → poll the job → export), run as written against the
studio served by `streamlit run server.py`, with a key created for the test."""

from __future__ import annotations

import csv
import io
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from studio import auth
from studio.api import keys
from studio.context import Context, Role
from studio.settings import load_settings
from studio.store.session import Store

ROOT = Path(__file__).resolve().parents[2]


def readme_session() -> str:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- api-session:start -->\n```bash\n(.*?)```\n<!-- api-session:end -->", text, re.S)
    assert block, "README.md lost its API session (between the api-session markers)"
    return block.group(1)


def test_the_session_covers_the_issue():
    commands = readme_session()
    for step in ("/api/v1/datasets", "/api/v1/preview", "/api/v1/campaign-sets", "/generate", "/api/v1/jobs/",
                 "/export?format="):
        assert step in commands, step


@pytest.mark.slow
def test_the_readme_session_runs_against_a_served_studio(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "MIGRATION_DATABASE_URL",
                                                                    "REDIS_URL", "STRIPE_"))}
    env.update({"DOTORO_HOME": str(tmp_path / "home"), "BACKGROUND_JOBS": "off"})
    subprocess.run([sys.executable, "-m", "studio.store.migrate", "upgrade"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    store = Store(load_settings(env, dotenv=None))
    try:
        account, ws = auth.sign_up(store, "api@example.com", "API Tester", "correct horse")
        secret = keys.create_key(store, Context(user_id=account.id, workspace_id=ws), "readme", ["admin"],
                                 Role.MEMBER).secret
    finally:
        store.dispose()
    log = open(tmp_path / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "server.py", "--server.headless", "true",
                             "--server.port", str(port), "--server.address", "127.0.0.1",
                             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
                            cwd=ROOT, env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):  # up to a minute on a busy machine
            try:
                if urllib.request.urlopen(base + "/healthz", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.1)
            if proc.poll() is not None:
                pytest.fail((tmp_path / "server.log").read_text()[-2000:])
        else:
            pytest.fail("server.py did not answer /healthz")
        work = tmp_path / "work"
        (work / "studio").mkdir(parents=True)
        (work / "studio" / "demo").symlink_to(ROOT / "studio" / "demo")  # the session's relative upload path
        ran = subprocess.run(["bash", "-euo", "pipefail", "-c", readme_session()], cwd=work, capture_output=True,
                             text=True, timeout=300, env={**env, "STUDIO": base, "DOTORO_API_KEY": secret})
        assert ran.returncode == 0, ran.stdout + ran.stderr + (tmp_path / "server.log").read_text()[-3000:]
        assert '"status": "done"' in ran.stdout and '"variations": 60' in ran.stdout, ran.stdout
        assert '"kept": 60' in ran.stdout and "Open-Back 600 in Toronto, now $274.9" in ran.stdout, ran.stdout
        rows = list(csv.DictReader(io.StringIO((work / "spring-deals.csv").read_text(encoding="utf-8-sig"))))
        assert len(rows) == 60 and rows[0]["title"] == "Open-Back 600 in Toronto, now $274.9"
        docs = urllib.request.urlopen(base + "/api/v1/docs", timeout=10).read().decode()
        assert "/api/v1/openapi.json" in docs
        spec = urllib.request.urlopen(base + "/api/v1/openapi.json", timeout=10).read().decode()
        assert '"/campaign-sets/{set_id}/generate"' in spec
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()
