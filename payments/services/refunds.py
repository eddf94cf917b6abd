"""Refunds of Paystack card payments: requested from the payment page or an approved credit note,
sent by a task, confirmed by Paystack (response or refund.* webhook), then recorded on the invoice."""
from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts import audit
from billing_ops import events
from billing_ops.access import APPROVE, WRITE, require_capability
from billing_ops.actors import actor_user, system
from billing_ops.errors import PermissionDenied, TransitionNotAllowed, ValidationFailed
from billing_ops.money import has_valid_places, quantize, to_decimal, to_minor
from billing_ops.state import check_transition
from invoicing.models import Invoice
from payments.models import (
    OPEN_REFUND_STATUSES,
    PAYMENT_TRANSITIONS,
    REFUND_TRANSITIONS,
    SETTLED_STATUSES,
    Payment,
    PaymentMethodKind,
    PaymentStatus,
    Refund,
    RefundStatus,
)
from payments.paystack.gateway import GatewayTimeout, PaystackError, Unavailable

logger = logging.getLogger(__name__)

# Paystack refund statuses -> ours.
_GATEWAY_REFUND_STATUS = {
    "pending": RefundStatus.PENDING,
    "processing": RefundStatus.PROCESSING,
    "processed": RefundStatus.PROCESSED,
    "failed": RefundStatus.FAILED,
    "needs-attention": RefundStatus.PROCESSING,
}


def refundable_left(payment: Payment) -> Decimal:
    """What may still be refunded: paid, minus refunded, minus refunds still under way."""
    if payment.method != PaymentMethodKind.CARD or payment.status not in SETTLED_STATUSES:
        return Decimal("0.00")
    open_total = sum((r.amount for r in payment.refunds.filter(status__in=OPEN_REFUND_STATUSES)), Decimal("0.00"))
    return payment.amount - payment.refunded_amount - open_total


def _enqueue_execute(refund_id: int) -> None:
    from billing_ops.queue import enqueue_on_commit
    from payments.tasks import execute_refund

    # A broker outage leaves the refund ``requested``; process_stale_refunds (hourly) sends it then.
    enqueue_on_commit(execute_refund, refund_id)


def refund_create(*, actor, payment: Payment, amount=None, reason: str = "", credit_note=None) -> Refund:
    """Request a full (amount None) or partial refund of a card payment; a task sends it to Paystack.

    Requires billing.approve. The invoice records the refund only when Paystack confirms it.
    """
    require_capability(actor, APPROVE)
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.method != PaymentMethodKind.CARD or payment.status not in SETTLED_STATUSES:
            raise TransitionNotAllowed("Only settled Paystack card payments can be refunded.", code="not_refundable")
        left = refundable_left(payment)
        if amount in (None, ""):
            value = left
        else:
            try:
                value = to_decimal(amount)
            except (TypeError, ValueError):
                raise ValidationFailed("Enter an amount such as \"12.34\".", fields={"amount": ["not a decimal amount"]}) from None
            if not has_valid_places(value, payment.currency):
                raise ValidationFailed("Too many decimal places.", fields={"amount": ["too many decimal places"]})
            value = quantize(value, payment.currency)
        if value <= 0:
            raise ValidationFailed("Nothing is left to refund on this payment.", fields={"amount": ["must be more than zero"]})
        if value > left:
            raise ValidationFailed(f"At most {left} {payment.currency} can still be refunded.",
                                   code="refund_exceeds_paid", fields={"amount": ["exceeds the refundable amount"]})
        refund = Refund.objects.create(
            payment=payment, credit_note=credit_note, amount=value, currency=payment.currency,
            reason=(reason or "")[:255], created_by=actor_user(actor),
        )
        audit.record(actor=actor, action="refund.requested", obj=payment, reason=reason,
                     after={"refund": refund.pk, "amount": value, "credit_note": getattr(credit_note, "pk", None)})
        _enqueue_execute(refund.pk)
    return refund


def refund_execute(*, actor, refund: Refund) -> Refund:
    """Send a requested refund to Paystack (once). Paystack's refund API has no idempotency key, so a
    refund whose request timed out is left in ``sending`` for a person to check, never re-sent."""
    from payments.services.config import build_gateway

    require_capability(actor, WRITE)
    with transaction.atomic():
        refund = Refund.objects.select_for_update().select_related("payment").get(pk=refund.pk)
        if refund.status != RefundStatus.REQUESTED:
            return refund
        check_transition(table=REFUND_TRANSITIONS, current=refund.status, target=RefundStatus.SENDING, label="refund")
        refund.status = RefundStatus.SENDING
        refund.save(update_fields=["status", "updated_at"])
    payment = refund.payment
    try:
        result = build_gateway().refund(
            transaction=payment.reference, amount_minor=to_minor(refund.amount, refund.currency),
            currency=refund.currency, merchant_note=refund.reason[:200],
        )
    except (GatewayTimeout, Unavailable) as exc:
        if isinstance(exc, Unavailable) and not exc.http_status:
            # Connection refused: the request never reached Paystack, so nothing was refunded.
            return refund_apply_gateway_status(actor=actor, refund=refund, status="failed", message=exc.message)
        with transaction.atomic():
            Refund.objects.filter(pk=refund.pk).update(failure_reason=f"Outcome unknown: {exc.message}"[:255], updated_at=timezone.now())
        logger.warning("Refund %s: %s; check it in Paystack's dashboard", refund.pk, exc)
        return Refund.objects.get(pk=refund.pk)
    except PaystackError as exc:
        return refund_apply_gateway_status(actor=actor, refund=refund, status="failed", message=exc.message)
    with transaction.atomic():
        Refund.objects.filter(pk=refund.pk).update(gateway_refund_id=result.id, raw_response=result.raw.get("data") or {})
    return refund_apply_gateway_status(actor=actor, refund=refund, status=result.status)


def refund_apply_gateway_status(*, actor, refund: Refund, status: str, message: str = "", data: dict | None = None) -> Refund:
    """Move a refund to what Paystack reports. On ``processed``: raise the payment's refunded amount and
    record the refund on the invoice (``invoicing.services.invoice_record_refund``). Idempotent."""
    from invoicing.services import invoice_record_refund

    target = _GATEWAY_REFUND_STATUS.get((status or "").lower())
    if target is None:
        return refund
    with transaction.atomic():
        invoice_id = Payment.objects.values_list("invoice_id", flat=True).get(pk=refund.payment_id)
        Invoice.objects.select_for_update().get(pk=invoice_id)
        payment = Payment.objects.select_for_update().get(pk=refund.payment_id)
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        if refund.status == target or refund.status in (RefundStatus.PROCESSED, RefundStatus.FAILED):
            return refund
        if target not in REFUND_TRANSITIONS.get(refund.status, ()):
            return refund  # e.g. a late refund.pending after processing: ignore
        before = {"status": refund.status}
        refund.status = target
        if data:
            refund.raw_response = data
        if target == RefundStatus.FAILED:
            refund.failure_reason = (message or "Paystack reported the refund failed")[:255]
        if target == RefundStatus.PROCESSED:
            refund.processed_at = timezone.now()
            payment.refunded_amount += refund.amount
            new_status = PaymentStatus.REFUNDED if payment.refunded_amount >= payment.amount else PaymentStatus.PARTIALLY_REFUNDED
            check_transition(table=PAYMENT_TRANSITIONS, current=payment.status, target=new_status, label="payment")
            payment.status = new_status
            payment.save(update_fields=["refunded_amount", "status", "updated_at"])
            invoice_record_refund(actor=actor, invoice=payment.invoice, amount=refund.amount, reference=f"refund-{refund.pk}")
        refund.save()
        audit.record(actor=actor, action=f"refund.{target}", obj=payment, before=before,
                     after={"refund": refund.pk, "status": target, "amount": refund.amount, "message": message})
        if target in (RefundStatus.PROCESSED, RefundStatus.FAILED):
            events.emit(
                "payment.refunded" if target == RefundStatus.PROCESSED else "payment.refund_failed", actor=actor,
                payment_id=payment.pk, invoice_id=payment.invoice_id, tenant_id=payment.tenant_id, refund_id=refund.pk,
                credit_note_id=refund.credit_note_id, amount=refund.amount, currency=refund.currency,
                status=target, reason=refund.failure_reason,
            )
    return refund


def refunds_for_credit_note(*, actor, credit_note_id: int, invoice_id: int, amount) -> list[Refund]:
    """Split a credit note's refund over the invoice's settled card payments (newest first)."""
    from invoicing.models import CreditNote

    credit_note = CreditNote.objects.filter(pk=credit_note_id).first()
    if Refund.objects.filter(credit_note_id=credit_note_id).exists():
        return list(Refund.objects.filter(credit_note_id=credit_note_id))  # delivered twice: already done
    remaining = to_decimal(amount)
    refunds = []
    payments = Payment.objects.filter(invoice_id=invoice_id, method=PaymentMethodKind.CARD,
                                      status__in=SETTLED_STATUSES).order_by("-paid_at", "-id")
    for payment in payments:
        if remaining <= 0:
            break
        part = min(remaining, refundable_left(payment))
        if part <= 0:
            continue
        refunds.append(refund_create(actor=actor, payment=payment, amount=part, credit_note=credit_note,
                                     reason=f"Credit note {credit_note or credit_note_id}"))
        remaining -= part
    if remaining > 0:
        logger.warning("Credit note %s: %s could not be refunded through Paystack", credit_note_id, remaining)
        audit.record(actor=actor, action="refund.not_possible", object_type="invoicing.creditnote", object_id=credit_note_id,
                     after={"unrefunded": remaining, "invoice": invoice_id})
        events.emit("payment.refund_failed", actor=actor, payment_id=None, invoice_id=invoice_id, tenant_id=None,
                    refund_id=None, credit_note_id=credit_note_id, amount=remaining, currency=None,
                    status="failed", reason="no_refundable_card_payment")
    return refunds


@events.subscribe("credit_note.refund_requested")
def _on_credit_note_refund_requested(event) -> None:
    actor = event.actor if event.actor is not None else system("payments.refunds")
    try:
        require_capability(actor, APPROVE)
    except PermissionDenied:  # approved by the credit-note approver; executed as the refunds process
        actor = system("payments.refunds")
    payload = event.payload
    refunds_for_credit_note(actor=actor, credit_note_id=payload["credit_note_id"], invoice_id=payload["invoice_id"],
                            amount=payload["amount"])


def process_stale_refunds(*, older_than_seconds: int = 60) -> int:
    """Send refunds still ``requested`` (their task was lost, or the broker was down when they were
    approved). ``refund_execute`` locks and checks the status, so a refund is never sent twice."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    ids = list(Refund.objects.filter(status=RefundStatus.REQUESTED, created_at__lte=cutoff)
               .order_by("pk").values_list("pk", flat=True)[:500])
    for refund_id in ids:
        refund_execute(actor=system("refunds"), refund=Refund(pk=refund_id))
    return len(ids)
