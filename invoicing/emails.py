"""Invoice emails: what leaves the building, always after the commit of the change that caused it."""
from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string

from accounts import audit
from billing_ops.actors import system


def invoice_email_deliver(*, invoice_id: int) -> bool:
    """Render the PDF and email it to the tenant's billing contact; records ``invoice.emailed``."""
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
    with transaction.atomic():
        audit.record(actor=system("mailer"), action="invoice.emailed", obj=invoice, after={"to": recipient})
    return True
