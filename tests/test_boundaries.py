"""Layer boundaries as tests: engine stays pure; only app.py, pages/ and studio/ui/ import streamlit."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENGINE_ALLOWED = {"polars", "duckdb", "pyarrow", "jinja2", "markupsafe", "re2", "defusedxml", "twitter_text", "engine"}
STREAMLIT_OK = ("app.py", "server.py", "pages/", "studio/ui/")


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def python_files(*dirs: str) -> list[Path]:
    out: list[Path] = []
    for d in dirs:
        p = ROOT / d
        out += [p] if p.is_file() else sorted(p.rglob("*.py"))
    return out


def test_engine_imports_only_stdlib_and_its_libraries():
    import sys

    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    bad = {}
    for path in python_files("engine"):
        outer = imports(path) - stdlib - ENGINE_ALLOWED
        if outer:
            bad[str(path.relative_to(ROOT))] = sorted(outer)
    assert not bad, f"engine/ must stay pure: {bad}"


@pytest.mark.parametrize("path", python_files("app.py", "server.py", "pages", "studio", "workers", "engine"), ids=lambda p: str(p.relative_to(ROOT)))
def test_streamlit_only_in_the_ui_layers(path):
    rel = str(path.relative_to(ROOT))
    if rel.startswith(STREAMLIT_OK):
        return
    assert not imports(path) & {"streamlit", "streamlit_authenticator", "extra_streamlit_components"}, rel


@pytest.mark.parametrize("path", python_files("pages"), ids=lambda p: p.name)
def test_pages_hold_no_sql_jinja_or_engine_pipelines(path):
    used = imports(path)
    assert not used & {"sqlalchemy", "duckdb", "jinja2", "psycopg", "redis", "rq"}, path.name


def test_the_boundary_check_catches_a_violation(tmp_path):
    bad = tmp_path / "x.py"
    bad.write_text("import streamlit as st\nfrom sqlalchemy import select\n")
    assert {"streamlit", "sqlalchemy"} <= imports(bad)
