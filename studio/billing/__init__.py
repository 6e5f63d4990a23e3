"""Billing and usage: plans with limits, metering, Stripe Checkout, webhooks and meter reporting.

Other services call, inside their own unit of work or before the work starts:
    from studio.billing import Metric, check_allowance, record_usage, LimitExceeded
"""

from studio.billing.limits import (
    Allowance,
    LimitExceeded,
    allowance_in,
    check_allowance,
    check_members,
)
from studio.billing.plans import Metric
from studio.billing.usage import record_usage

__all__ = ["Allowance", "LimitExceeded", "Metric", "allowance_in", "check_allowance", "check_members", "record_usage"]
