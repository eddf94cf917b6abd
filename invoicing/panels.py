"""Sections other apps add to the invoice page (payments adds its attempts and refunds), without
invoicing importing them: ``register_invoice_panel(provider)`` from the other app's AppConfig.ready()."""
from __future__ import annotations

import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)

_providers: list[Callable] = []


def register_invoice_panel(provider: Callable) -> Callable:
    """``provider(invoice, user) -> dict | None`` with keys ``title`` and ``template`` (plus its context)."""
    if provider not in _providers:
        _providers.append(provider)
    return provider


def invoice_panels(*, invoice, user) -> list[dict]:
    return [panel for provider in _providers if (panel := provider(invoice, user))]


def recent_invoices_tenant_panel(tenant, user):
    """The tenant page's "Invoices" section (registered in InvoicingConfig.ready)."""
    from billing_ops.access import READ, has_capability
    from invoicing.selectors import tenant_recent_invoices

    if not has_capability(user, READ):
        return None
    return {"title": "Invoices", "template": "invoicing/_tenant_invoices.html", "invoices": tenant_recent_invoices(tenant=tenant),
            "tenant": tenant}


def receivables_dashboard_panel(user):
    """Dashboard: what is open and overdue, per currency (one grouped query)."""
    from django.db.models import Count, Q, Sum

    from billing_ops.access import READ, has_capability
    from invoicing.models import InvoiceStatus
    from invoicing.selectors import invoice_list

    if not has_capability(user, READ):
        return None
    rows = (invoice_list(user=user).filter(status__in=(InvoiceStatus.ISSUED, InvoiceStatus.OVERDUE)).order_by().values("currency")
            .annotate(open=Sum("amount_due"), overdue=Sum("amount_due", filter=Q(status=InvoiceStatus.OVERDUE)),
                      late=Count("id", filter=Q(status=InvoiceStatus.OVERDUE))).order_by("currency"))
    return {"title": "Receivables", "template": "invoicing/_receivables_panel.html", "rows": list(rows)}
