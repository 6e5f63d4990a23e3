"""Billing: the workspace's plan, upgrade through Stripe Checkout, the customer portal (owners and admins)."""

from __future__ import annotations

import streamlit as st

from studio import setup_status
from studio.billing import subscriptions
from studio.ui import billing as ui
from studio.ui import resources, state, widgets

ctx = state.page_context("Billing")
store = resources.store()

returned = st.query_params.get("checkout")
if returned == "cancelled":
    st.info("Checkout was cancelled: nothing changed.")
    del st.query_params["checkout"]
elif returned:
    plan = widgets.attempt(lambda: subscriptions.complete_checkout(store, ctx, returned))
    if plan is not None:
        st.success(f"Thank you! This workspace is now on the **{plan.name}** plan.")
        del st.query_params["checkout"]

view = ui.load_overview(lambda: subscriptions.overview(store, ctx))

if not view.enabled:
    widgets.needs_setup(True, "", "**Billing is off:** this studio sells no plans, so no limits apply to this "
                        "workspace. Whoever runs the studio can enable paid plans with Stripe (below).",
                        setup_status.guide("billing"))
    st.stop()

c1, c2, c3 = st.columns(3)
c1.metric("Plan", view.plan.name, help=view.plan.price_label)
c2.metric("Subscription", ui.status_label(view))
if view.renews_or_ends:
    c3.metric("Ends on" if view.cancel_at_period_end else "Renews on", view.renews_or_ends.strftime("%d %b %Y"))
if view.override_reason:
    st.info(f"The studio's operators set this plan by hand: {widgets.as_text(view.override_reason)}")
if view.status == "past_due" or view.last_invoice_status == "payment_failed":
    st.warning("The last payment failed. Stripe will try again; update the card in the billing portal.")
if view.cancel_at_period_end:
    st.warning("The subscription is cancelled and ends with the current period. Nothing you made is deleted.")

if view.upgrades:
    st.subheader("Upgrade")
    cols = st.columns(len(view.upgrades))
    for col, plan in zip(cols, view.upgrades, strict=True):
        col.markdown(f"**{plan.name}** · {plan.price_label}")
        if col.button(f"Upgrade to {plan.name}", key=f"upgrade_{plan.key}", type="primary"):
            url = widgets.attempt(lambda plan=plan: subscriptions.start_checkout(store, ctx, plan.key))
            if url:
                st.session_state["billing_checkout_url"] = url
    if st.session_state.get("billing_checkout_url"):
        st.link_button("Continue to secure checkout (Stripe) →", st.session_state["billing_checkout_url"], type="primary")

if view.has_customer:
    st.subheader("Payment details")
    st.caption("Change the card, switch plans, see invoices or cancel in Stripe's billing portal.")
    if st.button("Open the billing portal", key="billing_portal"):
        url = widgets.attempt(lambda: subscriptions.portal_url(store, ctx))
        if url:
            st.link_button("Go to the billing portal →", url)

st.subheader("Plans")
ui.plan_table(view.plan)
st.caption("This month's usage against these limits is on the Usage page.")
