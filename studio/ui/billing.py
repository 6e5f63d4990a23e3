"""Billing widgets: the plan table, usage meters against the limits, the month's usage chart."""

from __future__ import annotations

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
        st.error(str(exc))
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
    """Cumulative usage through the month, one panel per metric, with the plan's limit as a red line."""
    if not daily:
        widgets.empty_state("No usage yet this month", "Generating, publishing and previews show up here.")
        return
    limits = {u.metric: u.limit for u in lines}
    month = alt.Scale(domain=[f"{period}-01", period_end(period).isoformat()])
    for metric in Metric:
        days = [d for d in daily if d.metric is metric]
        if not days:
            continue
        df = pl.DataFrame({"day": [d.day for d in days], "amount": [d.amount for d in days]}).sort("day")
        df = df.with_columns(pl.col("amount").cum_sum().alias("used"))
        chart = alt.Chart(df).mark_line(point=True).encode(
            x=alt.X("day:T", title=None, scale=month), y=alt.Y("used:Q", title=LABELS[metric]))
        limit = limits.get(metric)
        if limit is not None:
            rule = alt.Chart(pl.DataFrame({"limit": [limit]})).mark_rule(color="#d62728").encode(y="limit:Q")
            chart = chart + rule
        st.altair_chart(chart.properties(height=160), width="stretch")
