"""Reads for invoices and credit notes, scoped to the tenants the user may see and prefetched for their screen."""
from __future__ import annotations

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404

from billing_ops.access import scope_to_user
from invoicing.models import CreditNote, CreditNoteLine, Invoice, InvoiceLine


def invoice_list(*, user):
    """Invoices for list screens, the API and exports: one query per page, the tenant joined."""
    return scope_to_user(Invoice.objects.select_related("tenant"), user)


def invoice_get(*, user, pk) -> Invoice:
    """The invoice with its lines and credit notes, or 404 when missing or not visible to ``user``."""
    queryset = invoice_list(user=user).select_related("subscription__plan").prefetch_related(
        Prefetch("lines", queryset=InvoiceLine.objects.order_by("position", "id")),
        Prefetch("credit_notes", queryset=CreditNote.objects.order_by("-created_at", "-id")),
    )
    return get_object_or_404(queryset, pk=pk)


def invoice_document(*, invoice_id: int) -> Invoice:
    """Everything the PDF and the email need, in three queries."""
    return Invoice.objects.select_related("tenant").prefetch_related(
        Prefetch("lines", queryset=InvoiceLine.objects.order_by("position", "id"))).get(pk=invoice_id)


def invoice_history(*, invoice: Invoice, limit: int = 50):
    from accounts.selectors import object_history

    return object_history(obj=invoice, limit=limit)


def tenant_recent_invoices(*, tenant, limit: int = 10) -> list[Invoice]:
    return list(Invoice.objects.filter(tenant=tenant).order_by("-created_at", "-id")[:limit])


def credit_note_list(*, user):
    return scope_to_user(CreditNote.objects.select_related("tenant", "invoice", "created_by", "approved_by"), user)


def credit_note_get(*, user, pk) -> CreditNote:
    queryset = credit_note_list(user=user).prefetch_related(
        Prefetch("lines", queryset=CreditNoteLine.objects.select_related("invoice_line").order_by("id")))
    return get_object_or_404(queryset, pk=pk)


def creditable_invoices(*, user, limit: int = 200):
    from invoicing.services import CREDITABLE_INVOICE_STATUSES

    return list(invoice_list(user=user).filter(status__in=CREDITABLE_INVOICE_STATUSES).order_by("-issue_date", "-id")[:limit])
