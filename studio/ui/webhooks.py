"""Settings → Webhooks & Slack (issue 20 item 3, issue 19 item 5): endpoints, secrets shown once, test sends,
rotation, the delivery log with replay, and the workspace's Slack-compatible URL."""

from __future__ import annotations

import uuid

import streamlit as st

from studio import deliveries, webhooks
from studio.context import Context
from studio.events import KINDS, WEBHOOK_KINDS
from studio.store.session import Store
from studio.ui import widgets

STATE_LABELS = {"pending": "retrying", "delivering": "sending", "succeeded": "delivered", "failed": "gave up"}
SHOWN_SECRET = "webhook_secret_once"


def _label(kind: str) -> str:
    return f"{kind} — {KINDS[kind].label}" if kind in KINDS else kind


def _plain_label(kind: str) -> str:
    """Slack lines are for people: the event as they read it, without the name a webhook receiver matches on."""
    return KINDS[kind].label if kind in KINDS else kind


def _result(result: deliveries.TryResult) -> None:
    o = result.outcome
    if o.ok:
        st.success(f"Delivered{f' (HTTP {o.status})' if o.status else ''} in {o.latency_ms:,} ms.")
    else:
        st.error(f"Not delivered: {widgets.as_text(o.error) or f'HTTP {o.status}'}")


def show_secret_once() -> None:
    """The secret of an endpoint just made or rotated; gone from the screen (and the session) when dismissed."""
    shown = st.session_state.get(SHOWN_SECRET)
    if not shown:
        return
    host, secret = shown
    with st.container(border=True):
        st.warning(f"**Signing secret for {widgets.as_text(host)}** — copy it now; it is not shown again (rotate to get a new one).")
        st.code(secret, language=None)
        st.caption("Verify each request: HMAC-SHA256 with this secret over `t.body`, where `t` is the timestamp in "
                   "the `Dotoro-Signature: t=…,v1=…` header; compare with any `v1` and refuse timestamps older "
                   "than 5 minutes.")
        if st.button("I have copied it", key="webhook_secret_done"):
            st.session_state.pop(SHOWN_SECRET, None)
            st.rerun()


def add_form(store: Store, ctx: Context) -> None:
    with st.form("webhook_add", clear_on_submit=True):
        url = st.text_input("Endpoint URL", placeholder="https://example.com/hooks/dotoro",
                            help="An https address on the internet; private and local addresses are refused.")
        description = st.text_input("Description (optional)", placeholder="n8n: post results to the CRM")
        kinds = st.multiselect("Events", list(WEBHOOK_KINDS), default=["generation.completed", "generation.failed"],
                               format_func=_label)
        if st.form_submit_button("Add endpoint", type="primary"):
            with widgets.user_errors():
                _, secret = webhooks.create_endpoint(store, ctx, url, kinds, description=description)
                st.session_state[SHOWN_SECRET] = (url.split("//")[-1].split("/")[0], secret)
                st.rerun()


def endpoint_list(store: Store, ctx: Context) -> None:
    endpoints = widgets.attempt(lambda: webhooks.list_endpoints(store, ctx)) or []
    if not endpoints:
        widgets.empty_state("No webhook endpoints yet",
                            "Add one above to have runs, posts, feed versions and diffs POSTed, signed, to n8n, "
                            "Zapier or your own service.")
        return
    for e in endpoints:
        status = "enabled" if e.enabled else "disabled"
        health = f" · {e.failing:,} failing" if e.failing else ""
        with st.expander(f"{widgets.as_text(e.host)} · {status} · {e.delivered:,} delivered{health}",
                         expanded=len(endpoints) == 1):
            if e.description:
                st.caption(widgets.as_text(e.description))
            if not e.enabled:  # imports make endpoints disabled (studio.workspace_import): say what to do
                st.info("Disabled: no events are sent here. An endpoint imported from a workspace export starts "
                        "disabled because its signing secret stayed behind: rotate the secret, give the new one "
                        "to the receiver, then enable it.")
            chosen = st.multiselect("Events", list(WEBHOOK_KINDS), default=list(e.kinds), format_func=_label,
                                    key=f"wh_kinds_{e.id}")
            if sorted(chosen) != sorted(e.kinds) and st.button("Save events", key=f"wh_kinds_save_{e.id}"):
                with widgets.user_errors():
                    webhooks.update_endpoint(store, ctx, e.id, kinds=chosen)
                    st.rerun()
            if e.rotating_until:
                st.info(f"The previous secret still signs (a second `v1`) until {widgets.fmt_when(e.rotating_until)} UTC.")
            _endpoint_actions(store, ctx, e)
            delivery_log(store, ctx, e.id)


def _endpoint_actions(store: Store, ctx: Context, e: webhooks.EndpointView) -> None:
    cols = st.columns(4)
    if cols[0].button("Send a test", key=f"wh_test_{e.id}", width="stretch"):
        result = widgets.attempt(lambda: webhooks.test_send(store, ctx, e.id))
        if result is not None:
            _result(result)
    if cols[1].button("Rotate secret", key=f"wh_rotate_{e.id}", width="stretch"):
        secret = widgets.attempt(lambda: webhooks.rotate_secret(store, ctx, e.id))
        if secret:
            st.session_state[SHOWN_SECRET] = (e.host, secret)
            st.rerun()
    if cols[2].button("Disable" if e.enabled else "Enable", key=f"wh_toggle_{e.id}", width="stretch"):
        with widgets.user_errors():
            webhooks.update_endpoint(store, ctx, e.id, enabled=not e.enabled)
            st.rerun()
    confirm = st.session_state.get("wh_delete_confirm") == str(e.id)
    if cols[3].button("Confirm delete" if confirm else "Delete", key=f"wh_delete_{e.id}", width="stretch",
                      type="primary" if confirm else "secondary"):
        if confirm:
            with widgets.user_errors():
                webhooks.delete_endpoint(store, ctx, e.id)
                st.session_state.pop("wh_delete_confirm", None)
                st.rerun()
        else:
            st.session_state["wh_delete_confirm"] = str(e.id)
            st.rerun()
    if confirm:
        st.caption("Deleting removes the endpoint and its delivery log.")


def delivery_log(store: Store, ctx: Context, endpoint_id: uuid.UUID) -> None:
    rows = widgets.attempt(lambda: webhooks.delivery_log(store, ctx, endpoint_id, limit=50)) or []
    st.markdown("**Deliveries** (newest first)")
    if not rows:
        st.caption("Nothing sent yet.")
        return
    table = [{"When (UTC)": widgets.fmt_when(d.created_at), "Event": d.kind, "State": STATE_LABELS.get(d.state, d.state),
              "Tries": d.attempts, "Last code": d.last_status or "—",
              "Latency": f"{d.last_latency_ms:,} ms" if d.last_latency_ms is not None else "—",
              "Error": (d.last_error[:80] + "…") if len(d.last_error) > 80 else d.last_error} for d in rows]
    st.dataframe(table, hide_index=True, width="stretch")
    ids = [d.id for d in rows]
    labels = {d.id: f"{widgets.fmt_when(d.created_at)} · {d.kind} · {STATE_LABELS.get(d.state, d.state)}" for d in rows}
    pick, act = st.columns([4, 1], vertical_alignment="bottom")
    chosen = pick.selectbox("A delivery", ids, format_func=labels.__getitem__, key=f"wh_pick_{endpoint_id}")
    if act.button("Replay", key=f"wh_replay_{endpoint_id}", width="stretch"):
        result = widgets.attempt(lambda: webhooks.replay(store, ctx, chosen))
        if result is not None:
            _result(result)
    tries = widgets.attempt(lambda: webhooks.attempts(store, ctx, chosen)) or []
    if tries:
        st.dataframe([{"Try": a.number, "At (UTC)": widgets.fmt_when(a.started_at), "Code": a.status or "—",
                       "OK": "yes" if a.ok else "no", "Latency": f"{a.latency_ms:,} ms" if a.latency_ms is not None else "—",
                       "By hand": "yes" if a.manual else "", "Error": a.error} for a in tries],
                     hide_index=True, width="stretch")


def slack_section(store: Store, ctx: Context) -> None:
    current = widgets.attempt(lambda: webhooks.slack(store, ctx))
    st.caption("Post a line to a Slack channel (or any Slack-compatible incoming webhook: Mattermost, Rocket.Chat, "
               "Discord's /slack endpoint) for the events you pick. The URL is kept encrypted.")
    if current is not None:
        st.write(f"Posting to **{widgets.as_text(current.host)}** for: " + ", ".join(f"`{k}`" for k in current.kinds))
    with st.form("slack_form"):
        url = st.text_input("Incoming-webhook URL", type="password",
                            placeholder="https://hooks.slack.com/services/…" if current is None else "(unchanged)")
        kinds = st.multiselect("Events", list(webhooks.SLACK_KINDS), format_func=_plain_label,
                               default=list(current.kinds) if current else list(webhooks.SLACK_DEFAULT_KINDS))
        save, remove = st.columns(2)
        saved = save.form_submit_button("Save", type="primary", width="stretch")
        removed = remove.form_submit_button("Remove Slack", width="stretch", disabled=current is None)
    if saved:
        with widgets.user_errors():
            if url.strip():
                webhooks.set_slack(store, ctx, url, kinds)
            elif current is not None:
                webhooks.update_endpoint(store, ctx, current.id, kinds=kinds)
            else:
                st.error("Paste the incoming-webhook URL your Slack app gave you.")
                return
            st.rerun()
    if removed:
        with widgets.user_errors():
            webhooks.set_slack(store, ctx, None)
            st.rerun()
    if current is not None and st.button("Send a test to Slack", key="slack_test"):
        result = widgets.attempt(lambda: webhooks.test_send(store, ctx, current.id))
        if result is not None:
            _result(result)
