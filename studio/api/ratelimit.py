"""Per-key request budgets: a fixed one-minute window counted in Redis (team mode) or in process (embedded)."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any

WINDOW_S = 60
DEFAULT_PER_MINUTE = 120


class RateLimiter:
    """`hit(key)` → None when within the budget, else the seconds until the next window (Retry-After)."""

    def __init__(self, per_minute: int, redis: Any | None = None, clock: Callable[[], float] = time.time) -> None:
        self.per_minute = per_minute
        self._redis = redis
        self._clock = clock
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> int | None:
        now = self._clock()
        window = int(now // WINDOW_S)
        count = self._count_redis(key, window) if self._redis is not None else self._count_here(key, window)
        if count <= self.per_minute:
            return None
        return max(1, math.ceil((window + 1) * WINDOW_S - now))

    def _count_redis(self, key: str, window: int) -> int:
        name = f"dotoro:api:rate:{key}:{window}"
        pipe = self._redis.pipeline()  # type: ignore[union-attr]
        pipe.incr(name)
        pipe.expire(name, WINDOW_S + 5)
        count, _ = pipe.execute()
        return int(count)

    def _count_here(self, key: str, window: int) -> int:
        with self._lock:
            for old in [k for k in self._counts if k[1] < window]:  # past windows are forgotten
                del self._counts[old]
            self._counts[(key, window)] = n = self._counts.get((key, window), 0) + 1
            return n

    def close(self) -> None:
        if self._redis is not None:
            self._redis.close()


def limiter_for(settings: Any) -> RateLimiter:
    """API_RATE_LIMIT requests a minute per key (default 120); Redis when the studio has one."""
    per_minute = int(settings.extra.get("API_RATE_LIMIT") or DEFAULT_PER_MINUTE)
    redis = None
    if settings.redis_url:
        from studio.jobs import redis_connection

        redis = redis_connection(settings)
    return RateLimiter(per_minute, redis)
