"""The API has no permission logic of its own: every studio function a route calls with the key's Context is a
declared service (tests/studio/test_permissions.py then checks each declaration as a viewer, member and
non-member), and every route reaches at least one."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

from studio import permissions

# Handlers that call a service through a helper of their module (_start, _set_status).
DELEGATING = ("generate", "regenerate", "approve", "reject")
ROUTES = Path(__file__).resolve().parents[2] / "studio" / "api" / "routes"


def _calls(path: Path) -> tuple[dict[str, list[str]], list[str]]:
    """function name → the `module.function` calls in it, and problems (calls of undeclared services)."""
    tree = ast.parse(path.read_text())
    aliases: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("studio"):
            for a in node.names:
                full = f"{node.module}.{a.name}"
                try:
                    importlib.import_module(full)
                except ImportError:
                    continue
                aliases[a.asname or a.name] = full
    found: dict[str, list[str]] = {}
    problems: list[str] = []
    for fn in tree.body:
        if not isinstance(fn, ast.FunctionDef):
            continue
        for node in ast.walk(fn):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                    isinstance(node.func.value, ast.Name) and node.func.value.id in aliases:
                module = importlib.import_module(aliases[node.func.value.id])
                target = getattr(module, node.func.attr, None)
                if not inspect.isfunction(target):
                    continue
                params = list(inspect.signature(target).parameters)
                if "ctx" in params or params[:1] == ["store"]:
                    name = f"{module.__name__}.{node.func.attr}"
                    found.setdefault(fn.name, []).append(name)
                    if permissions.declaration(target) is None:
                        problems.append(f"{path.name}:{fn.name} calls undeclared {name}")
    return found, problems


def test_routes_call_only_declared_services():
    problems: list[str] = []
    seen: set[str] = set()
    for path in sorted(ROUTES.glob("*.py")):
        found, bad = _calls(path)
        problems += bad
        seen |= {name for names in found.values() for name in names}
    assert not problems, problems
    for service in ("studio.datasets.upload", "studio.previews.run_preview", "studio.campaigns.generate",
                    "studio.review.set_status", "studio.variations.export_bulk", "studio.publishing.schedule.commit",
                    "studio.publishing.queue.cancel", "studio.billing.subscriptions.overview"):
        assert service in seen, service


def test_every_route_handler_reaches_a_service(endpoints):
    """No route answers from the API's own logic: each operation's handler calls a service."""
    handlers: dict[str, list[str]] = {}
    for path in sorted(ROUTES.glob("*.py")):
        handlers.update(_calls(path)[0])
    spec = endpoints.api.openapi()
    lonely = [f"{method.upper()} {path} ({op['operationId']})" for path, ops in spec["paths"].items()
              for method, op in ops.items()
              if not (handlers.get(op["operationId"]) or op["operationId"] in DELEGATING)]
    assert not lonely, lonely


