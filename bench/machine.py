"""What the machine gave a bench run: CPU seconds of our processes and of everyone else, and what
Postgres backends waited on (pg_stat_activity samples). Linux /proc only; on other systems the CPU
figures read as zero."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> list[str]:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return []
    return text[text.rindex(")") + 2:].split()  # fields from the 3rd on (the name may hold spaces)


def process_seconds(pid: int) -> float:
    """CPU seconds a live process has used so far (all its threads: DuckDB's included)."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / TICK if fields else 0.0


def machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine since boot."""
    try:
        parts = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except OSError:
        return 0, 0
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
    return sum(parts) - idle, sum(parts)


def postgres_seconds(services_dir: str | None) -> float:
    """CPU seconds of our Postgres: the postmaster, its reaped children (cutime) and its live children."""
    if not services_dir:
        return 0.0
    try:
        master = int(Path(services_dir, "pg", "data", "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0
    fields = _stat(master)
    if not fields:
        return 0.0
    ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))  # utime, stime, cutime, cstime
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            child = _stat(int(entry.name))
            if child and int(child[1]) == master:
                ticks += int(child[11]) + int(child[12])
    return ticks / TICK


@dataclass
class CpuMeter:
    """CPU used between start() and stop(): ours (workers + Postgres) and the machine's."""

    services_dir: str | None = os.environ.get("DOTORO_SERVICES_DIR")
    wall: float = 0.0
    postgres: float = 0.0
    workers: float = 0.0
    machine_busy: float = 0.0
    cores: int = os.cpu_count() or 1
    _t0: float = 0.0
    _pg0: float = 0.0
    _m0: tuple[int, int] = (0, 0)

    def start(self) -> CpuMeter:
        self._t0, self._pg0, self._m0 = time.perf_counter(), postgres_seconds(self.services_dir), machine_ticks()
        return self

    def stop(self, worker_seconds: float) -> CpuMeter:
        self.wall = time.perf_counter() - self._t0
        self.postgres = postgres_seconds(self.services_dir) - self._pg0
        busy, _ = machine_ticks()
        self.machine_busy = (busy - self._m0[0]) / TICK
        self.workers = worker_seconds
        return self

    @property
    def others(self) -> float:
        """CPU seconds that neither our workers nor our Postgres used (other programs, this bench)."""
        return max(0.0, self.machine_busy - self.postgres - self.workers)

    def line(self) -> str:
        cap = self.cores * self.wall or 1.0
        return (f"CPU s: workers {self.workers:.1f}, Postgres {self.postgres:.1f}, everything else "
                f"{self.others:.1f} of {cap:.1f} ({self.cores} cores × {self.wall:.1f} s; machine busy "
                f"{self.machine_busy / cap:.0%})")


@dataclass
class WaitSampler:
    """Samples what the app role's active backends wait on, every `every` seconds, in a thread."""

    url: str
    role: str = "dotoro_app"
    every: float = 0.02
    counts: Counter[str] = field(default_factory=Counter)
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> WaitSampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        import psycopg

        with psycopg.connect(self.url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as c:
            while not self._stop.is_set():
                rows = c.execute("SELECT coalesce(wait_event_type || ':' || wait_event, 'on CPU') FROM pg_stat_activity "
                                 "WHERE usename = %s AND state = 'active'", (self.role,)).fetchall()
                self.samples += 1
                self.counts.update(r[0] for r in rows)
                time.sleep(self.every)

    def line(self, top: int = 5) -> str:
        total = sum(self.counts.values()) or 1
        busy = total / max(1, self.samples)
        parts = ", ".join(f"{k} {v / total:.0%}" for k, v in self.counts.most_common(top))
        return f"Postgres backends active on average {busy:.2f}; of that: {parts}"
