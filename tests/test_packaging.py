"""pyproject.toml, uv.lock and requirements.txt say the same thing (`make lock` rewrites the last two)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIX = "after changing pyproject.toml run `make lock` (uv lock + uv export to requirements.txt) and commit all three"


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement(text: str) -> tuple[str, set[str], str]:
    """'psycopg[binary]==3.3.9 ; marker' -> ('psycopg', {'binary'}, '==3.3.9')."""
    m = re.fullmatch(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?\s*([^;]*?)\s*(?:;.*)?", text)
    assert m, f"cannot read requirement {text!r}"
    extras = {_norm(e) for e in (m.group(2) or "").split(",") if e.strip()}
    return _norm(m.group(1)), extras, m.group(3).replace(" ", "")


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _lock() -> dict:
    return tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))


def _lock_closure(lock: dict, roots: list[dict]) -> set[tuple[str, str]]:
    """(name, version) of every package the lock installs for these dependency entries, extras followed."""
    by_name: dict[str, list[dict]] = {}
    for pkg in lock["package"]:
        by_name.setdefault(pkg["name"], []).append(pkg)
    seen: set[tuple[str, str]] = set()
    todo = list(roots)
    while todo:
        dep = todo.pop()
        candidates = [p for p in by_name[dep["name"]] if "version" not in dep or p["version"] == dep["version"]]
        assert len(candidates) == 1, f"uv.lock: cannot tell which {dep['name']} a dependency means"
        pkg = candidates[0]
        key = (pkg["name"], pkg["version"])
        todo.extend(dep_ for extra in dep.get("extra", []) for dep_ in pkg.get("optional-dependencies", {}).get(extra, []))
        if key in seen:
            continue
        seen.add(key)
        todo.extend(pkg.get("dependencies", []))
    return seen


def _project_entry(lock: dict) -> dict:
    name = _norm(_pyproject()["project"]["name"])
    [entry] = [p for p in lock["package"] if p["name"] == name]
    return entry


def test_requirements_txt_is_the_locked_runtime_tree():
    lock = _lock()
    runtime = _lock_closure(lock, _project_entry(lock)["dependencies"])
    pinned: set[tuple[str, str]] = set()
    for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith(("#", "-")):
            continue
        name, _, spec = _requirement(line)
        assert spec.startswith("=="), f"requirements.txt: {line!r} is not pinned; {FIX}"
        pinned.add((name, spec[2:]))
    assert pinned - runtime == set(), f"in requirements.txt, not in uv.lock's runtime tree; {FIX}"
    assert runtime - pinned == set(), f"in uv.lock's runtime tree, missing from requirements.txt; {FIX}"
    assert len(runtime) > 50  # the whole tree, not just the direct dependencies


@pytest.mark.parametrize("group", ["dependencies", "dev"])
def test_every_direct_dependency_is_pinned_and_locked_at_that_version(group):
    project = _pyproject()
    declared = project["project"]["dependencies"] if group == "dependencies" else project["dependency-groups"]["dev"]
    lock = _lock()
    entry = _project_entry(lock)
    lock_deps = entry["dependencies"] if group == "dependencies" else entry["dev-dependencies"]["dev"]
    locked_meta = entry["metadata"]["requires-dist"] if group == "dependencies" else entry["metadata"]["requires-dev"]["dev"]
    versions: dict[str, set[str]] = {}
    for pkg in lock["package"]:
        versions.setdefault(pkg["name"], set()).add(pkg["version"])
    meta = {m["name"]: m.get("specifier", "") for m in locked_meta}
    for text in declared:
        name, extras, spec = _requirement(text)
        assert spec.startswith("==") and "," not in spec, f"pyproject.toml: pin {text!r} with == (the project's rule)"
        assert spec[2:] in versions.get(name, set()), f"{text} is not in uv.lock; {FIX}"
        assert meta.get(name) == spec, f"uv.lock was resolved for {name}{meta.get(name)}, pyproject says {spec}; {FIX}"
        assert any(d["name"] == name and extras <= set(d.get("extra", [])) for d in lock_deps), f"{text}: extras not locked; {FIX}"
    assert len(meta) == len(declared), f"uv.lock names direct dependencies pyproject.toml no longer has; {FIX}"


def test_tool_settings_live_in_pyproject():
    tools = _pyproject()["tool"]
    assert {"ruff", "pytest", "mypy", "uv"} <= set(tools)
    assert "--strict-markers" in tools["pytest"]["ini_options"]["addopts"]
    for old in ("ruff.toml", ".ruff.toml", "pytest.ini", "setup.cfg", "mypy.ini", "requirements-dev.txt"):
        assert not (ROOT / old).exists(), f"{old} would shadow or duplicate pyproject.toml"
