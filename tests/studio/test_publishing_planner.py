"""The planner: no plan ever breaks a limit (property test), plans are stable, accounts rotate, hours are local."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio.publishing import planner
from studio.publishing.planner import Account, Preferences, Want

UTC = dt.UTC
T0 = dt.datetime(2026, 3, 6, 15, 0, tzinfo=UTC)  # a Friday; US DST starts two days later
ZONES = ["UTC", "America/Los_Angeles", "Asia/Kolkata", "Europe/Berlin", "Australia/Lord_Howe"]


def broken_limits(slots: list[planner.Slot], wants: dict[str, Want], accounts: list[Account],
                  sub_busy: dict[str, list[dt.datetime]], prefs: Preferences) -> list[str]:
    """An independent, brute-force check of a plan (pairs and windows, only where a new post takes part)."""
    problems = []
    new = {(s.account_id, s.at) for s in slots}
    tz = ZoneInfo(prefs.timezone)
    for s in slots:
        local = s.at.astimezone(tz)
        if s.at < prefs.start or local.hour not in prefs.hours or local.weekday() not in prefs.days:
            problems.append(f"{s.key} outside the start or preferred hours: {local}")
        if s.at.tzinfo is None or s.at.utcoffset() != dt.timedelta(0):
            problems.append(f"{s.key} not in UTC")
    for acc in accounts:
        times = sorted([(t, False) for t in acc.busy] + [(s.at, True) for s in slots if s.account_id == acc.id])
        lim = acc.limits
        for i, (a, a_new) in enumerate(times):
            for b, b_new in times[i + 1:]:
                if (a_new or b_new) and b - a < lim.min_gap:
                    problems.append(f"{acc.id}: gap {b - a} < {lim.min_gap}")
        for n, width in ((lim.per_hour, dt.timedelta(hours=1)), (lim.per_day, dt.timedelta(days=1))):
            for i in range(len(times) - n):
                group = times[i:i + n + 1]
                if any(g[1] for g in group) and group[-1][0] - group[0][0] < width:
                    problems.append(f"{acc.id}: {n + 1} posts within {width}")
    by_sub: dict[str, list[tuple[dt.datetime, bool]]] = {}
    for sub, ts in sub_busy.items():
        by_sub.setdefault(sub.lower(), []).extend((t, False) for t in ts)
    for s in slots:
        by_sub.setdefault(wants[s.key].subreddit.lower(), []).append((s.at, True))
    for sub, ts in by_sub.items():
        ts.sort()
        for (a, a_new), (b, b_new) in itertools.pairwise(ts):
            if (a_new or b_new) and b - a < planner.SUBREDDIT_GAP:
                problems.append(f"r/{sub}: {b - a} apart")
    assert len(new) == len(slots), "two posts of one account at the very same time"
    return problems


moments = st.integers(min_value=-2 * 24 * 60, max_value=5 * 24 * 60).map(lambda m: T0 + dt.timedelta(minutes=m))


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[Want], list[Account], Preferences, dict[str, list[dt.datetime]]]:
    subs = draw(st.lists(st.sampled_from(["python", "Cooking", "running", "diy"]), min_size=1, max_size=40))
    jitter = draw(st.integers(0, 30 * 60))
    wants = [Want(f"v{i}", sub, planner.jitter_for(f"v{i}", jitter)) for i, sub in enumerate(subs)]
    accounts = [Account(f"a{i}", draw(st.booleans()), tuple(sorted(draw(st.lists(moments, max_size=12)))))
                for i in range(draw(st.integers(1, 4)))]
    hours = frozenset(draw(st.sets(st.integers(0, 23), min_size=1)))
    days = frozenset(draw(st.sets(st.integers(0, 6), min_size=1)))
    prefs = Preferences(T0 + dt.timedelta(minutes=draw(st.integers(0, 600))), draw(st.sampled_from(ZONES)), hours,
                        days, dt.timedelta(minutes=draw(st.integers(0, 45))))
    sub_busy = {"python": sorted(draw(st.lists(moments, max_size=6)))}
    return wants, accounts, prefs, sub_busy


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_no_plan_breaks_a_limit(scenario):
    wants, accounts, prefs, sub_busy = scenario
    plan = planner.plan(wants, accounts, prefs, subreddit_busy=sub_busy)
    assert len(plan.slots) + len(plan.refused) == len(wants)
    assert broken_limits(plan.slots, {w.key: w for w in wants}, accounts, sub_busy, prefs) == []
    again = planner.plan(wants, accounts, prefs, subreddit_busy=sub_busy)
    assert again.slots == plan.slots  # a re-plan of the same inputs is the same plan


def test_the_checker_catches_a_broken_plan():
    wants = {"a": Want("a", "python"), "b": Want("b", "python")}
    slots = [planner.Slot("a", "x", T0, 0), planner.Slot("b", "x", T0 + dt.timedelta(minutes=5), 0)]
    problems = broken_limits(slots, wants, [Account("x")], {}, Preferences(T0))
    assert any("gap" in p for p in problems) and any("r/python" in p for p in problems)


def test_accounts_rotate_and_posts_stagger():
    wants = [Want(f"v{i}", f"sub{i}") for i in range(6)]
    accounts = [Account("a"), Account("b"), Account("c")]
    plan = planner.plan(wants, accounts, Preferences(T0, stagger=dt.timedelta(minutes=4)))
    assert [s.account_id for s in plan.slots] == ["a", "b", "c", "a", "b", "c"]
    assert [s.at - T0 for s in plan.slots][:3] == [dt.timedelta(0), dt.timedelta(minutes=4), dt.timedelta(minutes=8)]
    assert plan.slots[3].at - plan.slots[0].at >= dt.timedelta(minutes=10)  # the account's own minimum gap


def test_default_limits_are_those_of_the_issue():
    assert planner.DEFAULT_LIMITS == planner.Limits(dt.timedelta(minutes=10), 6, 50)
    assert planner.SUBREDDIT_GAP == dt.timedelta(hours=1)
    low = planner.LOW_KARMA_LIMITS
    assert low.min_gap > planner.DEFAULT_LIMITS.min_gap and low.per_hour < 6 and low.per_day < 50


def test_one_account_fifty_a_day_then_the_next_day():
    wants = [Want(f"v{i}", f"s{i}") for i in range(60)]
    plan = planner.plan(wants, [Account("a")], Preferences(T0, stagger=dt.timedelta(0)))
    times = [s.at for s in plan.slots]
    assert times[6] - times[0] >= dt.timedelta(hours=1) and times[50] - times[0] >= dt.timedelta(days=1)


def test_low_karma_accounts_post_less():
    wants = [Want(f"v{i}", f"s{i}") for i in range(4)]
    plan = planner.plan(wants, [Account("new", low_karma=True)], Preferences(T0, stagger=dt.timedelta(0)))
    times = [s.at for s in plan.slots]
    assert times[1] - times[0] == dt.timedelta(minutes=30) and times[2] - times[0] >= dt.timedelta(hours=1)
    assert planner.is_low_karma(50, None, T0) and planner.is_low_karma(5000, T0 - dt.timedelta(days=3), T0)
    assert not planner.is_low_karma(5000, T0 - dt.timedelta(days=400), T0)


@pytest.mark.parametrize("zone", ["America/Los_Angeles", "Asia/Kolkata", "Australia/Lord_Howe"])
def test_preferred_hours_are_local_and_times_are_utc(zone):
    """9–10 am in the set's zone, Mondays only, across the US switch to daylight time (8 March 2026)."""
    wants = [Want(f"v{i}", f"s{i}", planner.jitter_for(f"v{i}", 600)) for i in range(8)]
    prefs = Preferences(T0, zone, frozenset({9}), frozenset({0}), dt.timedelta(minutes=15))
    plan = planner.plan(wants, [Account("a"), Account("b")], prefs)
    assert len(plan.slots) == 8
    for s in plan.slots:
        local = s.at.astimezone(ZoneInfo(zone))
        assert s.at.utcoffset() == dt.timedelta(0) and (local.weekday(), local.hour) == (0, 9), local


def test_jitter_is_recorded_and_reproducible():
    assert planner.jitter_for("set:v1", 300) == planner.jitter_for("set:v1", 300)
    values = {planner.jitter_for(f"set:v{i}", 300) for i in range(50)}
    assert len(values) > 20 and all(0 <= v <= 300 for v in values)
    assert planner.jitter_for("x", 0) == 0
    plan = planner.plan([Want("v", "s", 123)], [Account("a")], Preferences(T0))
    assert plan.slots[0].at == T0 + dt.timedelta(seconds=123) and plan.slots[0].jitter_seconds == 123


def test_refusals_say_why():
    assert "No active Reddit account" in planner.plan([Want("v", "s")], [], Preferences(T0)).refused["v"]
    crowded = [Want(f"v{i}", "same") for i in range(3)]
    short = Preferences(T0, horizon=dt.timedelta(hours=1, minutes=30))
    plan = planner.plan(crowded, [Account("a"), Account("b")], short)
    assert len(plan.slots) == 2 and "r/same" in plan.refused["v2"]


@pytest.mark.parametrize(("offset_min", "expected"), [
    (5, "within 10 minutes"), (45, "subreddit already gets a post"), (180, None)])
def test_conflicts_explain_a_bad_move(offset_min, expected):
    why = planner.conflicts(T0 + dt.timedelta(minutes=offset_min), [T0], [T0], planner.DEFAULT_LIMITS)
    assert (why is None) if expected is None else (expected in why)


def test_the_planner_and_checks_pass_under_another_local_time_zone():
    """Nothing depends on the machine's zone: the same tests in a process running on Los Angeles time."""
    root = Path(__file__).resolve().parents[2]
    files = ["tests/studio/test_publishing_planner.py", "tests/studio/test_publishing_checks.py"]
    env = {**os.environ, "TZ": "America/Los_Angeles", "PYTHONPATH": str(root)}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *files,
                           "-k", "not another_local_time_zone", "--hypothesis-seed=1"],
                          check=False, cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "[100%]" in done.stdout and "F" not in done.stdout.split("[")[0]
