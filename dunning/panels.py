"""The recovery panel on the dashboard and the notifications/deliveries panel on the tenant page."""
from __future__ import annotations

from billing_ops.access import READ, WRITE, has_capability, scope_to_user
from billing_ops.dashboard import register_panel
from billing_ops.tenant_panels import register_tenant_panel


@register_panel
def recovery_panel(user):
    if not has_capability(user, READ):
        return None
    from billing_ops.money import display
    from dunning.metrics import recovery_metrics
    from dunning.models import DunningCase

    metrics = recovery_metrics(cases=scope_to_user(DunningCase.objects.all(), user))
    figures = []  # the same numbers as (label, value) pairs, for panels shown without their template
    for chart in metrics["charts"]:
        if chart["this_month"]:
            figures.append((f"Recovered this month ({chart['currency']})", display(chart["this_month"]["recovered"], chart["currency"])))
    return {"title": "Payment recovery", "template": "dunning/panel_recovery.html", "metrics": metrics, "figures": figures}


@register_tenant_panel
def tenant_notifications_panel(tenant, user):
    if not has_capability(user, READ):
        return None
    from dunning import selectors
    from dunning.models import NotificationPreference

    preference = NotificationPreference.objects.filter(tenant=tenant).first()
    return {
        "title": "Notifications and deployment deliveries", "template": "dunning/panel_tenant.html",
        "notifications": selectors.tenant_notifications(tenant=tenant), "outbox": selectors.tenant_outbox(tenant=tenant),
        "opted_out": bool(preference and preference.opt_out_non_essential), "can_write": has_capability(user, WRITE),
        "tenant": tenant, "cases": list(tenant.dunning_cases.exclude(status__in=["recovered", "written_off"]).select_related("invoice")[:10]),
    }
