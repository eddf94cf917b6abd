"""Reads for the payments screens and API, scoped to the tenants the user may see."""
from __future__ import annotations

from django.shortcuts import get_object_or_404

from billing_ops.access import scope_to_user
from payments.models import Payment, PaymentMethod, Refund, WebhookEvent, WebhookStatus


def payment_list(*, user):
    return scope_to_user(Payment.objects.select_related("tenant", "invoice"), user)


def payment_get(*, user, pk) -> Payment:
    return get_object_or_404(payment_list(user=user).select_related("payment_method", "created_by"), pk=pk)


def payment_refunds(*, payment: Payment) -> list[Refund]:
    return list(payment.refunds.select_related("created_by", "credit_note").order_by("-created_at", "-id"))


def invoice_payments(*, invoice) -> list[Payment]:
    return list(Payment.objects.filter(invoice_id=invoice.pk).order_by("-created_at", "-id"))


def tenant_payment_methods(*, tenant) -> list[PaymentMethod]:
    return list(PaymentMethod.objects.filter(tenant=tenant).order_by("-is_default", "-created_at", "-id"))


def webhook_review_list():
    return WebhookEvent.objects.filter(needs_review=True, status=WebhookStatus.REVIEW).select_related("payment")


def webhook_review_count() -> int:
    return webhook_review_list().count()


def last_auto_charge_run() -> dict | None:
    """Totals of the latest auto-charge run (charged, failed, pending, skipped, errors, finished_at)."""
    from billing_ops.models import DomainEvent
    from payments.services.charging import AUTO_CHARGE_RUN_EVENT

    record = DomainEvent.objects.filter(name=AUTO_CHARGE_RUN_EVENT).order_by("-created_at").first()
    return record.payload if record else None
