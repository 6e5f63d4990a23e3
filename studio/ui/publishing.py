"""Publishing widgets: the options form, the week / month calendar, the queue table, item actions, engagement."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

import altair as alt
import streamlit as st

from studio.publishing import metrics, queue
from studio.publishing.accounts import AccountInfo
from studio.publishing.outbox import LABELS
from studio.publishing.schedule import PlannedItem, PublishOptions
from studio.ui import widgets

COLORS = {"Planned": "#9aa5b1", "Scheduled": "#4c78a8", "Submitting": "#f2a93b", "Posted": "#54a24b",
          "Checking": "#b279a2", "Retry later": "#eeca3b", "Failed": "#e45756", "Cancelled": "#bab0ac"}
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
ZONES = sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))


def short(text: str, n: int = 70) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def local(at: dt.datetime, tz: str) -> dt.datetime:
    return at.astimezone(ZoneInfo(tz))


def to_utc(day: dt.date, time: dt.time, tz: str) -> dt.datetime:
    return dt.datetime.combine(day, time, ZoneInfo(tz)).astimezone(dt.UTC)


def options_form(saved: PublishOptions, usable: Sequence[AccountInfo], columns: Sequence[str],
                 key: str, fmt: str = "thread") -> PublishOptions:
    """The publish settings of one set (accounts, zone, hours, days, pacing; flair and a comment for threads)."""
    names = {str(a.id): f"u/{a.username}" + (" · low karma: stricter limits" if a.low_karma else "") for a in usable}
    chosen = st.multiselect("Accounts (posts rotate across them)", list(names), format_func=names.__getitem__,
                            default=[a for a in saved.account_ids if a in names] or list(names)[:1], key=f"{key}_acc")
    a, b = st.columns(2)
    tz = a.selectbox("Time zone of the set", ZONES, index=ZONES.index(saved.timezone) if saved.timezone in ZONES
                     else ZONES.index("Europe/London"), key=f"{key}_tz")
    start_day = b.date_input("Start on", value=dt.datetime.now(ZoneInfo(tz)).date(), key=f"{key}_day")
    hours = a.multiselect("Preferred hours", list(range(24)), default=saved.hours, format_func=lambda h: f"{h:02d}:00",
                          key=f"{key}_hours")
    days = b.multiselect("Preferred days", list(range(7)), default=saved.days, format_func=DAYS.__getitem__,
                         key=f"{key}_days")
    c, d, e = st.columns(3)
    stagger = c.number_input("Minutes between posts", 0, 1440, saved.stagger_minutes, key=f"{key}_stagger")
    jitter = d.number_input("Random jitter (minutes)", 0, 30, saved.jitter_minutes, key=f"{key}_jitter")
    flair, comment, delay = saved.flair_column or "(none)", saved.comment_template, saved.comment_delay_minutes
    if fmt == "thread":
        flair_options = ["(none)", *columns]
        flair = e.selectbox("Flair column", flair_options, index=flair_options.index(saved.flair_column)
                            if saved.flair_column in flair_options else 0, key=f"{key}_flair")
        comment = st.text_area("Comment posted under each thread (optional template, e.g. {{ product_name }})",
                               value=saved.comment_template, key=f"{key}_comment", height=80)
        delay = st.number_input("…after this many minutes", 0, 7 * 1440, saved.comment_delay_minutes,
                                key=f"{key}_delay")
    else:
        st.caption("Each comment replies to its row's **parent**: a Reddit thread or comment (`t3_…`, `t1_…` or a "
                   "link), or another row of this set (`row 3`) for a reply chain — a reply goes out only after "
                   "its parent is posted, under it.")
    today = dt.datetime.now(ZoneInfo(tz)).date()
    start = "" if start_day <= today else to_utc(start_day, dt.time(0), tz).isoformat()  # "": from five minutes on
    return PublishOptions(account_ids=list(chosen), timezone=tz, hours=sorted(hours), days=sorted(days),
                          start_at=start, stagger_minutes=int(stagger), jitter_minutes=int(jitter),
                          flair_column="" if flair == "(none)" else flair, comment_template=comment,
                          comment_delay_minutes=int(delay))


def _records(rows: Sequence[queue.QueueRow | PlannedItem], tz: str) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        is_row = isinstance(r, queue.QueueRow)
        when = local(r.at, tz)
        out.append({"day": when.date().isoformat(), "hour": when.hour + when.minute / 60, "time": when.strftime("%H:%M"),
                    "state": LABELS[r.state] if is_row else "Planned", "title": short(r.title, 60),
                    "subreddit": f"r/{r.subreddit}" if r.subreddit else "(reply)", "account": f"u/{r.account}",
                    "reason": short(r.reason, 90) if is_row else "", "kind": r.kind})
    return out


def calendar(rows: Sequence[queue.QueueRow | PlannedItem], tz: str, view: str, anchor: dt.date) -> None:
    """Week: every item at its local time of day. Month: items per day, stacked by state."""
    if view == "Week":
        first = anchor - dt.timedelta(days=anchor.weekday())
        last = first + dt.timedelta(days=7)
    else:
        first = anchor.replace(day=1)
        last = (first + dt.timedelta(days=32)).replace(day=1)
    data = [r for r in _records(rows, tz) if first.isoformat() <= r["day"] < last.isoformat()]
    period = f"Week of {first:%d %b %Y}" if view == "Week" else f"{first:%B %Y}"
    st.caption(f"{period} · times in {tz} · {widgets.plural(len(data), 'item')}")
    if not data:
        widgets.empty_state("Nothing in this period", "Pick another week or month, or plan a set.")
        return
    color = alt.Color("state:N", scale=alt.Scale(domain=list(COLORS), range=list(COLORS.values())),
                      legend=alt.Legend(title="State", orient="bottom"))
    tooltip = ["day:N", "time:N", "state:N", "title:N", "subreddit:N", "account:N", "reason:N"]
    days = [(first + dt.timedelta(days=i)).isoformat() for i in range((last - first).days)]
    x = alt.X("day:O", scale=alt.Scale(domain=days), title=None,
              axis=alt.Axis(labelExpr="timeFormat(toDate(datum.value + 'T00:00'), '%a %d')", labelAngle=0))
    if view == "Week":
        chart = alt.Chart(alt.Data(values=data)).mark_circle(size=140, opacity=0.85).encode(
            x=x, y=alt.Y("hour:Q", scale=alt.Scale(domain=[24, 0]), title="Local time", axis=alt.Axis(tickCount=12)),
            color=color, tooltip=tooltip)
    else:
        x = alt.X("day:O", scale=alt.Scale(domain=days), title=None,
                  axis=alt.Axis(labelExpr="timeFormat(toDate(datum.value + 'T00:00'), '%d')", labelAngle=0))
        chart = alt.Chart(alt.Data(values=data)).mark_bar().encode(
            x=x, y=alt.Y("count():Q", title="Items"), color=color, tooltip=["day:N", "state:N", "count():Q"])
    st.altair_chart(chart.properties(height=320), width="stretch")


def _flags(item: PlannedItem) -> str:
    f = item.flags
    return ", ".join(n for n, on in (("NSFW", f.nsfw), ("spoiler", f.spoiler), ("no inbox replies", not f.send_replies))
                     if on)


def plan_table(items: Sequence[PlannedItem], tz: str) -> None:
    """What committing would schedule, item by item: when, where, from which account, with which flags."""
    st.dataframe([{"When": local(p.at, tz).strftime("%a %d %b %H:%M"), "Kind": "reply" if p.parent_key else p.kind,
                   "Title": short(p.title or p.body), "Subreddit": f"r/{p.subreddit}" if p.subreddit else "(reply)",
                   "Account": f"u/{p.account}", "Flair": p.flair_text, "Flags": _flags(p)}
                  for p in sorted(items, key=lambda p: p.at)], hide_index=True, width="stretch")


def queue_table(rows: Sequence[queue.QueueRow], tz: str) -> None:
    st.dataframe([{"When": local(r.at, tz).strftime("%a %d %b %H:%M"), "State": LABELS[r.state],
                   "Title": short(r.title), "Subreddit": f"r/{r.subreddit}" if r.subreddit else "(reply)",
                   "Account": f"u/{r.account}", "Tries": r.attempts, "Reason": short(r.reason, 120),
                   "Link": _reddit_link(r.reddit_url)} for r in rows],
                 hide_index=True, width="stretch",
                 column_config={"Link": st.column_config.LinkColumn("Link", display_text="open")})


def _reddit_link(url: str | None) -> str | None:
    """The post on Reddit: its permalink (/r/…/comments/…) on reddit.com; any other scheme than https is no link."""
    url = url or ""
    if url.startswith("/"):
        return "https://www.reddit.com" + url
    return url if url.startswith("https://") else None


def item_actions(store: Any, ctx: Any, rows: Sequence[queue.QueueRow], tz: str) -> None:
    """Pick one item: publish now, move, cancel, retry, and its history."""
    pick = st.selectbox("Item", range(len(rows)), key="pq_item", format_func=lambda i: (
        f"{local(rows[i].at, tz):%d %b %H:%M} · {LABELS[rows[i].state]} · {short(rows[i].title, 60)}"))
    row = rows[pick]
    item_id: uuid.UUID = row.id
    a, b, c, d = st.columns(4)
    if a.button("Publish now", key="pq_now", disabled=row.state not in ("scheduled", "retry_later")):
        with widgets.user_errors():
            queue.publish_now(store, ctx, item_id)
            st.rerun()
    if b.button("Cancel", key="pq_cancel", disabled=row.state not in ("scheduled", "retry_later", "failed")):
        with widgets.user_errors():
            queue.cancel(store, ctx, item_id)
            st.rerun()
    if c.button("Retry", key="pq_retry", disabled=row.state != "failed"):
        with widgets.user_errors():
            queue.retry(store, ctx, item_id)
            st.rerun()
    with d.popover("Move", disabled=row.state not in ("scheduled", "retry_later")):
        when = local(row.at, tz)
        day = st.date_input("Day", value=when.date(), key="pq_move_day")
        time = st.time_input("Time", value=when.time().replace(second=0, microsecond=0), key="pq_move_time")
        if st.button("Move here", key="pq_move"):
            with widgets.user_errors():
                queue.move(store, ctx, item_id, to_utc(day, time, tz))
                st.rerun()
    if row.reason:
        (st.error if row.state == "failed" else st.info)(widgets.as_message(row.reason))
    with st.expander("History"):
        for e in queue.history(store, ctx, item_id):
            st.caption(f"{local(e.at, tz):%d %b %H:%M:%S} · {LABELS.get(e.from_state, '—')} → "
                       f"{LABELS[e.to_state]} · {widgets.as_message(short(e.detail, 160))}")


def engagement(rows: list[metrics.MetricRow]) -> None:
    """Score over time (the ten best items), averages per subreddit, removed posts, CSV export."""
    if not rows:
        widgets.empty_state("No engagement of posts yet", "Score and comments of every posted item are read every "
                            "hour. Reddit Ads results (impressions, clicks, spend) show here once a synced set runs.")
        return
    latest = metrics.latest(rows)
    k1, k2, k3 = st.columns(3)
    k1.metric("Posted items read", widgets.fmt_int(len(latest)))
    k2.metric("Total score", widgets.fmt_int(sum(r.score for r in latest)))
    k3.metric("Removed", widgets.fmt_int(sum(r.removed for r in latest)))
    top = {r.item_id for r in latest[:10]}
    series = [{"at": r.at.isoformat(), "score": r.score, "item": short(r.title, 40)} for r in rows if r.item_id in top]
    st.altair_chart(alt.Chart(alt.Data(values=series)).mark_line(point=True).encode(
        x=alt.X("at:T", title=None), y=alt.Y("score:Q", title="Score"), color=alt.Color("item:N", title="Item")),
        width="stretch")
    per_sub: dict[str, list[metrics.MetricRow]] = {}
    for r in latest:
        per_sub.setdefault(r.subreddit or "(replies)", []).append(r)
    bars = [{"subreddit": f"r/{k}", "average score": sum(x.score for x in v) / len(v), "items": len(v)}
            for k, v in per_sub.items()]
    st.altair_chart(alt.Chart(alt.Data(values=bars)).mark_bar().encode(
        x=alt.X("average score:Q"), y=alt.Y("subreddit:N", sort="-x", title=None), tooltip=["items:Q"]),
        width="stretch")
    st.dataframe([{"Title": short(r.title), "Subreddit": r.subreddit, "Score": r.score,
                   "Upvote ratio": f"{r.upvote_ratio:.0%}", "Comments": r.num_comments,
                   "Removed": "removed" if r.removed else ""} for r in latest], hide_index=True,
                 width="stretch")
    st.download_button("Download CSV", metrics.to_csv(rows), "engagement.csv", "text/csv", key="pe_csv")
