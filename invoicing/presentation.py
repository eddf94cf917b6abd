"""Small display helpers shared by screens, PDFs and emails (no queries)."""
from __future__ import annotations

import datetime as dt


def buyer_of(invoice) -> dict:
    """The frozen buyer details of an issued invoice, or the tenant's current ones for a draft."""
    if invoice.buyer_details:
        return invoice.buyer_details
    tenant = invoice.tenant
    return {
        "name": tenant.legal_name or tenant.name, "trading_name": tenant.name, "email": tenant.billing_email,
        "address": tenant.address, "country": tenant.country, "tax_id": tenant.tax_id,
        "tax_id_type": tenant.get_tax_id_type_display() if tenant.tax_id_type else "",
    }


def period_label(invoice) -> str:
    """Periods are stored half-open [start, end); people read the last day included."""
    if not invoice.period_start or not invoice.period_end:
        return ""
    last = invoice.period_end - dt.timedelta(days=1)
    return f"{invoice.period_start:%d %b %Y} – {last:%d %b %Y}"
