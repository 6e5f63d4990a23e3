"""Billing widgets: the plan table, usage meters against the limits, the month's usage chart."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import altair as alt
import polars as pl
import streamlit as st

from studio.billing.plans import PLANS, Metric, Plan
from studio.billing.subscriptions import BillingOverview, UsageLine
from studio.billing.usage import DailyUsage, period_end
from studio.errors import PermissionDenied, StudioError
from studio.ui import widgets

LABELS = {Metric.VARIATIONS: "Variations generated", Metric.PUBLISHES: "Posts published",
          Metric.API_CALLS: "Preview / API calls"}
STATUS = {"active": "active", "trialing": "trial", "past_due": "payment overdue", "canceled": "cancelled",
          "unpaid": "unpaid", "incomplete": "waiting for payment", "incomplete_expired": "expired"}


def load_overview(load: Callable[[], BillingOverview]) -> BillingOverview:
    """Run the service; members and viewers get a clear message instead of the page."""
    try:
        return load()
    except PermissionDenied:
        st.info("**Only owners and admins can see billing and usage.**  \n"
                "Ask an owner or admin of this workspace if you need a bigger plan.")
        st.stop()
    except StudioError as exc:
        st.error(widgets.as_message(str(exc)))
        st.stop()
    raise AssertionError("unreachable")  # st.stop() ends the run


def status_label(view: BillingOverview) -> str:
    if view.status:
        return STATUS.get(view.status, view.status)
    return "free trial" if view.plan.key == "free" else "none"


def limit_text(n: int | None) -> str:
    return "unlimited" if n is None else widgets.fmt_int(n)


def plan_table(current: Plan) -> None:
    rows = [{
        "Plan": p.name + (" (yours)" if p == current else ""), "Price": p.price_label,
        **{LABELS[m]: limit_text(p.limit(m)) for m in Metric}, "Members": limit_text(p.members),
    } for p in PLANS.values()]
    st.dataframe(pl.DataFrame(rows), hide_index=True, width="stretch")


def usage_meter(line: UsageLine) -> None:
    """One metric: used of limit, a bar, and a warning from 80%."""
    label = LABELS[line.metric]
    if line.limit is None:
        st.markdown(f"**{label}**: {widgets.fmt_int(line.used)} (no limit)")
        return
    share = line.share or 0.0
    st.markdown(f"**{label}**: {widgets.fmt_int(line.used)} of {widgets.fmt_int(line.limit)} ({share:.0%})")
    st.progress(min(share, 1.0))
    if share >= 1:
        st.error(f"The monthly allowance of {label.lower()} is used up. Upgrade the plan, or wait for next month.")
    elif line.warn:
        st.warning(f"{share:.0%} of this month's {label.lower()} are used.")


def usage_chart(daily: list[DailyUsage], lines: tuple[UsageLine, ...], period: str) -> None:
    """Cumulative usage through the month as a step line from the 1st to today (days without usage count
    too, so one busy day is a line, not a dot), one panel per metric on the same time axis, the plan's limit
    as a red rule. Every panel reserves the same room for its y axis, so the days line up."""
    if not daily:
        widgets.empty_state("No usage yet this month", "Generating, publishing and previews show up here.")
        return
    limits = {u.metric: u.limit for u in lines}
    start, end = dt.date.fromisoformat(f"{period}-01"), period_end(period)
    last = max(min(dt.datetime.now(dt.UTC).date(), end - dt.timedelta(days=1)), max(d.day for d in daily), start)
    days = pl.date_range(start, last, "1d", eager=True).alias("day")
    month = alt.Scale(domain=[start.isoformat(), (end - dt.timedelta(days=1)).isoformat()])
    for metric in Metric:
        used = [d for d in daily if d.metric is metric]
        if not used:
            continue
        amounts = pl.DataFrame({"day": [d.day for d in used], "amount": [d.amount for d in used]}) \
            .group_by("day").agg(pl.col("amount").sum())
        df = days.to_frame().join(amounts, on="day", how="left").fill_null(0).sort("day") \
            .with_columns(pl.col("amount").cum_sum().alias("used"))
        line = alt.Chart(df).mark_line(interpolate="step-after", point=alt.OverlayMarkDef(size=18)).encode(
            x=alt.X("day:T", title=None, scale=month, axis=alt.Axis(format="%d %b", labelOverlap=True)),
            y=alt.Y("used:Q", title=None, axis=alt.Axis(minExtent=64, format=",d", tickMinStep=1)),
            tooltip=[alt.Tooltip("day:T", format="%d %b"), alt.Tooltip("amount:Q", title="that day", format=","),
                     alt.Tooltip("used:Q", title="this month", format=",")])
        chart: alt.Chart | alt.LayerChart = line
        limit = limits.get(metric)
        if limit is not None:
            rule = alt.Chart(pl.DataFrame({"limit": [limit]})).mark_rule(color="#d62728", strokeDash=[4, 3]) \
                .encode(y="limit:Q", tooltip=[alt.Tooltip("limit:Q", title="plan limit", format=",")])
            chart = line + rule
        title = f"{LABELS[metric]} · {widgets.fmt_int(int(df['used'][-1]))}" + \
            (f" of {widgets.fmt_int(limit)}" if limit is not None else "")
        st.altair_chart(chart.properties(height=150, title=alt.TitleParams(title, anchor="start", fontSize=13)),
                        width="stretch")
