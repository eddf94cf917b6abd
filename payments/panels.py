"""Sections payments adds to other screens: the dashboard, the tenant page and (when invoicing offers
the registry) the invoice page."""
from __future__ import annotations

from billing_ops.access import READ, WRITE, has_capability


def dashboard_panel(user) -> dict | None:
    if not has_capability(user, READ):
        return None
    from payments import selectors

    return {
        "title": "Payments",
        "template": "payments/panels/dashboard.html",
        "last_run": selectors.last_auto_charge_run(),
        "review_count": selectors.webhook_review_count(),
        "can_write": has_capability(user, WRITE),
    }


def tenant_panel(tenant, user) -> dict | None:
    if not has_capability(user, READ):
        return None
    from payments import selectors

    return {
        "title": "Saved cards and payments",
        "template": "payments/panels/tenant.html",
        "cards": selectors.tenant_payment_methods(tenant=tenant),
        "payments": list(selectors.payment_list(user=user).filter(tenant=tenant).select_related(None).order_by("-created_at", "-id")[:10]),
        "tenant": tenant,
        "can_write": has_capability(user, WRITE),
    }


def invoice_panel(invoice, user) -> dict | None:
    if not has_capability(user, READ):
        return None
    from payments import selectors
    from payments.forms import ManualPaymentForm
    from payments.models import PaymentMethod

    can_write = has_capability(user, WRITE)
    payable = invoice.status in ("issued", "overdue") and invoice.amount_due > 0
    return {
        "title": "Payments",
        "template": "payments/panels/invoice.html",
        "invoice": invoice,
        "payments": selectors.invoice_payments(invoice=invoice),
        "can_write": can_write,
        "payable": payable,
        "default_card": PaymentMethod.objects.filter(tenant_id=invoice.tenant_id, is_default=True, reusable=True).first(),
        "form": ManualPaymentForm(initial={"invoice": invoice.pk, "amount": invoice.amount_due}) if can_write and payable else None,
    }


def register() -> None:
    from billing_ops.dashboard import register_panel
    from billing_ops.tenant_panels import register_tenant_panel

    register_panel(dashboard_panel)
    register_tenant_panel(tenant_panel)
    try:  # invoicing is built concurrently; register once its registry exists
        from invoicing.panels import register_invoice_panel
    except ImportError:
        return
    register_invoice_panel(invoice_panel)
