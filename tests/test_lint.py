"""The project's lint and type rules (pyproject.toml, [tool.ruff] and [tool.mypy]) hold on every committed file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_is_clean():
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--output-format", "concise", "."],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:]


def test_mypy_is_clean_on_engine_studio_and_workers(tmp_path):
    """CONVENTIONS: typed public functions, checked by mypy ([tool.mypy] in pyproject.toml: engine/, studio/ but
    its ui/, workers/); a wrong type at a call site fails here, not in production."""
    done = subprocess.run([sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path), "--no-error-summary"],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-1000:]
