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


def dashboard_panel(user) -> dict | None:
    """Subscriptions by status and renewals in the next 7 days (for users who can read billing)."""
    from datetime import timedelta

    from django.db.models import Count
    from django.utils import timezone

    from billing_ops.access import READ
    from subscriptions.models import SubscriptionStatus
    from subscriptions.selectors import RENEWING_STATUSES, subscription_list

    if not has_capability(user, READ):
        return None
    visible = subscription_list(user=user)
    counts = dict(visible.order_by().values_list("status").annotate(n=Count("id")))
    today = timezone.now().date()
    renewing = visible.filter(status__in=RENEWING_STATUSES, current_period_end__gte=today,
                              current_period_end__lte=today + timedelta(days=7)).count()
    figures = [(label, counts.get(value, 0)) for value, label in SubscriptionStatus.choices
               if value in ("trialing", "active", "past_due", "suspended")]
    figures.append(("Renewing in 7 days", renewing))
    return {"title": "Subscriptions", "figures": figures}
