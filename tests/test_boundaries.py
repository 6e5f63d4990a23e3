"""Layer boundaries as tests: engine stays pure; only app.py, pages/ and studio/ui/ import streamlit."""

from __future__ import annotations

import ast
import re
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


# --- studio/ never imports workers/ (ARCHITECTURE.md: one small port, studio.jobs, bound by workers.bindings) ---

WORKERS_NAME = re.compile(r"^workers(\.\w+)*(:\w+)?$")


def workers_references(path: Path) -> list[str]:
    """Every way `path` reaches workers/: import statements at any depth (inside functions too), and module
    names handed to a call as a string (importlib.import_module, __import__, runpy, a dotted job path)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [f"line {node.lineno}: import {a.name}" for a in node.names if a.name.split(".")[0] == "workers"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "workers":
            found.append(f"line {node.lineno}: from {node.module} import …")
        elif isinstance(node, ast.Call):
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and WORKERS_NAME.match(arg.value):
                    found.append(f"line {node.lineno}: {ast.unparse(node)[:80]}")
    return found


def test_studio_never_imports_workers():
    bad = {str(p.relative_to(ROOT)): refs for p in python_files("studio") if (refs := workers_references(p))}
    assert not bad, ("studio/ must not import workers/: call the operation in studio.jobs (bound by "
                     f"workers.bindings) instead: {bad}")


def test_the_workers_check_catches_every_kind_of_import(tmp_path):
    bad = tmp_path / "x.py"
    bad.write_text("import importlib\n"
                   "def f():\n    from workers.generation import enqueue_run\n    import workers.queues as q\n"
                   "def g():\n    importlib.import_module('workers.feed_apply')\n    __import__(name='workers')\n"
                   "def h(q):\n    q.enqueue('workers.generation:run_chunk')\n"
                   "def fine():\n    '''As workers.generation.variation_id.'''\n    print('the workers are busy')\n")
    assert [r.split(":")[0] for r in workers_references(bad)] == ["line 3", "line 4", "line 6", "line 7", "line 9"]


@pytest.fixture(scope="module")
def fresh_process() -> dict:
    """A new interpreter that imports every studio module (the UI's too), then binds: what a process that
    forgot `workers.bindings.install()` sees, and what installing changes."""
    import json
    import subprocess
    import sys

    script = """if True:
        import importlib, json, pkgutil, sys, uuid
        import studio
        for info in pkgutil.walk_packages(studio.__path__, "studio."):
            if not info.name.startswith("studio.store.migrations"):
                importlib.import_module(info.name)
        from studio import jobs
        report = {"workers_loaded": sorted(m for m in sys.modules if m.split(".")[0] == "workers"),
                  "unbound_before": jobs.unbound(), "declared": sorted(jobs.OPERATIONS)}
        try:
            jobs.enqueue_run(None, uuid.uuid4(), uuid.uuid4(), 1)
        except jobs.JobsNotBound as exc:
            report["refusal"] = str(exc)
        from workers import bindings
        bindings.install()
        first = {name: op._impl for name, op in jobs.OPERATIONS.items()}
        bindings.install()
        report["unbound_after"] = jobs.unbound()
        report["idempotent"] = first == {name: op._impl for name, op in jobs.OPERATIONS.items()}
        print("REPORT" + json.dumps(report))
    """
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("REPORT")), None)
    assert line, out.stderr[-3000:]
    return json.loads(line[len("REPORT"):])


def test_importing_all_of_studio_loads_no_worker_module(fresh_process):
    assert fresh_process["workers_loaded"] == []


def test_the_port_refuses_clearly_when_nothing_is_bound(fresh_process):
    assert fresh_process["unbound_before"] == fresh_process["declared"]
    message = fresh_process.get("refusal", "")
    assert "'generation.enqueue_run'" in message and "workers.bindings.install()" in message, message


@pytest.mark.parametrize("name", sorted(__import__("studio.jobs").jobs.OPERATIONS))
def test_an_unbound_operation_raises_jobs_not_bound_naming_it(name, monkeypatch):
    from studio import jobs

    op = jobs.OPERATIONS[name]
    monkeypatch.setattr(op, "_impl", None)
    with pytest.raises(jobs.JobsNotBound, match=re.escape(repr(name)) + r".*workers\.bindings\.install\(\)"):
        op()


def test_workers_bindings_binds_every_operation_once_and_again(fresh_process):
    assert fresh_process["unbound_after"] == []
    assert fresh_process["idempotent"], "installing twice must bind the same functions"


def _port_names_used_by_studio() -> dict[str, list[str]]:
    """Names studio/ reads off the port: `jobs.X` (after `from studio import jobs [as alias]`) and
    `from studio.jobs import X`, with where."""
    used: dict[str, list[str]] = {}
    for path in python_files("studio"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "studio.jobs":
                for a in node.names:
                    used.setdefault(a.name, []).append(f"{path.relative_to(ROOT)}:{node.lineno}")
            elif isinstance(node, ast.ImportFrom) and node.module == "studio":
                aliases |= {a.asname or a.name for a in node.names if a.name == "jobs"}
        if path.name == "jobs.py" and path.parent.name == "studio":
            continue  # the port itself
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
                used.setdefault(node.attr, []).append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return used


def test_every_operation_studio_calls_exists_and_is_bound_by_workers_bindings():
    from studio import jobs
    from workers import bindings

    bindings.install()
    used = _port_names_used_by_studio()
    assert {"enqueue_run", "recover_run", "enqueue_feed_apply", "queue_admin", "start_embedded_loop"} <= set(used)
    missing = {name: where for name, where in used.items() if not hasattr(jobs, name)}
    assert not missing, f"studio/ calls names studio.jobs does not declare (a typo?): {missing}"
    called = {getattr(jobs, name).name for name in used if isinstance(getattr(jobs, name), jobs.Operation)}
    assert called == set(jobs.OPERATIONS), ("declared but never called from studio/ (remove the declaration?): "
                                            f"{set(jobs.OPERATIONS) - called}")
    assert jobs.unbound() == []


@pytest.mark.parametrize("name", sorted(__import__("studio.jobs").jobs.OPERATIONS))
def test_each_binding_takes_what_the_operation_declares(name):
    """The call sites pass the declared arguments (mypy checks them); the bound function must take the same."""
    import inspect

    from studio import jobs

    op = jobs.OPERATIONS[name]
    declared, bound = inspect.signature(op.declared), inspect.signature(op._impl)
    assert [(p.name, p.kind, p.default) for p in bound.parameters.values()] == \
           [(p.name, p.kind, p.default) for p in declared.parameters.values()], name


ENTRY_POINTS = ("app.py", "server.py", "workers/worker.py", "workers/maintenance.py", "workers/embedded.py",
                "tests/conftest.py", "bench/bench_generation.py", "bench/bench_feed_apply.py")


@pytest.mark.parametrize("rel", ENTRY_POINTS)
def test_every_entry_point_binds_the_port_and_the_readme_says_so(rel):
    tree = ast.parse((ROOT / rel).read_text(encoding="utf-8"))
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and ast.unparse(n.func) == "bindings.install"]
    assert calls, f"{rel} starts studio code that may queue jobs: it must call workers.bindings.install()"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("**One port to the queue**"):][:1500]
    named = {"workers/worker.py": "workers.worker", "workers/maintenance.py": "workers.maintenance",
             "workers/embedded.py": "embedded loop", "bench/bench_generation.py": "bench/",
             "bench/bench_feed_apply.py": "bench/"}.get(rel, rel)
    assert named in section, f"README's port paragraph should name {rel}"
