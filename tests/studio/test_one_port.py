"""`streamlit run server.py` (what `make run` starts): the pages and the HTTP routes answer on one port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _get(url: str, data: bytes | None = None) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


@pytest.mark.slow
def test_pages_webhook_and_health_share_one_port(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "MIGRATION_DATABASE_URL",
                                                                    "REDIS_URL", "STRIPE_"))}
    env.update({"DOTORO_HOME": str(tmp_path / "home"), "LOG_FORMAT": "json", "BACKGROUND_JOBS": "off"})
    subprocess.run([sys.executable, "-m", "studio.store.migrate", "upgrade"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    log = open(tmp_path / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "server.py", "--server.headless", "true",
                             "--server.port", str(port), "--server.address", "127.0.0.1",
                             "--browser.gatherUsageStats", "false"], cwd=ROOT, env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):  # up to a minute on a busy machine
            try:
                if _get(base + "/healthz") == (200, "ok"):
                    break
            except OSError:
                pass
            if proc.poll() is not None:
                break
            time.sleep(0.1)
        else:
            pytest.fail("server.py did not answer /healthz")
        assert proc.poll() is None, (tmp_path / "server.log").read_text()[-2000:]
        status, page = _get(base + "/")
        assert status == 200 and "streamlit" in page.lower()
        assert _get(base + "/_stcore/health") == (200, "ok")
        status, body = _get(base + "/readyz")
        assert status == 200 and '"migrations":"ok"' in body
        status, body = _get(base + "/stripe/webhook", data=b"{}")
        assert status == 503 and "STRIPE_API_KEY" in body  # billing is off here; the route answers on this port
        with socket.create_connection(("127.0.0.1", port)) as idle:  # a slow client is not held forever
            idle.settimeout(60)
            assert idle.recv(100) == b""  # closed by studio.http_deadline after its 10 s
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()
    assert '"event": "request.refused"' in (tmp_path / "server.log").read_text()
