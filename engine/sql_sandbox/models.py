"""What a sandboxed query may use, what it returns, and the errors it raises."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.errors import EngineError

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True)
class SandboxLimits:
    """How long, how much memory, how many rows and result bytes, and how many threads one query may use."""

    timeout_s: float = 10.0
    memory_mb: int = 512
    max_rows: int = 10_000
    threads: int = 1
    # The rows a query hands back, as Arrow bytes: checked in the child, so a bigger result never
    # reaches the server's process.
    max_result_mb: int = 64

    def __post_init__(self) -> None:
        if not (math.isfinite(self.timeout_s) and self.timeout_s > 0):
            raise ValueError(f"timeout_s must be a positive number of seconds, not {self.timeout_s!r}")
        if self.memory_mb < 16:
            raise ValueError(f"memory_mb must be at least 16, not {self.memory_mb!r}")
        if self.max_rows < 0:
            raise ValueError(f"max_rows must not be negative, not {self.max_rows!r}")
        if self.threads < 1:
            raise ValueError(f"threads must be at least 1, not {self.threads!r}")
        if self.max_result_mb < 1:
            raise ValueError(f"max_result_mb must be at least 1, not {self.max_result_mb!r}")

    @property
    def max_result_bytes(self) -> int:
        """``max_result_mb`` in bytes."""
        return self.max_result_mb * 1024 * 1024


@dataclass(frozen=True)
class SqlResult:
    """The first ``max_rows`` rows of a query; ``total_rows`` is None when there were more."""

    table: pa.Table
    total_rows: int | None
    truncated: bool
    elapsed_s: float  # the query itself, in the child: process start and table loading excluded
    columns: list[str]

    @property
    def row_count_label(self) -> str:
        """'1,234 rows' or 'more than 10,000 rows' for the result header."""
        if self.truncated:
            return f"more than {self.table.num_rows:,} rows"
        rows = self.total_rows if self.total_rows is not None else self.table.num_rows
        return f"{rows:,} row" + ("" if rows == 1 else "s")


class SqlError(EngineError):
    """SQL the sandbox refused or DuckDB rejected; the message says what to change."""


class SqlTimeout(SqlError):
    """The query ran past its time limit and its process was killed."""


def result_too_large(limit_mb: int, rows: int) -> str:
    """The refusal for a result over the byte cap: the cap, and how to make the result smaller."""
    counted = f" (it passed the limit within its first {rows:,} rows)" if rows else ""
    return (f"The query's result is larger than the {limit_mb} MB a query may return{counted}. "
            "Add a LIMIT, select fewer or shorter columns, or aggregate (GROUP BY) to make it smaller.")


def seconds_label(seconds: float) -> str:
    """'10 s', '2.5 s' — how limits read in messages."""
    return f"{seconds:g} s"
