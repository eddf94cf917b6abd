"""Dashboard panel: MRR headline per currency (never summed across currencies)."""
from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from billing_ops.access import ALL_TENANTS, READ, has_capability, visible_tenants
from billing_ops.dashboard import register_panel
from billing_ops.money import display


@register_panel
def mrr_panel(user):
    from billing_ops.analytics.metrics import month_start
    from billing_ops.analytics.mrr import MrrBook, movement

    if not has_capability(user, READ):
        return None
    today = timezone.now().date()
    start_day = month_start(today) - dt.timedelta(days=1)
    book = MrrBook()
    rows = book.rows
    if not has_capability(user, ALL_TENANTS):
        # Onboarding staff see their assigned tenants only, here as on every other screen.
        mine = set(visible_tenants(user).values_list("pk", flat=True))

        def rows(day):
            return [row for row in book.rows(day) if row.tenant_id in mine]
    moves = movement(rows(start_day), rows(today), start_day=start_day)
    figures, rows = [], []
    for currency in sorted(moves):
        m = moves[currency]
        sign = "+" if m.net_new_mrr >= 0 else "−"
        mrr, net_new = display(m.mrr, currency), f"{sign}{display(abs(m.net_new_mrr), currency)}"
        # The panel shows one table row per currency: the code once, then the bare figures.
        rows.append({"currency": currency, "mrr": mrr.split(" ", 1)[1], "net_new": sign + net_new.split(" ", 1)[1],
                     "paying": f"{m.active_subscriptions:,}"})
        figures.append((f"MRR ({currency})", mrr))
        figures.append((f"Net new MRR this month ({currency})", net_new))
        figures.append((f"Paying subscriptions ({currency})", f"{m.active_subscriptions:,}"))
    if not figures:
        figures = [("MRR", "No paying subscriptions yet")]
    return {"title": "Recurring revenue", "figures": figures, "rows": rows, "link": reverse("billing:analytics"),
            "template": "billing/_mrr_panel.html"}
