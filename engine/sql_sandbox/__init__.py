"""A sandboxed DuckDB for analysts' own SQL: one read-only query in a child process killed at its deadline.

The child sees only Parquet copies of the workspace's tables, cannot reach files, URLs, other
databases, extensions or the network, and cannot change its settings back (``lock_configuration``).
"""

from __future__ import annotations

from engine.sql_sandbox.frames import to_frame
from engine.sql_sandbox.models import SandboxLimits, SqlError, SqlResult, SqlTimeout
from engine.sql_sandbox.runner import run_sql

__all__ = ["SandboxLimits", "SqlError", "SqlResult", "SqlTimeout", "run_sql", "to_frame"]
