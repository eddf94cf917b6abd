"""The subscription section on the tenant page."""
from __future__ import annotations

from billing_ops.access import MANAGE_SUBSCRIPTION, has_capability


def tenant_subscription_panel(tenant, user) -> dict:
    from subscriptions.selectors import tenant_subscription

    return {
        "title": "Subscription",
        "template": "subscriptions/tenant_panel.html",
        "tenant": tenant,
        "subscription": tenant_subscription(tenant=tenant),
        "can_manage": has_capability(user, MANAGE_SUBSCRIPTION),
    }
