"""The schedule planner: pure, deterministic, in UTC. Accounts rotate, posts stagger, limits always hold.

A limit "at most N per W" means: any N + 1 consecutive posts of one account span at least W
(so no half-open window of length W holds more than N). Preferred hours and days are read in the
set's time zone; every time in and out of the planner is an aware UTC datetime.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

UTC = dt.UTC
ALL_HOURS = frozenset(range(24))
ALL_DAYS = frozenset(range(7))
LOW_KARMA = 100
NEW_ACCOUNT_DAYS = 30


@dataclass(frozen=True)
class Limits:
    min_gap: dt.timedelta = dt.timedelta(minutes=10)
    per_hour: int = 6
    per_day: int = 50


DEFAULT_LIMITS = Limits()
LOW_KARMA_LIMITS = Limits(min_gap=dt.timedelta(minutes=30), per_hour=2, per_day=10)
SUBREDDIT_GAP = dt.timedelta(hours=1)


@dataclass(frozen=True)
class Account:
    id: str
    low_karma: bool = False
    busy: tuple[dt.datetime, ...] = ()  # times of its items already in the outbox (any live state)

    @property
    def limits(self) -> Limits:
        return LOW_KARMA_LIMITS if self.low_karma else DEFAULT_LIMITS


@dataclass(frozen=True)
class Want:
    """One item to place. `subreddit` empty: no per-subreddit gap (a reply to a given parent)."""

    key: str
    subreddit: str
    jitter_seconds: int = 0


@dataclass(frozen=True)
class Preferences:
    start: dt.datetime
    timezone: str = "UTC"
    hours: frozenset[int] = ALL_HOURS
    days: frozenset[int] = ALL_DAYS  # 0 = Monday
    stagger: dt.timedelta = dt.timedelta(minutes=5)
    horizon: dt.timedelta = dt.timedelta(days=120)


@dataclass(frozen=True)
class Slot:
    key: str
    account_id: str
    at: dt.datetime
    jitter_seconds: int


@dataclass
class Plan:
    slots: list[Slot] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)


def is_low_karma(karma: int, created_at: dt.datetime | None, now: dt.datetime) -> bool:
    """Young or low-karma accounts get the stricter limits (Reddit's spam filter is harder on them)."""
    young = created_at is not None and now - created_at < dt.timedelta(days=NEW_ACCOUNT_DAYS)
    return karma < LOW_KARMA or young


def jitter_for(seed: str, max_seconds: int) -> int:
    """A random-looking but reproducible offset in [0, max_seconds]; stored on the item once drawn."""
    if max_seconds <= 0:
        return 0
    digest = hashlib.sha256(seed.encode()).digest()
    return int.from_bytes(digest[:8], "big") % (max_seconds + 1)


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def preferred(at: dt.datetime, prefs: Preferences) -> bool:
    local = at.astimezone(ZoneInfo(prefs.timezone))
    return local.weekday() in prefs.days and local.hour in prefs.hours


def _next_local_hour(at: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    local = at.astimezone(tz)
    return at + dt.timedelta(minutes=60 - local.minute, seconds=-local.second, microseconds=-local.microsecond)


def _gap_jump(times: Sequence[dt.datetime], at: dt.datetime, gap: dt.timedelta) -> dt.datetime | None:
    """The time after the latest neighbour closer than `gap`, or None when none is that close."""
    i = bisect.bisect_left(times, at - gap + dt.timedelta(microseconds=1))
    close = [t for t in times[i:] if abs(t - at) < gap]
    return max(close) + gap if close else None


def _window_jump(times: Sequence[dt.datetime], at: dt.datetime, n: int, width: dt.timedelta) -> dt.datetime | None:
    """None when `at` keeps every n + 1 consecutive posts at least `width` apart; else a later time to try."""
    merged = list(times)
    pos = bisect.bisect_right(merged, at)
    merged.insert(pos, at)
    jump: dt.datetime | None = None
    for first in range(max(0, pos - n), min(pos, len(merged) - n - 1) + 1):
        last = first + n
        if merged[last] - merged[first] >= width:
            continue
        target = merged[first] + width if last == pos else merged[pos + 1] + dt.timedelta(seconds=1)
        jump = target if jump is None else max(jump, target)
    return jump


def earliest(times: Sequence[dt.datetime], sub_times: Sequence[dt.datetime], limits: Limits, at: dt.datetime,
             prefs: Preferences, jitter: int) -> dt.datetime | None:
    """The first time at or after `at` that keeps the account's and the subreddit's limits and the preferences."""
    tz = ZoneInfo(prefs.timezone)
    end = prefs.start + prefs.horizon
    offset = dt.timedelta(seconds=jitter % 3600)
    while at <= end:
        if not preferred(at, prefs):
            at = _next_local_hour(at, tz) + offset
            continue
        nxt = (_gap_jump(times, at, limits.min_gap) or _gap_jump(sub_times, at, SUBREDDIT_GAP)
               or _window_jump(times, at, limits.per_hour, dt.timedelta(hours=1))
               or _window_jump(times, at, limits.per_day, dt.timedelta(days=1)))
        if nxt is None:
            return at
        at = max(nxt, at + dt.timedelta(seconds=1))
    return None


def plan(wants: Iterable[Want], accounts: Sequence[Account], prefs: Preferences, *,
         subreddit_busy: Mapping[str, Iterable[dt.datetime]] | None = None, now: dt.datetime | None = None) -> Plan:
    """Place every want on an account and a time; the same inputs always give the same plan.

    Nothing is placed before `now`: a start in the past becomes `now`, and every gap and window is kept
    from there (a past start once made every item due at once, posting them back to back).
    """
    out = Plan()
    if not accounts:
        for w in wants:
            out.refused[w.key] = "No active Reddit account is selected for this set."
        return out
    start = _utc(prefs.start) if now is None else max(_utc(prefs.start), _utc(now))
    prefs = Preferences(start, prefs.timezone, prefs.hours or ALL_HOURS, prefs.days or ALL_DAYS, prefs.stagger,
                        prefs.horizon)
    times = {a.id: sorted(_utc(t) for t in a.busy) for a in accounts}
    subs: dict[str, list[dt.datetime]] = {k.lower(): sorted(_utc(t) for t in v) for k, v in (subreddit_busy or {}).items()}
    cursor, turn = start, 0
    for want in wants:
        sub_key = want.subreddit.lower()
        sub_times = subs.setdefault(sub_key, []) if sub_key else []
        first = cursor + dt.timedelta(seconds=want.jitter_seconds)
        best: tuple[dt.datetime, int] | None = None
        for k in range(len(accounts)):
            idx = (turn + k) % len(accounts)
            acc = accounts[idx]
            at = earliest(times[acc.id], sub_times, acc.limits, first, prefs, want.jitter_seconds)
            if at is not None and (best is None or at < best[0]):
                best = (at, idx)
        if best is None:
            days = prefs.horizon.days
            out.refused[want.key] = (f"No time in the next {days} days fits the accounts' limits, r/{want.subreddit}'s "
                                     "one-hour gap and the preferred hours; add accounts or widen the hours.")
            continue
        at, idx = best
        acc = accounts[idx]
        bisect.insort(times[acc.id], at)
        if sub_key:
            bisect.insort(sub_times, at)
        out.slots.append(Slot(want.key, acc.id, at, want.jitter_seconds))
        turn, cursor = idx + 1, at + prefs.stagger
    return out


def conflicts(at: dt.datetime, account_times: Sequence[dt.datetime], sub_times: Sequence[dt.datetime],
              limits: Limits) -> str | None:
    """Why a post at `at` would break a limit (for moving an item by hand), or None."""
    a, s = sorted(_utc(t) for t in account_times), sorted(_utc(t) for t in sub_times)
    at = _utc(at)
    if _gap_jump(a, at, limits.min_gap):
        return f"the account already posts within {int(limits.min_gap.total_seconds() // 60)} minutes of that time"
    if _gap_jump(s, at, SUBREDDIT_GAP):
        return "the subreddit already gets a post within an hour of that time"
    if _window_jump(a, at, limits.per_hour, dt.timedelta(hours=1)):
        return f"the account would post more than {limits.per_hour} times in an hour"
    if _window_jump(a, at, limits.per_day, dt.timedelta(days=1)):
        return f"the account would post more than {limits.per_day} times in a day"
    return None
