"""Invoice emails: what leaves the building, always after the commit of the change that caused it."""
from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string

from accounts import audit
from billing_ops.actors import system


def _audit_entries(invoice_id: int, action: str):
    from accounts.models import AuditEntry

    return AuditEntry.objects.filter(object_type="invoicing.invoice", object_id=str(invoice_id), action=action)


def email_outstanding(invoice_id: int) -> bool:
    """True when the last ``invoice.sent`` has no ``invoice.emailed`` after it (or nothing was ever sent)."""
    last_sent = _audit_entries(invoice_id, "invoice.sent").order_by("-id").values_list("id", flat=True).first()
    if last_sent is None:
        return True
    return not _audit_entries(invoice_id, "invoice.emailed").filter(id__gt=last_sent).exists()


def invoice_email_deliver(*, invoice_id: int) -> bool:
    """Render the PDF and email it to the tenant's billing contact; records ``invoice.emailed``.

    Idempotent per send: the queued task and the sweep (``sweep_unsent_invoice_emails``) may both
    run for one ``invoice.sent``; only the first emails it."""
    from invoicing.models import Invoice

    with transaction.atomic():
        # The row lock serialises the task and the sweep for one invoice.
        locked = Invoice.objects.select_for_update().filter(pk=invoice_id).values_list("pk", flat=True).first()
        if locked is None or not email_outstanding(invoice_id):
            return False
        return _deliver(invoice_id=invoice_id)


def sweep_unsent_invoice_emails(*, older_than_seconds: int = 600, within_days: int = 3) -> int:
    """Email invoices that were sent but whose email task never ran (broker outage, lost task)."""
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import AuditEntry

    now = timezone.now()
    sent = (AuditEntry.objects.filter(object_type="invoicing.invoice", action="invoice.sent",
                    created_at__lte=now - timedelta(seconds=older_than_seconds),
                    created_at__gte=now - timedelta(days=within_days))
            .values_list("object_id", flat=True).distinct())
    emailed = 0
    for object_id in list(sent)[:1000]:
        if email_outstanding(int(object_id)):
            emailed += bool(invoice_email_deliver(invoice_id=int(object_id)))
    return emailed


def _deliver(*, invoice_id: int) -> bool:
    from invoicing.models import Invoice
    from invoicing.pdf import invoice_pdf

    invoice = Invoice.objects.select_related("tenant").prefetch_related("lines").filter(pk=invoice_id).first()
    if invoice is None or invoice.status in ("draft", "void"):
        return False
    recipient = (invoice.buyer_details or {}).get("email") or invoice.tenant.billing_email
    context = {"invoice": invoice, "seller": invoice.seller_details or settings.SELLER, "site_url": settings.SITE_URL}
    message = EmailMessage(
        subject=f"Invoice {invoice.number} from {context['seller'].get('name', '')}",
        body=render_to_string("invoicing/invoice_email.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient],
    )
    message.attach(f"{invoice.number}.pdf", invoice_pdf(invoice), "application/pdf")
    message.send()
    with transaction.atomic():  # nested in invoice_email_deliver's transaction
        audit.record(actor=system("mailer"), action="invoice.emailed", obj=invoice, after={"to": recipient})
    return True
