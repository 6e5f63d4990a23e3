"""Reddit Ads on screen: connections (Accounts page) and a link-ad set's sync, status, conflicts and performance."""

from __future__ import annotations

from typing import Any

import streamlit as st

from studio.reddit_ads import connections, performance, service
from studio.ui import fragments, widgets
from studio.ui.template_editor import plain

STATES = {"synced": ":green[synced]", "pending": ":gray[pending]", "conflict": ":red[conflict]",
          "failed": ":red[refused]",
          "needs_approval": ":orange[budget change waits for an approver]", "removed": ":gray[paused: no longer approved]", "detached": ":orange[kept Reddit's]"}
SYNC_STATES = {"queued": ":gray[queued]", "running": ":blue[syncing…]", "waiting": ":orange[waiting for Reddit's rate "
               "limit]", "done": ":green[done]", "failed": ":red[finished with refusals]",
               "reconnect": ":red[reconnect needed]"}


def finish_callback(store: Any, ctx: Any, params: Any) -> bool:
    """The OAuth callback of an ads connection (its state starts with 'ads.'); True when it was one."""
    if not connections.is_ads_state(params.get("state", "")):
        return False
    if "error" in params:
        st.error(f"Reddit did not grant access to the ads account ({widgets.as_text(str(params['error']))}). "
                 "Nothing was connected.")
    elif not params.get("code"):
        st.error("This sign-in link has no authorization code from Reddit. Nothing was connected: start again with "
                 "'Connect Reddit Ads'.")
    else:
        with widgets.user_errors():
            info = connections.finish_oauth(store, ctx, params["state"], params["code"])
            st.success(f"Connected Reddit Ads as u/{widgets.as_text(info.username)}. Pick the ad account to sync into below.")
    return True


def connections_section(store: Any, ctx: Any, can_configure: bool, sign_in: bool = True) -> None:
    """`sign_in`: the studio has a Reddit web app; without one, owners read that instead of a button that can only fail."""
    st.subheader("Reddit Ads")
    rows = widgets.attempt(lambda: connections.list_connections(store, ctx)) or []
    if not rows:
        st.caption("Connect a Reddit Ads account to push approved link-ad sets to Reddit as campaigns (paused until you go live), "
                   "keep them in sync and bring clicks and spend back.")
    for c in rows:
        with st.container(border=True):
            badge = ":green[ready]" if c.ready else (":red[reconnect needed]" if c.status != "active"
                                                     else ":orange[pick an ad account]")
            st.markdown(f"**u/{widgets.as_text(c.username)}** · {badge}"
                        + (f"  \nSyncs into **{widgets.as_text(c.ad_account_name or '')}**" if c.ad_account_id else "")
                        + (f" · spends {c.currency}" if c.ad_account_id and c.currency else ""))
            if c.status_reason:
                st.caption(widgets.as_message(c.status_reason))
            if can_configure and c.status == "active":
                _picker(store, ctx, c)
    if not can_configure:
        if not rows:
            st.caption("Owners and admins connect Reddit Ads; ask one of them when you need it.")
        return
    if not sign_in and not rows:
        st.info("**Reddit sign-in is not enabled on this studio yet.**  \nReddit Ads connects through the same Reddit "
                "web app (see *How to enable it* above); once it is set up, Connect Reddit Ads appears here.")
        return
    if st.button("Connect Reddit Ads", key="ads_oauth"):
        with widgets.user_errors():
            st.session_state["ads_oauth_url"] = connections.start_oauth(store, ctx)
    if url := st.session_state.get("ads_oauth_url"):
        st.link_button("Continue on Reddit →", url)
        st.caption("Reddit asks you to allow: adsread, adsedit, history and read, permanently (until you revoke it).")


def _picker(store: Any, ctx: Any, c: connections.ConnectionInfo) -> None:
    with st.expander("Ad account, funding and profile", expanded=not c.ready):
        found = widgets.attempt(lambda: connections.choices(store, ctx, c.id))
        if found is None:
            return
        if not found.ad_accounts:
            st.warning("This Reddit login manages no ad account. Create one in Reddit Ads Manager, then reload.")
            return
        names = {a["id"]: f"{a.get('name') or a['id']} ({a.get('business_name', '')})" for a in found.ad_accounts}
        ids = list(names)
        account = st.selectbox("Ad account", ids, format_func=names.__getitem__, key=f"ads_acct_{c.id}",
                               index=ids.index(c.ad_account_id) if c.ad_account_id in ids else 0)
        funding = {f["id"]: f.get("name") or f["id"] for f in found.funding_instruments.get(account, [])}
        profiles = {p["id"]: p.get("name") or p["id"] for p in found.profiles.get(account, [])}
        fi = st.selectbox("Funding instrument", list(funding) or [""], format_func=lambda k: funding.get(k, "none"),
                          key=f"ads_fi_{c.id}")
        profile = st.selectbox("Profile the ads post as", list(profiles) or [""],
                               format_func=lambda k: profiles.get(k, "none"), key=f"ads_prof_{c.id}")
        if st.button("Use these", key=f"ads_pick_{c.id}"):
            with widgets.user_errors():
                connections.pick(store, ctx, c.id, ad_account_id=account, funding_instrument_id=fi, profile_id=profile)
                st.rerun()


@fragments.part
def set_panel(store: Any, ctx: Any, cs: Any) -> None:
    """A link-ad set on Reddit Ads: sync (paused or live), the latest sync, the tree with pause/resume,
    conflicts to resolve, and per-ad performance."""
    st.subheader("Reddit Ads")
    ready = [c for c in (widgets.attempt(lambda: connections.list_connections(store, ctx)) or []) if c.ready]
    if not ready:
        st.info("Connect a Reddit Ads account to push this set's approved ads to Reddit.")
        widgets.page_link("pages/accounts.py", label="Connect it on Reddit accounts", icon=":material/manage_accounts:")
        return
    names = {c.id: f"{c.ad_account_name} (u/{c.username})" for c in ready}
    conn_id = st.selectbox("Ad account", list(names), format_func=names.__getitem__, key="ads_set_conn")
    enqueue = service.background(store.settings, ctx.workspace_id)
    a, b, _ = st.columns([1, 1, 2])
    if a.button("Sync (new ads paused)", key="ads_sync"):
        with widgets.user_errors():
            service.request_sync(store, ctx, cs.id, conn_id, enqueue=enqueue)
            st.rerun()
    if b.button("Sync and go live", key="ads_live", help="New campaigns, ad groups and ads start ACTIVE and spend "
                "money; needs a member who may approve."):
        with widgets.user_errors():
            service.request_sync(store, ctx, cs.id, conn_id, go_live=True, enqueue=enqueue)
            st.rerun()
    state = widgets.attempt(lambda: service.set_state(store, ctx, cs.id, conn_id))
    if state is None:
        return
    if state.syncs:
        last = state.syncs[0]
        made = last.counts.get("created", {})
        st.markdown(f"Last sync: {SYNC_STATES.get(last.status, last.status)} · {widgets.fmt_when(last.created_at)}"
                    + (f" · created {made.get('campaign', 0)} campaigns, {made.get('ad_group', 0)} ad groups, "
                       f"{made.get('ad', 0)} ads · {last.counts.get('writes', 0)} writes" if last.counts else ""))
        if last.error:
            st.caption(widgets.as_message(last.error))
    else:
        st.caption("Not synced yet. Only approved variations sync; new entities start paused unless you go live.")
    if state.by_kind:
        counts = {kind: ", ".join(f"{n} {STATES.get(s, s)}" for s, n in sorted(state.by_kind[kind].items()))
                  for kind in ("campaign", "ad_group", "post", "ad") if kind in state.by_kind}
        st.markdown("  \n".join(f"**{k.replace('_', ' ')}s**: {v}" for k, v in counts.items()))
    _tree(store, ctx, cs, conn_id, state.tree, enqueue)
    _conflicts(store, ctx, state.conflicts + state.failed)
    _performance(store, ctx, cs)


def _tree(store: Any, ctx: Any, cs: Any, conn_id: Any, tree: list[dict[str, Any]], enqueue: Any) -> None:
    if not tree:
        return
    left, right, _ = st.columns([1, 1, 3])
    for col, paused, label in ((left, True, "Pause the whole set"), (right, False, "Resume the whole set")):
        if col.button(label, key=f"ads_all_{paused}"):
            with widgets.user_errors():
                n = service.set_paused(store, ctx, cs.id, conn_id, paused=paused, enqueue=enqueue)
                st.toast(f"{'Pausing' if paused else 'Resuming'} {n} campaigns, ad groups and ads on Reddit…")
                st.rerun()
    with st.expander(f"Campaigns on Reddit ({len(tree)})", expanded=len(tree) <= 3):
        for c in tree[:50]:
            row = st.columns([4, 1])
            row[0].markdown(f"**{plain(c['name'])}** · {'paused' if c['paused'] else ':green[active]'} · "
                            f"{len(c['ad_groups'])} ad groups")
            label = "Resume" if c["paused"] else "Pause"
            if row[1].button(label, key=f"ads_p_{c['key']}"):
                with widgets.user_errors():
                    service.set_paused(store, ctx, cs.id, conn_id, paused=not c["paused"], key=c["key"], enqueue=enqueue)
                    st.rerun()
            for g in c["ad_groups"][:20]:
                st.caption(f"↳ {plain(g['name'])} · {'paused' if g['paused'] else 'active'} · {STATES.get(g['state'], g['state'])}")


def _conflicts(store: Any, ctx: Any, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    st.warning(f"{len(rows)} entit{'ies need' if len(rows) != 1 else 'y needs'} a decision")
    for r in rows[:30]:
        left, mid, right = st.columns([4, 1, 1])
        left.markdown(f"{STATES.get(r['state'], r['state'])} {plain(r['message'])}")
        if r["state"] != "conflict":
            continue
        if mid.button("Keep studio's", key=f"ads_ks_{r['id']}"):
            with widgets.user_errors():
                service.resolve_conflict(store, ctx, r["id"], keep="studio")
                st.rerun()
        if right.button("Keep Reddit's", key=f"ads_kr_{r['id']}"):
            with widgets.user_errors():
                service.resolve_conflict(store, ctx, r["id"], keep="reddit")
                st.rerun()


def _performance(store: Any, ctx: Any, cs: Any) -> None:
    st.markdown("**Performance**")
    rows = widgets.attempt(lambda: performance.performance(store, ctx, cs.id)) or []
    if not rows:
        st.caption("No figures yet: Reddit's impressions, clicks and spend of this set's ads appear here once it "
                   "reports them (pulled every hour).")
        return
    st.caption(f"All synced days · {widgets.plural(len(rows), 'ad')}, best click-through first.")
    figures(rows, "Ad", [p.name for p in rows])
    data = widgets.attempt(lambda: performance.performance_csv(store, ctx, cs.id))
    if data is not None:
        st.download_button("Download performance (CSV)", data, file_name=f"{cs.name} - reddit ads.csv", on_click="ignore")


def _currency(rows: list[Any]) -> str | None:
    """The one currency of these figures ("" unknown), None when they mix currencies (then no total is added up)."""
    codes = {r.currency for r in rows}
    return next(iter(codes)) if len(codes) == 1 else None


def figures(rows: list[Any], first: str, names: list[str]) -> None:
    """Per-ad or per-set figures: counts with thousands separators, money in the ad account's currency (2 decimals),
    CTR in percent; numbers stay numbers so the columns sort."""
    currency = _currency(rows)
    money = performance.money_format(currency or "")
    st.dataframe([{first: name, "Impressions": r.impressions, "Clicks": r.clicks, "CTR": r.ctr * 100, "Spend": r.spend,
                   "CPC": r.cpc, "CPM": r.cpm, "Conversions": r.conversions,
                   **({"Currency": r.currency} if currency is None else {})} for name, r in zip(names, rows, strict=True)],
                 hide_index=True, width="stretch",
                 column_config={
                     first: st.column_config.TextColumn(first, width="medium"),
                     **{c: st.column_config.NumberColumn(c, format="%,d") for c in ("Impressions", "Clicks", "Conversions")},
                     "CTR": st.column_config.NumberColumn("CTR", format="%.2f%%", help="Clicks per impression"),
                     "Spend": st.column_config.NumberColumn("Spend", format=money),
                     "CPC": st.column_config.NumberColumn("CPC", format=money, help="Cost per click: spend ÷ clicks"),
                     "CPM": st.column_config.NumberColumn("CPM", format=money, help="Cost per 1,000 impressions"),
                 })
    if currency == "":
        st.caption("Money in the ad account's currency.")


def engagement(store: Any, ctx: Any) -> bool:
    """Paid results beside the organic engagement (Publish → Engagement): totals, clicks per day, per set.
    False when there are none yet."""
    rows = widgets.attempt(lambda: performance.by_set(store, ctx)) or []
    if not rows:
        return False
    import altair as alt

    st.subheader("Reddit Ads (paid)")
    k1, k2, k3, k4 = st.columns(4)
    imp, clicks, spend = sum(r.impressions for r in rows), sum(r.clicks for r in rows), sum(r.spend for r in rows)
    currency = _currency(rows)
    k1.metric("Impressions", widgets.fmt_int(imp))
    k2.metric("Clicks", widgets.fmt_int(clicks))
    k3.metric("CTR", f"{clicks / imp:.2%}" if imp else "–")
    k4.metric("Spend", "–" if currency is None else performance.money(spend, currency),
              help="Sets spend in different currencies: see each set below." if currency is None else
              "In the ad account's currency." if not currency else None)
    series = [{"day": d.isoformat(), "clicks": c, "set": r.set_name} for r in rows for d, _, c, _ in r.daily]
    st.altair_chart(alt.Chart(alt.Data(values=series)).mark_line(point=True).encode(
        x=alt.X("day:T", title=None), y=alt.Y("clicks:Q", title="Clicks"), color=alt.Color("set:N", title="Set")),
        width="stretch")
    figures(rows, "Set", [r.set_name for r in rows])
    return True
