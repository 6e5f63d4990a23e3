"""The child's DuckDB: tables as views over private Parquet copies, then settings nobody can undo."""

from __future__ import annotations

import math
import os
import resource

import duckdb

from engine.sql_sandbox.models import SandboxLimits

_MIB = 1024 * 1024


def connect(limits: SandboxLimits) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB within the limits from the start, reporting errors as JSON."""
    return duckdb.connect(":memory:", config={
        "threads": limits.threads,
        "memory_limit": f"{limits.memory_mb}MiB",
        "errors_as_json": True,
        "autoload_known_extensions": False,
        "autoinstall_known_extensions": False,
    })


def load_table(con: duckdb.DuckDBPyConnection, name: str, file: str) -> None:
    """A view named exactly as the workspace names the table, over its private Parquet copy."""
    con.execute(f"CREATE VIEW {quote_ident(name)} AS SELECT * FROM read_parquet({quote_literal(file)})")


def lockdown_settings(limits: SandboxLimits, files: list[str]) -> list[tuple[str, str]]:
    """The settings that close the sandbox, in the order DuckDB accepts them."""
    return [
        ("temp_directory", "''"),  # nothing spills to disk; only settable while external access is on
        ("max_temp_directory_size", "'0B'"),
        ("allowed_paths", "[" + ", ".join(quote_literal(f) for f in files) + "]"),  # the copies only
        ("enable_external_access", "false"),
        ("allow_community_extensions", "false"),
        ("autoload_known_extensions", "false"),
        ("autoinstall_known_extensions", "false"),
        ("allow_persistent_secrets", "false"),
        ("python_enable_replacements", "false"),  # no scanning of the child's Python variables
        ("memory_limit", f"'{limits.memory_mb}MiB'"),
        ("threads", str(limits.threads)),
        ("lock_configuration", "true"),  # last: nothing above can be changed back
    ]


def lock_down(con: duckdb.DuckDBPyConnection, limits: SandboxLimits, files: list[str]) -> None:
    """Apply the lockdown settings, then read back the two that matter most and fail closed."""
    for name, value in lockdown_settings(limits, files):
        con.execute(f"SET {name} = {value}")
    row = con.execute("SELECT current_setting('enable_external_access'), "
                      "current_setting('lock_configuration')").fetchall()
    if row != [(False, True)]:
        raise RuntimeError(f"DuckDB did not lock down: {row!r}")


def limit_process(limits: SandboxLimits) -> None:
    """Fences behind DuckDB's own limits: address space, and CPU seconds should the parent vanish."""
    size = _vm_size()
    if size:
        # memory_limit covers DuckDB's buffers only: leave room for Arrow, Python and allocator slack.
        cap = size + (2 * limits.memory_mb + 1024) * _MIB
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    used = sum(os.times()[:2])
    cpu = math.ceil(used + limits.timeout_s * limits.threads) + 2
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))


def quote_ident(name: str) -> str:
    """A double-quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """A single-quoted SQL string."""
    return "'" + text.replace("'", "''") + "'"


def _vm_size() -> int:
    """This process's virtual memory size in bytes (0 where /proc is missing)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0
