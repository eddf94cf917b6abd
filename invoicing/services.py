"""Invoice writes. Each function is one transaction: lock, check the transition table, audit, emit.

Amount invariant kept by every service here:
    amount_due = total − amount_paid − amount_credited + amount_refunded   (never negative)
``amount_credited`` is what approved credit notes took off the invoice; ``amount_refunded`` is
the part of that credit returned to the customer (by gateway refund or as account credit).
"""
from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts import audit
from billing_ops import events
from billing_ops.access import WRITE, require_capability
from billing_ops.errors import TransitionNotAllowed, ValidationFailed
from billing_ops.money import quantize, to_decimal
from billing_ops.state import check_transition
from invoicing.models import INVOICE_TRANSITIONS, Invoice, InvoiceStatus

SETTLEMENT_FIELDS = ["status", "amount_paid", "amount_credited", "amount_refunded", "amount_due", "paid_at"]


def compute_amount_due(invoice: Invoice) -> Decimal:
    return invoice.total - invoice.amount_paid - invoice.amount_credited + invoice.amount_refunded


def _settle_if_cleared(*, actor, invoice: Invoice, route: str) -> None:
    if invoice.amount_due == 0 and invoice.status != InvoiceStatus.PAID:
        check_transition(table=INVOICE_TRANSITIONS, current=invoice.status, target=InvoiceStatus.PAID, label="invoice")
        invoice.status = InvoiceStatus.PAID
        invoice.paid_at = timezone.now()
        events.emit("invoice.paid", actor=actor, invoice_id=invoice.pk, tenant_id=invoice.tenant_id,
                    subscription_id=invoice.subscription_id, route=route)


def invoice_record_payment(*, actor, invoice: Invoice, amount, payment_id=None, route: str = "manual") -> Invoice:
    """Apply a settled payment of ``amount`` (≤ amount due) to an open invoice.

    The one place every payment route (webhook, auto-charge, retry, manual) changes an invoice:
    locks it, raises amount_paid, lowers amount_due, and moves it to `paid` (emitting
    ``invoice.paid``) when nothing is left. Overpayments are the caller's to split off first.
    """
    require_capability(actor, WRITE)
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.status not in (InvoiceStatus.ISSUED, InvoiceStatus.OVERDUE, InvoiceStatus.UNCOLLECTIBLE):
            raise TransitionNotAllowed(f"Invoice {invoice} is {invoice.status}; payments apply to issued or overdue invoices.")
        value = quantize(to_decimal(amount), invoice.currency)
        if value <= 0:
            raise ValidationFailed("The payment amount must be positive.", fields={"amount": ["must be positive"]})
        if value > invoice.amount_due:
            raise ValidationFailed(
                f"{value} is more than the {invoice.amount_due} {invoice.currency} due.", code="overpayment",
                fields={"amount": ["exceeds the amount due"]},
            )
        before = audit.snapshot(invoice, SETTLEMENT_FIELDS)
        invoice.amount_paid += value
        invoice.amount_due = compute_amount_due(invoice)
        _settle_if_cleared(actor=actor, invoice=invoice, route=route)
        invoice.save(update_fields=[*SETTLEMENT_FIELDS, "updated_at"])
        audit.record(actor=actor, action="invoice.payment_applied", obj=invoice, before=before,
                     after={**audit.snapshot(invoice, SETTLEMENT_FIELDS), "payment_id": payment_id, "amount": value, "route": route})
        events.emit("invoice.payment_applied", actor=actor, invoice_id=invoice.pk, tenant_id=invoice.tenant_id,
                    amount=value, currency=invoice.currency, payment_id=payment_id, route=route)
    return invoice


def invoice_record_refund(*, actor, invoice: Invoice, amount, reference: str = "") -> Invoice:
    """Record money returned to the customer against this invoice's credit (e.g. a processed gateway refund).

    A refund is always backed by credit (a credit note): it raises amount_credited and
    amount_refunded together, so amount_due does not move.
    """
    require_capability(actor, WRITE)
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        value = quantize(to_decimal(amount), invoice.currency)
        if value <= 0:
            raise ValidationFailed("The refund amount must be positive.", fields={"amount": ["must be positive"]})
        if value > invoice.amount_paid - invoice.amount_refunded:
            raise ValidationFailed("A refund cannot exceed what was paid and not yet refunded.", code="refund_exceeds_paid",
                                   fields={"amount": ["exceeds the refundable amount"]})
        before = audit.snapshot(invoice, SETTLEMENT_FIELDS)
        invoice.amount_credited += value
        invoice.amount_refunded += value
        invoice.amount_due = compute_amount_due(invoice)
        invoice.save(update_fields=[*SETTLEMENT_FIELDS, "updated_at"])
        audit.record(actor=actor, action="invoice.refund_recorded", obj=invoice, before=before,
                     after={**audit.snapshot(invoice, SETTLEMENT_FIELDS), "amount": value, "reference": reference})
        events.emit("invoice.refunded", actor=actor, invoice_id=invoice.pk, tenant_id=invoice.tenant_id, amount=value,
                    currency=invoice.currency, reference=reference)
    return invoice
