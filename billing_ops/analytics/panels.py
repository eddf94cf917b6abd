"""Dashboard panel: MRR headline per currency (never summed across currencies)."""
from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from billing_ops.access import READ, has_capability
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
    moves = movement(book.rows(start_day), book.rows(today), start_day=start_day)
    figures = []
    for currency in sorted(moves):
        m = moves[currency]
        sign = "+" if m.net_new_mrr >= 0 else "−"
        figures.append((f"MRR ({currency})", display(m.mrr, currency)))
        figures.append((f"Net new MRR this month ({currency})", f"{sign}{display(abs(m.net_new_mrr), currency)}"))
        figures.append((f"Paying subscriptions ({currency})", f"{m.active_subscriptions:,}"))
    if not figures:
        figures = [("MRR", "No paying subscriptions yet")]
    return {"title": "Recurring revenue", "figures": figures, "link": reverse("billing:analytics"),
            "template": "billing/_mrr_panel.html"}
