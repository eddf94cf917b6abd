"""Celery tasks of invoicing. Each takes ids or nothing, calls services, and is safe to run twice or at once."""
from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from billing_ops.actors import system
from billing_ops.queue import DB_RETRY

logger = logging.getLogger(__name__)

BATCH_SIZE = 200
GENERATION_BATCH_SIZE = 500  # subscriptions per bulk transaction (invoicing.generation)


@shared_task(name="invoicing.tasks.send_invoice_email")
def send_invoice_email(invoice_id: int) -> bool:
    """Email the invoice (PDF attached) to the tenant's billing contact. Queued on commit by invoice_send."""
    from invoicing.emails import invoice_email_deliver

    return invoice_email_deliver(invoice_id=invoice_id)


@shared_task(name="invoicing.tasks.send_invoice_emails")
def send_invoice_emails(invoice_ids: list[int]) -> int:
    """Email each invoice of a batch sent by bulk generation (one task per batch instead of one per invoice).

    Each email is delivered on its own (``invoice_email_deliver`` is idempotent per send), so a failure
    stops only the rest of the batch; the sweep (``sweep_unsent_invoice_emails``) finishes those."""
    from invoicing.emails import invoice_email_deliver

    return sum(bool(invoice_email_deliver(invoice_id=invoice_id)) for invoice_id in invoice_ids)


@shared_task(name="invoicing.tasks.mark_overdue_invoices", **DB_RETRY)
def mark_overdue_invoices(batch_size: int = BATCH_SIZE) -> int:
    """Daily 02:00 UTC: issued invoices past their due date → overdue (each emits ``invoice.overdue``).

    Each invoice is its own transaction under a row lock, so two runs at once cannot mark one twice.
    """
    from billing_ops.errors import TransitionNotAllowed
    from invoicing.models import Invoice, InvoiceStatus
    from invoicing.services import invoice_mark_overdue

    actor = system("overdue-marking")
    today = timezone.localdate()
    marked, last_id = 0, 0
    while True:
        ids = list(Invoice.objects.filter(status=InvoiceStatus.ISSUED, due_date__lt=today, pk__gt=last_id)
                   .order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not ids:
            return marked
        for invoice_id in ids:
            try:
                invoice = invoice_mark_overdue(actor=actor, invoice=Invoice(pk=invoice_id), today=today)
            except TransitionNotAllowed:
                continue  # paid or voided meanwhile
            marked += invoice.status == InvoiceStatus.OVERDUE
        last_id = ids[-1]


@shared_task(name="invoicing.tasks.generate_due_invoices", **DB_RETRY)
def generate_due_invoices(batch_size: int = GENERATION_BATCH_SIZE, fan_out: bool | None = None) -> int:
    """Daily 01:00 UTC: invoice every subscription period that has begun and has no invoice yet.

    With fan-out (``INVOICE_GENERATION_FAN_OUT``, or ``fan_out=True``) the due subscriptions are cut into
    id ranges of ``batch_size`` and each range is queued as ``generate_invoices_in_range`` so the workers
    make them in parallel; a range the broker does not take is made here. Returns the invoices made here.
    """
    from django.conf import settings

    from billing_ops.queue import enqueue
    from invoicing.generation import due_subscriptions
    from invoicing.generation import generate_due_invoices as run

    actor = system("invoice-generation")
    if not (settings.INVOICE_GENERATION_FAN_OUT if fan_out is None else fan_out):
        return run(actor=actor, batch_size=batch_size)
    ids = list(due_subscriptions(today=timezone.localdate()).values_list("pk", flat=True))
    made = 0
    for start in range(0, len(ids), batch_size):
        chunk = ids[start:start + batch_size]
        if not enqueue(generate_invoices_in_range, chunk[0], chunk[-1], batch_size=batch_size):
            made += run(actor=actor, batch_size=batch_size, id_range=(chunk[0], chunk[-1]))
    return made


@shared_task(name="invoicing.tasks.generate_invoices_in_range", **DB_RETRY)
def generate_invoices_in_range(first_id: int, last_id: int, batch_size: int = GENERATION_BATCH_SIZE) -> int:
    """One range of the fan-out of ``generate_due_invoices``: invoice the due subscriptions with ids in
    [first_id, last_id]. Safe to run twice or at once (row locks, re-checks, the unique constraint)."""
    from invoicing.generation import generate_due_invoices as run

    return run(actor=system("invoice-generation"), batch_size=batch_size, id_range=(first_id, last_id))


@shared_task(name="invoicing.tasks.sweep_unsent_invoice_emails")
def sweep_unsent_invoice_emails() -> int:
    """Every 15 minutes: email sent invoices whose email task was lost (e.g. the broker was down)."""
    from invoicing.emails import sweep_unsent_invoice_emails as sweep

    return sweep()
