"""What dunning does when other apps report something (registered in DunningConfig.ready()).

Case subscribers run inside the emitter's transaction, so a settlement and the case's recovery
commit together. Notice subscribers run in a savepoint and only log on failure: a broken notice
must never undo an invoice or a payment.
"""
from __future__ import annotations

import logging

from django.db import transaction

from billing_ops.events import Event, subscribe
from dunning import services
from dunning.models import Channel, OpenedBy

logger = logging.getLogger(__name__)

# Everything that changes whether a tenant's deployment should serve them.
PROPAGATED_EVENTS = (
    "subscription.suspended", "subscription.reactivated", "subscription.canceled",
    "tenant.suspended", "tenant.reactivated", "tenant.closed",
)


def _invoice(invoice_id):
    from invoicing.models import Invoice

    if not invoice_id:
        return None
    return Invoice.objects.filter(pk=invoice_id).first()


@subscribe("payment.failed")
def open_case_on_payment_failed(event: Event) -> None:
    invoice = _invoice(event.payload.get("invoice_id"))
    if invoice is None:
        return
    services.case_open(actor=services.dunning_actor(), invoice=invoice, opened_by=OpenedBy.PAYMENT_FAILED,
                       reason=str(event.payload.get("reason") or "")[:255], payment_ref=str(event.payload.get("payment_id") or ""))


@subscribe("invoice.overdue")
def open_case_on_invoice_overdue(event: Event) -> None:
    invoice = _invoice(event.payload.get("invoice_id"))
    if invoice is None:
        return
    services.case_open(actor=services.dunning_actor(), invoice=invoice, opened_by=OpenedBy.INVOICE_OVERDUE, reason="Invoice overdue")


@subscribe("invoice.paid")
def recover_case_on_invoice_paid(event: Event) -> None:
    if event.payload.get("invoice_id"):
        services.case_recover(actor=services.dunning_actor(), invoice_id=event.payload["invoice_id"],
                              route=str(event.payload.get("route") or "payment"), tenant_id=event.payload.get("tenant_id"))


def recover_cases_on_invoices_paid(events: list[Event]) -> None:
    """``recover_case_on_invoice_paid`` for a batch of paid invoices (``emit_many``): one ``case_recover_many``."""
    services.case_recover_many(actor=services.dunning_actor(), settled=[
        (event.payload["invoice_id"], str(event.payload.get("route") or "payment"), event.payload.get("tenant_id"))
        for event in events if event.payload.get("invoice_id")])


recover_case_on_invoice_paid.for_many = recover_cases_on_invoices_paid


@subscribe("invoice.payment_applied", "invoice.credit_applied")
def track_amount_due(event: Event) -> None:
    """Keep the case's copy of the invoice's amount due current (partial payments, credits)."""
    track_amounts_due([event])


def track_amounts_due(events: list[Event]) -> None:
    ids = [event.payload["invoice_id"] for event in events if event.payload.get("invoice_id")]
    if ids:
        services.case_track_amount_due(invoice_ids=ids)


track_amount_due.for_many = track_amounts_due


@subscribe("invoice.voided", "invoice.uncollectible")
def close_case_when_nothing_is_collectible(event: Event) -> None:
    """A voided invoice is no debt (the tenant may be reactivated); an uncollectible one is written off."""
    services.case_close_uncollectible(actor=services.dunning_actor(), invoice_id=event.payload.get("invoice_id"),
                                      voided=event.name == "invoice.voided")


@subscribe("credit_note.approved")
def recover_case_on_credit(event: Event) -> None:
    """Belt and braces: a credit that clears the invoice also emits invoice.paid (CONTRACT)."""
    invoice = _invoice(event.payload.get("invoice_id"))
    if invoice is not None and invoice.amount_due == 0:
        services.case_recover(actor=services.dunning_actor(), invoice_id=invoice.pk, route="credit_note")


@subscribe(*PROPAGATED_EVENTS)
def propagate_to_deployment(event: Event) -> None:
    from dunning.outbox import outbox_write

    tenant_id = event.payload.get("tenant_id")
    if not tenant_id:
        return
    data = {k: v for k, v in event.payload.items() if k != "previous_status"}
    outbox_write(tenant_id=tenant_id, event_type=event.name, data=data, source_event_id=event.record.pk)


# --- Notices ------------------------------------------------------------------------------------

def _safely(func, event: Event) -> None:
    try:
        with transaction.atomic():
            func(event)
    except Exception:
        logger.exception("Notice for %s failed; the change itself stands", event.name)


def _tenant(tenant_id):
    from accounts.models import Tenant

    return Tenant.objects.filter(pk=tenant_id).first() if tenant_id else None


def _invoice_context(invoice) -> dict:
    return {"invoice_number": invoice.number or f"#{invoice.pk}", "amount": invoice.total, "currency": invoice.currency,
            "due_date": invoice.due_date or ""}


@subscribe("invoice.issued")
def notice_invoice_issued(event: Event) -> None:
    def send(event):
        from dunning.notifications import notify

        invoice = _invoice(event.payload.get("invoice_id"))
        if invoice is not None:
            # In-app only: the invoice email itself (with the PDF) is sent by invoicing's send task.
            notify(tenant=invoice.tenant, kind="invoice_issued", context=_invoice_context(invoice),
                   channel=Channel.IN_APP, dedupe_key=f"invoice_issued:{invoice.pk}")

    _safely(send, event)


def notice_invoices_issued(events: list[Event]) -> None:
    """``notice_invoice_issued`` for a batch of issued invoices (``emit_many``): the same in-app rows
    in a few queries. A failure falls back to the per-event notice, which only logs its own failure."""
    try:
        with transaction.atomic():
            from dunning.notifications import notify_in_app_many
            from invoicing.models import Invoice

            ids = [event.payload.get("invoice_id") for event in events if event.payload.get("invoice_id")]
            invoices = (Invoice.objects.select_related("tenant")  # what the notice shows; not the frozen details
                        .only("number", "total", "currency", "due_date", "tenant__name").in_bulk(ids))
            notify_in_app_many(kind="invoice_issued", items=[
                (invoice.tenant, _invoice_context(invoice), f"invoice_issued:{invoice.pk}")
                for invoice in (invoices.get(pk) for pk in ids) if invoice is not None])
    except Exception:
        logger.exception("Batch invoice notices failed; sending them one by one")
        for event in events:
            notice_invoice_issued(event)


notice_invoice_issued.for_many = notice_invoices_issued


def _receipt_context(payload: dict, invoice) -> dict:
    context = _invoice_context(invoice) if invoice else {}
    context.update(amount=payload.get("amount") or context.get("amount", ""), currency=payload.get("currency") or context.get("currency", ""))
    return context


def _receipt_key(payload: dict) -> str | None:
    return f"payment_succeeded:{payload['payment_id']}" if payload.get("payment_id") else None


@subscribe("payment.succeeded")
def notice_payment_receipt(event: Event) -> None:
    def send(event):
        from dunning.notifications import notify
        from invoicing.models import Invoice

        payload = event.payload
        invoice_id = payload.get("invoice_id")
        invoice = Invoice.objects.select_related("tenant").filter(pk=invoice_id).first() if invoice_id else None
        tenant = invoice.tenant if invoice else _tenant(payload.get("tenant_id"))
        if tenant is None:
            return
        notify(tenant=tenant, kind="payment_succeeded", context=_receipt_context(payload, invoice), dedupe_key=_receipt_key(payload))

    _safely(send, event)


def notice_payment_receipts(events: list[Event]) -> None:
    """``notice_payment_receipt`` for a batch of payments (``emit_many``): the same receipts in a few queries,
    emailed by one task after the commit. A failure falls back to the per-event notice."""
    try:
        with transaction.atomic():
            from dunning.notifications import notify_many
            from invoicing.models import Invoice

            invoices = Invoice.objects.select_related("tenant").in_bulk(
                [event.payload["invoice_id"] for event in events if event.payload.get("invoice_id")])
            items, without_invoice = [], []
            for event in events:
                invoice = invoices.get(event.payload.get("invoice_id"))
                if invoice is None:
                    without_invoice.append(event)
                else:
                    items.append((invoice.tenant, _receipt_context(event.payload, invoice), _receipt_key(event.payload)))
            notify_many(kind="payment_succeeded", items=items, channel=Channel.EMAIL)
    except Exception:
        logger.exception("Batch payment receipts failed; sending them one by one")
        without_invoice = events
    for event in without_invoice:
        notice_payment_receipt(event)


notice_payment_receipt.for_many = notice_payment_receipts


@subscribe("credit_note.approved")
def notice_credit_note(event: Event) -> None:
    def send(event):
        from dunning.notifications import notify

        invoice = _invoice(event.payload.get("invoice_id"))
        if invoice is None:
            return
        context = {**_invoice_context(invoice), "amount": event.payload.get("amount") or ""}
        key = f"credit_note_approved:{event.payload['credit_note_id']}" if event.payload.get("credit_note_id") else None
        notify(tenant=invoice.tenant, kind="credit_note_approved", context=context, dedupe_key=key)

    _safely(send, event)
