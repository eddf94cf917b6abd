"""PDF documents (WeasyPrint) rendered from HTML templates: invoices, credit notes, the register."""
from __future__ import annotations

import logging

from django.conf import settings
from django.template.loader import render_to_string

# WeasyPrint narrates every rendering step at INFO; keep the logs for things that matter.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)


def _render(template: str, context: dict) -> bytes:
    from weasyprint import HTML

    html = render_to_string(template, {"seller_default": settings.SELLER, **context})
    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()


def _seller(document) -> dict:
    return getattr(document, "seller_details", None) or dict(settings.SELLER)


def invoice_pdf(invoice) -> bytes:
    """The invoice as a customer receives it; ``invoice`` should come from ``selectors.invoice_document``."""
    from invoicing.presentation import buyer_of, period_label

    return _render("invoicing/invoice_pdf.html", {
        "invoice": invoice, "lines": list(invoice.lines.all()), "seller": _seller(invoice), "buyer": buyer_of(invoice),
        "period": period_label(invoice),
    })


def credit_note_pdf(note) -> bytes:
    from invoicing.presentation import buyer_of

    invoice = note.invoice
    return _render("invoicing/credit_note_pdf.html", {
        "note": note, "invoice": invoice, "lines": list(note.lines.all()), "seller": _seller(invoice), "buyer": buyer_of(invoice),
    })


def register_pdf(*, invoices, totals, filters_text: str, generated_at, truncated: bool = False, max_rows: int = 0) -> bytes:
    return _render("invoicing/register_pdf.html", {
        "invoices": invoices, "totals": totals, "filters_text": filters_text, "generated_at": generated_at, "seller": dict(settings.SELLER),
        "truncated": truncated, "max_rows": max_rows,
    })
