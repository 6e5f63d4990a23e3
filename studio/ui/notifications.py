"""The notifications panel (issue 19 item 5): the sidebar's unread count, the inbox and the member's preferences."""

from __future__ import annotations

import datetime as dt
from typing import Any

import streamlit as st

from studio import notifications
from studio.context import Context
from studio.errors import StudioError
from studio.events import KINDS
from studio.store.session import Store
from studio.ui import widgets

# a notification's link (an app.py url_path) → the page file st.page_link opens
PAGES = {"campaigns": "pages/campaigns.py", "publish": "pages/schedule.py", "data": "pages/data_sources.py",
         "accounts": "pages/accounts.py", "home": "pages/home.py"}
PAGE_NAMES = {"campaigns": "Campaign sets", "publish": "Publish", "data": "Data sources", "accounts": "Reddit accounts",
              "home": "Home"}  # what "Open …" says it opens
ICONS = {"generation.completed": ":material/check_circle:", "generation.failed": ":material/error:",
         "post.published": ":material/send:", "post.failed": ":material/error:", "post.removed": ":material/block:",
         "dataset.refreshed": ":material/sync:", "feed.refresh_failed": ":material/sync_problem:",
         "feed.paused": ":material/pause_circle:", "diff.ready": ":material/difference:",
         "account.reconnect_needed": ":material/link_off:"}


def sidebar_link(store: Store, ctx: Context, where: Any = None) -> None:
    """In the sidebar (or `where`, a sidebar container): Notifications, with the unread count (one indexed count)."""
    if ctx.user_id is None or ctx.workspace_id is None:
        return
    try:
        unread = notifications.unread_count(store, ctx)
    except StudioError:
        return
    label = f"Notifications · {unread:,} unread" if unread else "Notifications"
    (where or st.sidebar).page_link("pages/notifications.py", label=label,
                         icon=":material/notifications_active:" if unread else ":material/notifications:")


def ago(at: dt.datetime, now: dt.datetime | None = None) -> str:
    seconds = ((now or dt.datetime.now(dt.UTC)) - at).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86_400:
        return f"{int(seconds // 3600)} h ago"
    return widgets.fmt_when(at)


def _as_text(text: str) -> str:
    """A title or line holding names people chose, shown by st.markdown as the very text (no link, no image)."""
    return widgets.as_text(text.replace("\n", " "))


def inbox(store: Store, ctx: Context) -> None:
    """The member's notifications, newest first, with mark read / mark all read and a link to the thing."""
    unread = widgets.attempt(lambda: notifications.unread_count(store, ctx)) or 0
    left, right = st.columns([3, 1], vertical_alignment="center")
    only_unread = left.toggle("Unread only", key="notes_unread_only", value=False)
    if right.button("Mark all read", key="notes_all_read", disabled=unread == 0, width="stretch"):
        with widgets.user_errors():
            notifications.mark_all_read(store, ctx)
            st.rerun()
    limit = st.session_state.get("notes_limit", notifications.PAGE_SIZE)
    rows = widgets.attempt(lambda: notifications.inbox(store, ctx, unread_only=only_unread, limit=limit)) or []
    if not rows:
        widgets.empty_state("No unread notifications" if only_unread else "No notifications yet",
                            "Finished and failed runs, posts that failed or were removed, feeds that need a look "
                            "and accounts to reconnect show up here. Choose what reaches you under Preferences.")
        return
    for n in rows:
        with st.container(border=True):
            head, act = st.columns([5, 2], vertical_alignment="top")
            marker = "" if n.read else ":blue[●] "
            head.markdown(f"{marker}**{_as_text(n.title)}**")
            head.caption(f"{KINDS[n.kind].label if n.kind in KINDS else n.kind} · {ago(n.created_at)}")
            if n.body:
                head.markdown(_as_text(n.body if len(n.body) <= 400 else n.body[:399] + "…"))
            page = PAGES.get(n.link)
            if page:
                act.page_link(page, label=f"Open {PAGE_NAMES.get(n.link, 'it')}", icon=ICONS.get(n.kind, ":material/open_in_new:"))
            if not n.read and act.button("Mark read", key=f"note_read_{n.id}"):
                with widgets.user_errors():
                    notifications.mark_read(store, ctx, [n.id])
                    st.rerun()
    if len(rows) >= limit and st.button("Show more", key="notes_more"):
        st.session_state["notes_limit"] = limit + notifications.PAGE_SIZE
        st.rerun()


def preferences(store: Store, ctx: Context, *, mail_on: bool) -> None:
    """Per event kind: in-app and e-mail on or off (saved per workspace)."""
    prefs = widgets.attempt(lambda: notifications.preferences(store, ctx)) or []
    if not mail_on:
        st.caption("E-mail is not set up on this studio yet, so only in-app notifications are sent; the E-mail "
                   "choices below apply once whoever runs the studio sets it up.")
    st.caption("Without a choice of yours, your role decides; events about your own work (a run you started) "
               "reach you as well.")
    with st.form("notification_prefs"):
        header = st.columns([4, 1, 1])
        header[0].markdown("**Event**")
        header[1].markdown("**In-app**")
        header[2].markdown("**E-mail**")
        chosen = {}
        for p in prefs:
            cols = st.columns([4, 1, 1], vertical_alignment="center")
            cols[0].write(p.label + ("" if p.default else " *(your choice)*"))
            in_app = cols[1].checkbox("In-app", value=p.in_app, key=f"pref_app_{p.kind}", label_visibility="collapsed")
            email = cols[2].checkbox("E-mail", value=p.email, key=f"pref_mail_{p.kind}", label_visibility="collapsed")
            chosen[p.kind] = (p, in_app, email)
        save, reset = st.columns(2)
        saved = save.form_submit_button("Save preferences", type="primary", width="stretch")
        cleared = reset.form_submit_button("Back to the defaults", width="stretch")
    if saved:
        with widgets.user_errors():
            changed = 0
            for kind, (p, in_app, email) in chosen.items():
                if (in_app, email) != (p.in_app, p.email):
                    notifications.set_preference(store, ctx, kind, in_app=in_app, email=email)
                    changed += 1
            st.success(f"Saved ({widgets.plural(changed, 'change')}).")
    if cleared:
        with widgets.user_errors():
            notifications.reset_preferences(store, ctx)
            for p in prefs:
                st.session_state.pop(f"pref_app_{p.kind}", None)
                st.session_state.pop(f"pref_mail_{p.kind}", None)
            st.rerun()
