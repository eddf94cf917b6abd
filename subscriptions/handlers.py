"""Reactions to other apps' events. Each runs inside the emitter's transaction, so it never raises
for a state it does not handle: it checks the state first and otherwise does nothing.

- ``invoice.overdue`` for a subscription's invoice: the subscription becomes ``past_due``
  (when it is trialing or active; dunning may also call ``subscription_mark_past_due``, which is
  then a no-op).
- ``invoice.paid`` clearing the last overdue invoice of a ``past_due`` subscription: it becomes
  ``active`` again. A *suspended* subscription is left to dunning/payments, which know whether the
  suspension was for non-payment and call ``subscription_reactivate``.
"""
from __future__ import annotations

import logging

from billing_ops.actors import system
from billing_ops.errors import ApplicationError
from billing_ops.events import Event, subscribe

logger = logging.getLogger(__name__)
ACTOR = system("subscriptions")


def _invoice(event: Event):
    try:
        from invoicing.models import Invoice
    except ImportError:  # pragma: no cover
        return None
    invoice_id = event.payload.get("invoice_id")
    return Invoice.objects.filter(pk=invoice_id).select_related("subscription").first() if invoice_id else None


@subscribe("invoice.overdue")
def mark_past_due_on_overdue_invoice(event: Event) -> None:
    from subscriptions.services import subscription_mark_past_due

    invoice = _invoice(event)
    sub = invoice.subscription if invoice is not None else None
    if sub is None or sub.status not in ("trialing", "active"):
        return
    try:
        subscription_mark_past_due(actor=ACTOR, subscription=sub, reason=f"Invoice {invoice} is overdue")
    except ApplicationError:  # a concurrent change got there first; nothing to do
        logger.info("Subscription %s not marked past due after invoice %s", sub.pk, invoice.pk)


@subscribe("invoice.paid")
def reactivate_past_due_on_payment(event: Event) -> None:
    from invoicing.models import Invoice, InvoiceStatus
    from subscriptions.services import subscription_reactivate

    if "subscription_id" in event.payload:  # invoicing says which subscription: read it only if it is past due
        from subscriptions.models import Subscription

        sub_id = event.payload["subscription_id"]
        sub = Subscription.objects.filter(pk=sub_id, status="past_due").first() if sub_id else None
        invoice = Invoice.objects.filter(pk=event.payload.get("invoice_id")).first() if sub is not None else None
    else:
        invoice = _invoice(event)
        sub = invoice.subscription if invoice is not None else None
    if invoice is None or sub is None or sub.status != "past_due":
        return
    if sub.invoices.filter(status=InvoiceStatus.OVERDUE).exclude(pk=invoice.pk).exists():
        return
    try:
        subscription_reactivate(actor=ACTOR, subscription=sub, reason=f"Overdue invoice {invoice} paid")
    except ApplicationError:
        logger.info("Subscription %s not reactivated after invoice %s", sub.pk, invoice.pk)


def reactivate_past_due_on_payments(events) -> None:
    """``reactivate_past_due_on_payment`` for a batch of paid invoices (``emit_many``): one query finds the
    past-due subscriptions among them; only their events go through the per-event handler."""
    from subscriptions.models import Subscription

    named = {event.payload["subscription_id"] for event in events if event.payload.get("subscription_id")}
    past_due = set(Subscription.objects.filter(pk__in=named, status="past_due").values_list("pk", flat=True)) if named else set()
    for event in events:
        if "subscription_id" not in event.payload or event.payload["subscription_id"] in past_due:
            reactivate_past_due_on_payment(event)


reactivate_past_due_on_payment.for_many = reactivate_past_due_on_payments
